"""Headers and blocks: their canonical encoding, hashes, the extrinsics root and the author's seal.

A header commits to its parent, number, state root (after the block), extrinsics root (a binary Merkle
tree over the extrinsic hashes), timestamp (milliseconds) and author. The block's seal is the author's
ed25519 signature of the header hash; it sits outside the header, as a Substrate seal digest does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from runtime import codec
from runtime.crypto import blake2_256
from runtime.errors import CodecError
from runtime.types import H256, AccountId, BlockNumber, Moment, converter

ZERO_HASH = bytes(32)
#: Blocks larger than this are refused before decoding.
MAX_BLOCK_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    """What a block commits to; its hash identifies the block."""

    parent_hash: H256
    number: BlockNumber
    state_root: H256
    extrinsics_root: H256
    timestamp: Moment
    author: AccountId

    def encode(self) -> bytes:
        """Canonical bytes."""
        return codec.pack(converter(Header).to_wire(self))

    def hash(self) -> bytes:
        """blake2b-256 of the canonical encoding."""
        return blake2_256(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> Header:
        """Parse canonical bytes (CodecError otherwise)."""
        header: Header = converter(Header).from_wire(codec.unpack(data))
        return header

    def to_json(self) -> dict[str, Any]:
        """The RPC form: hex strings and integers."""
        return {
            "parentHash": "0x" + self.parent_hash.hex(),
            "number": self.number,
            "stateRoot": "0x" + self.state_root.hex(),
            "extrinsicsRoot": "0x" + self.extrinsics_root.hex(),
            "timestamp": self.timestamp,
            "author": "0x" + bytes(self.author).hex(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Block:
    """A header, its extrinsics (raw bytes, in order) and the author's seal."""

    header: Header
    extrinsics: tuple[bytes, ...]
    seal: bytes

    def encode(self) -> bytes:
        """Canonical bytes: [header, [extrinsic...], seal]."""
        header_wire = converter(Header).to_wire(self.header)
        return codec.pack([header_wire, list(self.extrinsics), self.seal])

    @classmethod
    def decode(cls, data: bytes) -> Block:
        """Parse canonical bytes (CodecError otherwise)."""
        wire = codec.unpack(data, MAX_BLOCK_BYTES)
        if type(wire) is not list or len(wire) != 3:
            raise codec.WrongType("a block is [header, extrinsics, seal]")
        header_wire, extrinsics, seal = wire
        header: Header = converter(Header).from_wire(header_wire)
        if type(extrinsics) is not list or not all(type(x) is bytes for x in extrinsics):
            raise codec.WrongType("block extrinsics must be a list of byte strings")
        if type(seal) is not bytes or len(seal) != 64:
            raise codec.WrongType("a block seal is a 64-byte signature")
        return cls(header, tuple(extrinsics), seal)

    def hash(self) -> bytes:
        """The block hash is its header's hash."""
        return self.header.hash()


def merkle_root(leaves: list[bytes]) -> bytes:
    """Binary Merkle root of 32-byte leaves, committed together with their count.

    Leaves and inner nodes are hashed with different tags and an odd last node moves up unpaired (it is
    never duplicated), so two different lists can't share a root short of a hash collision.
    """
    level = [blake2_256(b"\x00" + leaf) for leaf in leaves]
    while len(level) > 1:
        paired = [blake2_256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    top = level[0] if level else bytes(32)
    return blake2_256(b"\x02" + len(leaves).to_bytes(8, "big") + top)


def extrinsics_root(extrinsics: list[bytes] | tuple[bytes, ...]) -> bytes:
    """The extrinsics root of a block: the Merkle root of the extrinsic hashes."""
    return merkle_root([blake2_256(x) for x in extrinsics])


__all__ = ["ZERO_HASH", "Block", "CodecError", "Header", "extrinsics_root", "merkle_root"]
