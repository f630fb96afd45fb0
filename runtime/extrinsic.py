"""Extrinsics on the wire: signed transactions and unsigned inherents, their signing payload and eras.

Signed:   [1, signer(32), signature(64), [era_birth, era_period], nonce, tip, genesis_tag(4), call]
Inherent: [0, call]                         call = [pallet_index, call_index, [args...]]
The signature covers blake2b-256 of the canonical payload when it is longer than 256 bytes, else the payload
itself: [call, [era_birth, era_period], nonce, tip, spec_version, genesis_hash, birth_block_hash].
An era with period 0 is immortal (birth hash = genesis hash); otherwise the extrinsic is valid in blocks
birth+1 .. birth+period-1 and names the hash of block `birth`, so it can't be replayed on another fork.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgpack

from runtime.crypto import Keypair, blake2_256
from runtime.types import AccountId

SIGNED_VERSION = 1
INHERENT_VERSION = 0
IMMORTAL: tuple[int, int] = (0, 0)
MAX_SIGNED_PAYLOAD = 256

_packb = msgpack.packb


@dataclasses.dataclass(frozen=True, slots=True)
class Era:
    """The blocks in which an extrinsic is valid: (birth, period); period 0 means immortal."""

    birth: int
    period: int

    @classmethod
    def mortal(cls, current: int, period: int = 256) -> Era:
        """An era born at block `current` (usually the best block) lasting `period` blocks."""
        return cls(current, period)

    @property
    def immortal(self) -> bool:
        """Whether the extrinsic never expires."""
        return self.period == 0

    def to_wire(self) -> list[int]:
        """[birth, period]."""
        return [self.birth, self.period]


IMMORTAL_ERA = Era(0, 0)


def signing_payload(
    call_wire: list[Any],
    era: Era,
    nonce: int,
    tip: int,
    spec_version: int,
    genesis_hash: bytes,
    birth_hash: bytes,
) -> bytes:
    """The bytes a sender signs (hashed first when longer than 256 bytes)."""
    payload: bytes = _packb(
        [call_wire, [era.birth, era.period], nonce, tip, spec_version, genesis_hash, birth_hash],
        use_bin_type=True,
    )
    return blake2_256(payload) if len(payload) > MAX_SIGNED_PAYLOAD else payload


def encode_signed(
    signer: AccountId,
    signature: bytes,
    era: Era,
    nonce: int,
    tip: int,
    genesis_hash: bytes,
    call_wire: list[Any],
) -> bytes:
    """The wire bytes of a signed extrinsic."""
    wire = [SIGNED_VERSION, bytes(signer), signature, era.to_wire(), nonce, tip, genesis_hash[:4], call_wire]
    data: bytes = _packb(wire, use_bin_type=True)
    return data


def encode_inherent(call_wire: list[Any]) -> bytes:
    """The wire bytes of an unsigned inherent extrinsic."""
    data: bytes = _packb([INHERENT_VERSION, call_wire], use_bin_type=True)
    return data


def sign_extrinsic(
    keypair: Keypair,
    call_wire: list[Any],
    *,
    nonce: int,
    genesis_hash: bytes,
    spec_version: int,
    tip: int = 0,
    era: Era = IMMORTAL_ERA,
    birth_hash: bytes | None = None,
) -> bytes:
    """Sign and encode a call as `keypair`: what wallets, the CLI and the scenario agents do."""
    birth = genesis_hash if era.immortal else birth_hash
    if birth is None:
        raise ValueError("a mortal era needs the hash of its birth block")
    payload = signing_payload(call_wire, era, nonce, tip, spec_version, genesis_hash, birth)
    signature = keypair.sign(payload)
    return encode_signed(keypair.account, signature, era, nonce, tip, genesis_hash, call_wire)


def extrinsic_hash(data: bytes) -> bytes:
    """The hash clients use to follow an extrinsic."""
    return blake2_256(data)
