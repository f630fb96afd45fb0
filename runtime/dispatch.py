"""From extrinsic bytes to a checked extrinsic: decode, then check against state (each failure named).

decode_extrinsic (format, call, arguments; calls inside arguments, as sudo's, are decoded here too) ->
check_extrinsic (genesis, era, signature, nonce, resources, the fee it will be charged). Nothing here
writes state; runtime/stf.py applies what passed.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import msgpack

from runtime import codec, crypto, fees
from runtime.errors import (
    BadArguments,
    BadFormat,
    BadOriginKind,
    BadSignature,
    CodecError,
    ExhaustsResources,
    ExpiredEra,
    ExtrinsicTooLong,
    FutureNonce,
    InvalidExtrinsic,
    NotYetValidEra,
    StaleNonce,
    UnknownCall,
    WrongGenesis,
)
from runtime.extrinsic import IMMORTAL_ERA, INHERENT_VERSION, MAX_SIGNED_PAYLOAD, SIGNED_VERSION, Era
from runtime.frame_system import AccountInfo
from runtime.pallet import NONE, Call
from runtime.types import CALL_SCHEMA, U64_MAX, AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

_packb = msgpack.packb
_verify = crypto.verify
_U32_MAX = (1 << 32) - 1


@dataclasses.dataclass(slots=True)
class Extrinsic:
    """A decoded extrinsic; `signer` is None for inherents. Not yet checked against state."""

    data: bytes
    call: Call
    call_wire: list[Any]
    signer: AccountId | None = None
    signature: bytes = b""
    era: Era = IMMORTAL_ERA
    nonce: int = 0
    tip: int = 0
    genesis_tag: bytes = b""

    @property
    def length(self) -> int:
        """Encoded length in bytes (what the length fee charges)."""
        return len(self.data)


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    """An extrinsic that passed every check at some state: ready to apply or to pool."""

    extrinsic: Extrinsic
    weight: int
    fee: int
    account: AccountInfo  # the signer's record when checked (what the fee is withdrawn from)

    @property
    def account_nonce(self) -> int:
        """The signer's next nonce when checked."""
        return self.account.nonce

    @property
    def is_future(self) -> bool:
        """The nonce is ahead of the account's (only the pool accepts this)."""
        return self.extrinsic.nonce > self.account_nonce


@dataclasses.dataclass(frozen=True, slots=True)
class ApplyResult:
    """What applying one extrinsic did."""

    hash: bytes
    error: str | None
    message: str
    weight: int
    fee: int

    @property
    def ok(self) -> bool:
        """The call succeeded."""
        return self.error is None


# --- decoding ---------------------------------------------------------------------------------------


def decode_extrinsic(rt: Runtime, data: bytes) -> Extrinsic:
    """Parse extrinsic bytes and their call; refuses with BadFormat, UnknownCall, BadArguments."""
    if len(data) > rt.fees.max_extrinsic_length:
        raise ExtrinsicTooLong(f"{len(data)} bytes, the limit is {rt.fees.max_extrinsic_length}")
    try:
        wire = codec.unpack(data, rt.fees.max_extrinsic_length)
    except CodecError as exc:
        raise BadFormat(f"extrinsic bytes: {exc}") from exc
    if type(wire) is not list or not wire:
        raise BadFormat("an extrinsic is a non-empty array")
    version = wire[0]
    if type(version) is not int:  # `true == 1` in Python: refuse it, or the version byte is malleable
        raise BadFormat(f"the extrinsic version is an integer, not {type(version).__name__}")
    if version == SIGNED_VERSION and len(wire) == 8:
        return _decode_signed(rt, data, wire)
    if version == INHERENT_VERSION and len(wire) == 2:
        call = decode_call_wire(rt, wire[1])
        if call.spec.origin != NONE:
            raise BadOriginKind(f"{call.spec.full_name} cannot be sent unsigned")
        return Extrinsic(data=data, call=call, call_wire=wire[1])
    raise BadFormat(f"unknown extrinsic version {version!r} or wrong field count {len(wire)}")


def _decode_signed(rt: Runtime, data: bytes, wire: list[Any]) -> Extrinsic:
    _, signer, signature, era, nonce, tip, tag, call_wire = wire
    if type(signer) is not bytes or len(signer) != 32:
        raise BadFormat("the signer is a 32-byte public key")
    if type(signature) is not bytes or len(signature) != 64:
        raise BadFormat("the signature is 64 bytes")
    if type(era) is not list or len(era) != 2 or not all(_is_uint(v, _U32_MAX) for v in era):
        raise BadFormat("the era is [birth, period] of u32")
    if not _is_uint(nonce, _U32_MAX) or not _is_uint(tip, U64_MAX):
        raise BadFormat("nonce is u32 and tip is u64")
    if type(tag) is not bytes or len(tag) != 4:
        raise BadFormat("the genesis tag is 4 bytes")
    call = decode_call_wire(rt, call_wire)
    if call.spec.origin == NONE:
        raise BadOriginKind(f"{call.spec.full_name} is an inherent and cannot be signed")
    return Extrinsic(
        data, call, call_wire, AccountId(signer), signature, Era(era[0], era[1]), nonce, tip, tag
    )


def _is_uint(value: Any, high: int) -> bool:
    return type(value) is int and 0 <= value <= high


def decode_call_wire(rt: Runtime, wire: Any) -> Call:
    """[pallet index, call index, [args]] -> Call, validating every argument against its type."""
    if type(wire) is not list or len(wire) != 3 or type(wire[2]) is not list:
        raise BadFormat("a call is [pallet index, call index, [arguments]]")
    pallet_index, call_index, args = wire
    pallet = rt.pallet_by_index(pallet_index)
    spec = pallet.calls_by_index.get(call_index) if pallet is not None and type(call_index) is int else None
    if spec is None:
        raise UnknownCall(f"no call {call_index!r} in pallet {pallet_index!r}")
    if len(args) != len(spec.converters):
        raise BadArguments(f"{spec.full_name} takes {len(spec.converters)} arguments, got {len(args)}")
    decoded = []
    for name, conv, value in zip(spec.arg_names, spec.converters, args, strict=True):
        try:
            nested = conv.schema is CALL_SCHEMA  # a call as argument (sudo's): decoded by this runtime
            decoded.append(decode_call_wire(rt, value) if nested else conv.from_wire(value))
        except (CodecError, InvalidExtrinsic) as exc:
            raise BadArguments(f"{spec.full_name}: argument {name!r}: {exc}") from exc
    return Call(spec, tuple(decoded))


# --- checks against state ---------------------------------------------------------------------------


def check_extrinsic(rt: Runtime, xt: Extrinsic, number: int, *, allow_future: bool = False) -> Checked:
    """Every validity check of a signed extrinsic for block `number`, each failure a named error. The fee
    is computed here and charged by runtime/stf.py (whose withdraw_fee refuses what cannot be paid)."""
    signer = xt.signer
    if signer is None:
        raise InvalidExtrinsic("an inherent where a signed extrinsic was expected")
    _check_signature(rt, xt, signer, number)
    account = rt.system.account_info(signer)
    account_nonce = account.nonce
    if xt.nonce < account_nonce:
        raise StaleNonce(f"nonce {xt.nonce} was used; the next is {account_nonce}")
    if xt.nonce > account_nonce and not allow_future:
        raise FutureNonce(f"nonce {xt.nonce} is ahead of the next nonce {account_nonce}")
    weight = rt.fees.extrinsic_base_weight + xt.call.weight()
    if weight > rt.fees.max_block_weight or xt.length > rt.fees.max_block_length:
        raise ExhaustsResources(f"weight {weight} or length {xt.length} can never fit in a block")
    return Checked(xt, weight, fees.fee_for(rt.fees, xt.length, weight, xt.tip), account)


def _check_signature(rt: Runtime, xt: Extrinsic, signer: AccountId, number: int) -> None:
    if xt.genesis_tag != rt.genesis_hash[:4]:
        raise WrongGenesis(f"made for the chain with genesis tag 0x{xt.genesis_tag.hex()}")
    birth_hash = _era_birth_hash(rt, xt.era, number)
    payload: bytes = _packb(
        [
            xt.call_wire,
            [xt.era.birth, xt.era.period],
            xt.nonce,
            xt.tip,
            rt.VERSION.spec_version,
            rt.genesis_hash,
            birth_hash,
        ],
        use_bin_type=True,
    )
    if len(payload) > MAX_SIGNED_PAYLOAD:
        payload = crypto.blake2_256(payload)
    if not _verify(signer, payload, xt.signature):
        raise BadSignature("the signature does not match the sender and payload")


def _era_birth_hash(rt: Runtime, era: Era, number: int) -> bytes:
    if era.period == 0:
        if era.birth != 0:
            raise BadFormat("an immortal era has birth 0")
        return rt.genesis_hash
    if era.birth >= number:
        raise NotYetValidEra(f"era born at block {era.birth}, the block being built is {number}")
    if number >= era.birth + era.period:
        raise ExpiredEra(f"era {era.birth}+{era.period} ended before block {number}")
    birth_hash = rt.block_hash(era.birth)
    if birth_hash is None:
        raise ExpiredEra(f"the hash of birth block {era.birth} is no longer kept")
    return birth_hash
