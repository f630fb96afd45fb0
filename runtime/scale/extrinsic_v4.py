"""Substrate's signed extrinsic format v4, the one consensus use of SCALE: decoding, its era and its payload.

    compact(length) ++ 0x84 ++ MultiAddress::Id(0x00 ++ 32-byte ed25519 key)
                    ++ MultiSignature::Ed25519(0x00 ++ 64 bytes)
                    ++ Era ++ Compact<nonce> ++ Compact<tip> ++ call (pallet index, call index, SCALE args)

The signed payload is call ++ extra (era, nonce, tip) ++ additional signed (spec version u32, transaction
version u32, genesis hash, hash of the era's birth block, or of genesis when immortal), blake2b-256 hashed
when longer than 256 bytes: Substrate's rules (CheckSpecVersion, CheckTxVersion, CheckGenesis,
CheckMortality, CheckNonce, ChargeTransactionPayment). Every node decodes and verifies it the same way from
the block's bytes; anything non-canonical (left-over bytes, a call that does not re-encode to the same
bytes) is refused, so an extrinsic's bytes are the only form it has.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import TYPE_CHECKING

from runtime.crypto import blake2_256
from runtime.errors import BadArguments, BadFormat, BadSignature, CodecError, UnknownCall
from runtime.pallet import Call
from runtime.scale.metadata_v14 import scale_metadata
from runtime.scale.values import call_to_scale, from_scale
from runtime.types import U64_MAX, AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

SIGNED_V4 = 0x84
UNSIGNED_V4 = 0x04
MAX_SIGNED_PAYLOAD = 256
#: Calls inside calls (sudo of sudo of ...) nest at most this deep.
MAX_CALL_DEPTH = 4
_ADDRESS_ID = 0
_SIGNATURE_ED25519 = 0
_SIGNATURE_NAMES = {1: "Sr25519", 2: "Ecdsa"}
#: What decoding an argument raises on bytes that are not a value of its type.
_DECODE_ERRORS = (CodecError, ValueError, TypeError, KeyError, IndexError)


class UnsupportedSignature(BadSignature):
    """Only ed25519 signatures (MultiSignature::Ed25519) are verified by this runtime."""


class UnsupportedAddress(BadFormat):
    """Only MultiAddress::Id (a 32-byte account id) names a signer in this runtime."""


@dataclasses.dataclass(frozen=True, slots=True)
class MortalEra:
    """Substrate's era: period (a power of two, 4..65536) and phase; period 0 means immortal."""

    period: int
    phase: int

    @property
    def immortal(self) -> bool:
        """Whether the extrinsic never expires."""
        return self.period == 0

    def birth(self, current: int) -> int:
        """The block the era was born in, as seen from block `current` (Substrate's Era::birth)."""
        return (max(current, self.phase) - self.phase) // self.period * self.period + self.phase


@dataclasses.dataclass(frozen=True, slots=True)
class SignedV4:
    """A decoded format-v4 signed extrinsic (not yet checked against state)."""

    signer: AccountId
    signature: bytes
    era: MortalEra
    nonce: int
    tip: int
    call: Call
    call_bytes: bytes
    extra_bytes: bytes


class _Reader:
    """A cursor over bytes that refuses to read past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise BadFormat(f"the extrinsic ends inside its {what}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def compact(self, what: str) -> int:
        first = self.take(1, what)[0]
        mode = first & 3
        if mode == 0:
            return first >> 2
        if mode == 1:
            value = int.from_bytes(bytes([first]) + self.take(1, what), "little") >> 2
            low = 1 << 6
        elif mode == 2:
            value = int.from_bytes(bytes([first]) + self.take(3, what), "little") >> 2
            low = 1 << 14
        else:
            size = (first >> 2) + 4
            value = int.from_bytes(self.take(size, what), "little")
            low = 1 << 30 if size == 4 else 1 << (8 * (size - 1))
        if value < low:
            raise BadFormat(f"the {what} is not in its shortest compact encoding")
        return value


def decode_era(reader: _Reader) -> MortalEra:
    """Substrate's Era encoding: 0x00 (immortal) or two bytes of period and quantized phase."""
    first = reader.take(1, "era")[0]
    if first == 0:
        return MortalEra(0, 0)
    encoded = first | (reader.take(1, "era")[0] << 8)
    period = 2 << (encoded % (1 << 4))
    quantize = max(period >> 12, 1)
    phase = (encoded >> 4) * quantize
    if period < 4 or phase >= period:
        raise BadFormat(f"invalid mortal era: period {period}, phase {phase}")
    return MortalEra(period, phase)


def decode_v4(rt: Runtime, data: bytes) -> SignedV4:
    """Parse a format-v4 signed extrinsic; BadFormat, UnsupportedAddress, UnsupportedSignature, UnknownCall
    or BadArguments name what is wrong."""
    reader = _Reader(data)
    length = reader.compact("length prefix")
    if length != len(data) - reader.offset:
        raise BadFormat(f"the length prefix says {length} bytes, {len(data) - reader.offset} follow")
    version = reader.take(1, "version")[0]
    if version == UNSIGNED_V4:
        raise BadFormat("unsigned format-v4 extrinsics are not accepted (inherents are the author's)")
    if version != SIGNED_V4:
        raise BadFormat(f"unknown extrinsic version byte 0x{version:02x} (format v4 signed is 0x84)")
    if reader.take(1, "address")[0] != _ADDRESS_ID:
        raise UnsupportedAddress("the signer must be MultiAddress::Id")
    signer = AccountId(reader.take(32, "address"))
    kind = reader.take(1, "signature")[0]
    if kind != _SIGNATURE_ED25519:
        name = _SIGNATURE_NAMES.get(kind, f"variant {kind}")
        raise UnsupportedSignature(f"{name} signatures are not verified here; sign with ed25519")
    signature = reader.take(64, "signature")
    extra_start = reader.offset
    era = decode_era(reader)
    nonce = reader.compact("nonce")
    tip = reader.compact("tip")
    if nonce > 0xFFFFFFFF or tip > U64_MAX:
        raise BadFormat("the nonce is a u32 and the tip a u64")
    extra_bytes = data[extra_start : reader.offset]
    call_bytes = data[reader.offset :]
    call = decode_call(rt, call_bytes)
    return SignedV4(signer, signature, era, nonce, tip, call, call_bytes, extra_bytes)


def decode_call(rt: Runtime, data: bytes) -> Call:
    """A SCALE-encoded call (pallet index, call index, arguments) as the runtime's Call, refusing left-over
    or non-canonical bytes."""
    call, offset = _decode_call_at(rt, data, 0, depth=0)
    if offset != len(data):
        raise BadFormat(f"{len(data) - offset} bytes left over after the call's arguments")
    if encode_call(rt, call) != data:
        raise BadFormat("the call is not in its canonical SCALE encoding")
    return call


def _decode_call_at(rt: Runtime, data: bytes, offset: int, depth: int) -> tuple[Call, int]:
    """The call starting at `offset` and where it ends; a call argument (sudo's) is decoded the same way."""
    if depth > MAX_CALL_DEPTH:
        raise BadFormat(f"calls nested more than {MAX_CALL_DEPTH} deep")
    if len(data) < offset + 2:
        raise BadFormat("a call is at least its pallet and call index")
    pallet = rt.pallet_by_index(data[offset])
    spec = pallet.calls_by_index.get(data[offset + 1]) if pallet is not None else None
    if spec is None:
        raise UnknownCall(f"no call {data[offset + 1]} in pallet {data[offset]}")
    metadata = scale_metadata(rt)
    offset, args = offset + 2, []
    for name, arg_type in zip(spec.arg_names, spec.arg_types, strict=True):
        if getattr(arg_type, "__cmu_runtime_call__", False) is True:
            nested, offset = _decode_call_at(rt, data, offset, depth + 1)
            args.append(nested)
            continue
        try:
            value, used = metadata.decode(metadata.registry.of(arg_type), data[offset:])
            args.append(from_scale(arg_type, value))
        except _DECODE_ERRORS as exc:
            raise BadArguments(f"{spec.full_name}: argument {name!r}: {exc}") from exc
        offset += used
        if offset > len(data):
            raise BadFormat(f"the extrinsic ends inside argument {name!r} of {spec.full_name}")
    return Call(spec, tuple(args)), offset


def encode_call(rt: Runtime, call: Call) -> bytes:
    """The SCALE bytes of a runtime call."""
    metadata = scale_metadata(rt)
    return metadata.encode(metadata.type_ids["RuntimeCall"], call_to_scale(call))


def signing_payload(
    xt: SignedV4, spec_version: int, transaction_version: int, genesis_hash: bytes, birth_hash: bytes
) -> bytes:
    """What the signer signed: call ++ extra ++ additional signed, hashed when over 256 bytes."""
    additional = struct.pack("<II", spec_version, transaction_version) + genesis_hash + birth_hash
    payload = xt.call_bytes + xt.extra_bytes + additional
    return blake2_256(payload) if len(payload) > MAX_SIGNED_PAYLOAD else payload
