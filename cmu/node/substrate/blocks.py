"""Headers and blocks as Substrate's RPC shows them: hex block numbers, a digest, and every extrinsic as
SCALE-encoded opaque bytes (compact length ++ version byte ++ body).

Extrinsics already in format v4 are shown exactly as they were submitted (so their hashes are the ones the
submitting client computed). The node's native (msgpack) extrinsics are shown re-encoded in format v4:
the same signer, signature, era, nonce, tip and call, so generic clients decode every block; that
signature covers the native payload, not the v4 one, so it is for display, not for re-verification.
"""

from __future__ import annotations

from typing import Any

from runtime import codec
from runtime.block import Block, Header
from runtime.executive import Runtime
from runtime.scale import has_compact_length_prefix
from runtime.scale.metadata_v14 import ScaleMetadata
from runtime.scale.values import call_to_scale

V4_SIGNED = 0x84
V4_UNSIGNED = 0x04


def header_json(header: Header, block_hash: bytes | None = None) -> dict[str, Any]:
    """Substrate's header JSON (plus the node's `hash`, `timestamp` and `author`)."""
    return {
        "parentHash": "0x" + header.parent_hash.hex(),
        "number": hex(header.number),
        "stateRoot": "0x" + header.state_root.hex(),
        "extrinsicsRoot": "0x" + header.extrinsics_root.hex(),
        "digest": {"logs": []},
        "hash": "0x" + (block_hash or header.hash()).hex(),
        "timestamp": header.timestamp,
        "author": "0x" + bytes(header.author).hex(),
    }


def is_native(data: bytes) -> bool:
    """Whether extrinsic bytes are the node's native msgpack form (else SCALE format v4)."""
    return not has_compact_length_prefix(data)


class BlocksView:
    """Renders blocks for one runtime's metadata."""

    def __init__(self, runtime: Runtime, metadata: ScaleMetadata) -> None:
        self.runtime = runtime
        self.metadata = metadata
        self._call_type = metadata.type_ids["RuntimeCall"]

    def block_json(self, block: Block, block_hash: bytes) -> dict[str, Any]:
        """{"block": {"header", "extrinsics"}, "justifications": null}."""
        return {
            "block": {
                "header": header_json(block.header, block_hash),
                "extrinsics": ["0x" + self.extrinsic(x).hex() for x in block.extrinsics],
            },
            "justifications": None,
        }

    def extrinsic(self, data: bytes) -> bytes:
        """One extrinsic as SCALE opaque bytes."""
        if not is_native(data):
            return data
        wire = codec.unpack(data)
        call_bytes = self._call(wire[-1])
        if wire[0] == 0:
            body = bytes([V4_UNSIGNED]) + call_bytes
        else:
            _, signer, signature, era, nonce, tip, _tag, _call = wire
            body = (
                bytes([V4_SIGNED, 0])
                + signer
                + bytes([0])
                + signature
                + self._era(era)
                + self._compact(nonce)
                + self._compact(tip)
                + call_bytes
            )
        return self._compact(len(body)) + body

    def _compact(self, value: int) -> bytes:
        return bytes(self.metadata.config.create_scale_object("Compact<u64>").encode(value).data)

    def _call(self, call_wire: Any) -> bytes:
        call = self.runtime.decode_call(call_wire)
        return self.metadata.encode(self._call_type, call_to_scale(call))

    def _era(self, era: list[int]) -> bytes:
        birth, period = era
        obj = self.metadata.config.create_scale_object("Era")
        value: Any = "00" if period == 0 else {"period": period, "current": birth}
        return bytes(obj.encode(value).data)
