"""From extrinsic bytes to an applied call: decode, check (each failure named), charge, dispatch, refund.

The way of one extrinsic: decode_extrinsic (format, call, arguments) -> check_signed (genesis, era,
signature, nonce, resources, fee) -> apply_extrinsic: nonce and fee are charged outside the call's storage
layer, the call runs inside one (rolled back on DispatchError), unused weight is refunded, the fee goes
to the block author, and ExtrinsicSuccess or ExtrinsicFailed closes the extrinsic's events.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import msgpack

from pallets.system.pallet import AccountInfo
from runtime import codec, crypto
from runtime.errors import (
    BadArguments,
    BadFormat,
    BadOriginKind,
    BadSignature,
    CannotPayFees,
    CodecError,
    DispatchError,
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
from runtime.pallet import NONE, NONE_ORIGIN, Call, Origin, PostInfo
from runtime.types import U64_MAX, AccountId

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
    account_nonce: int

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
        call = rt.decode_call(wire[1])
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
    call = rt.decode_call(call_wire)
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
            decoded.append(conv.from_wire(value))
        except (CodecError, InvalidExtrinsic) as exc:
            raise BadArguments(f"{spec.full_name}: argument {name!r}: {exc}") from exc
    return Call(spec, tuple(decoded))


# --- checks against state ---------------------------------------------------------------------------


def check_signed(rt: Runtime, xt: Extrinsic, number: int, *, allow_future: bool = False) -> Checked:
    """Every validity check of a signed extrinsic for block `number`, each failure a named error."""
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
    signer = xt.signer
    if signer is None or not _verify(signer, payload, xt.signature):
        raise BadSignature("the signature does not match the sender and payload")
    info: AccountInfo = rt.system.account_info(signer)
    if xt.nonce < info.nonce:
        raise StaleNonce(f"nonce {xt.nonce} was used; the next is {info.nonce}")
    if xt.nonce > info.nonce and not allow_future:
        raise FutureNonce(f"nonce {xt.nonce} is ahead of the next nonce {info.nonce}")
    weight = rt.fees.extrinsic_base_weight + xt.call.weight()
    if weight > rt.fees.max_block_weight or xt.length > rt.fees.max_block_length:
        raise ExhaustsResources(f"weight {weight} or length {xt.length} can never fit in a block")
    fee = compute_fee(rt, xt.length, weight, xt.tip)
    if info.free < fee:
        raise CannotPayFees(f"fee {fee} exceeds the free balance {info.free}")
    if info.free + info.held - fee < rt.balances.EXISTENTIAL_DEPOSIT:
        # Keep-alive, as FRAME's fee payment: a fee may not leave the account below the existential deposit.
        raise CannotPayFees(f"fee {fee} would leave the account below the existential deposit")
    return Checked(xt, weight, fee, info.nonce)


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


def compute_fee(rt: Runtime, length: int, weight: int, tip: int) -> int:
    """base + per_byte * length + per_weight * weight + tip."""
    fees = rt.fees
    return fees.base + fees.per_byte * length + fees.per_weight * weight + tip


# --- applying ---------------------------------------------------------------------------------------


def apply_signed(rt: Runtime, checked: Checked, index: int) -> ApplyResult:
    """Charge nonce and fee, dispatch in a storage layer, refund unused weight, pay the author."""
    xt = checked.extrinsic
    signer = xt.signer
    if signer is None:
        raise BadFormat("apply_signed needs a signed extrinsic")
    used = rt.system.block_weight.get()
    if used + checked.weight > rt.fees.max_block_weight:
        raise ExhaustsResources(f"block weight {used} + {checked.weight} exceeds the limit")
    info = rt.system.account_info(signer)
    rt.system.set_account_info(
        signer, dataclasses.replace(info, nonce=info.nonce + 1, free=info.free - checked.fee)
    )
    # The extrinsic's base weight is always charged; only the call's unused weight is refunded.
    base = rt.fees.extrinsic_base_weight
    error, message, call_weight = dispatch(rt, xt.call, Origin.signed(signer), checked.weight - base)
    actual = base + call_weight
    refund = (checked.weight - actual) * rt.fees.per_weight
    fee = checked.fee - refund
    if refund:
        rt.balances.deposit(signer, refund)
    rt.balances.deposit(rt.author, fee)
    rt.system.block_weight.set(used + actual)
    _close_extrinsic(rt, error, message, actual, fee)
    return ApplyResult(crypto.blake2_256(xt.data), error, message, actual, fee)


def apply_inherent(rt: Runtime, xt: Extrinsic) -> ApplyResult:
    """Dispatch an inherent (origin none, no fee); its failure makes the block invalid."""
    weight = xt.call.weight()
    error, message, actual = dispatch(rt, xt.call, NONE_ORIGIN, weight)
    if error is not None:
        return ApplyResult(crypto.blake2_256(xt.data), error, message, actual, 0)
    rt.system.block_weight.set(rt.system.block_weight.get() + actual)
    _close_extrinsic(rt, None, "", actual, 0)
    return ApplyResult(crypto.blake2_256(xt.data), None, "", actual, 0)


def dispatch(rt: Runtime, call: Call, origin: Origin, weight: int) -> tuple[str | None, str, int]:
    """Run a call in its own storage layer: (error name or None, message, actual weight)."""
    overlay = rt.overlay
    mark = len(rt.events)
    overlay.begin()
    try:
        post = call.spec.function(rt.pallet_by_name(call.spec.pallet), origin, *call.args)
    except DispatchError as exc:
        overlay.rollback()
        del rt.events[mark:]
        return exc.error_name(), str(exc) or exc.describe(), weight
    overlay.commit()
    actual = weight
    if isinstance(post, PostInfo) and post.actual_weight is not None:
        actual = min(weight, max(0, int(post.actual_weight)))
    return None, "", actual


def _close_extrinsic(rt: Runtime, error: str | None, message: str, weight: int, fee: int) -> None:
    system = rt.system
    if error is None:
        rt.deposit_event(system.ExtrinsicSuccess(weight=weight, fee=fee))
    else:
        rt.deposit_event(system.ExtrinsicFailed(error=error, message=message, weight=weight, fee=fee))
