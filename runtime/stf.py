"""The state-transition functions: the way of a block, as verb-first functions over a frozen BlockEnv.

    begin_block(rt, env)                      System bookkeeping, on_initialize
    apply_timestamp(rt, env, data)            extrinsic 0, the timestamp inherent
    apply_extrinsic(rt, env, index, data)     check_extrinsic -> withdraw fee, nonce -> dispatch_call
                                              -> settle and deposit fee -> ExtrinsicSuccess/Failed
    finish_block(rt, env, extrinsics)         on_finalize, System's events, state root, header

apply_block(rt, block) is that loop for a received block; the BlockBuilder (executive.py) authors with the
same functions, one extrinsic at a time. Nothing here commits: every path ends in a PendingBlock that
Runtime.commit writes in one batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runtime import crypto, fees
from runtime.block import Block, Header, extrinsics_root
from runtime.dispatch import ApplyResult, Checked, check_extrinsic, decode_extrinsic
from runtime.errors import DispatchError, ExhaustsResources, InvalidBlock, InvalidExtrinsic
from runtime.extrinsic import encode_inherent
from runtime.frame_system import with_next_nonce
from runtime.pallet import NONE_ORIGIN, Call, Event, Origin, PostInfo
from runtime.types import AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

PHASE_INITIALIZATION = -1
PHASE_FINALIZATION = -2


@dataclasses.dataclass(frozen=True, slots=True)
class BlockEnv:
    """What a block is executed in, fixed before its first extrinsic."""

    number: int
    parent_hash: bytes
    timestamp: int
    author: AccountId

    @classmethod
    def of(cls, header: Header) -> BlockEnv:
        """The environment a received header declares."""
        return cls(header.number, header.parent_hash, header.timestamp, header.author)


@dataclasses.dataclass
class PendingBlock:
    """An executed block not yet written: its header, block, results and the writes to make."""

    header: Header
    block: Block | None
    results: list[ApplyResult]
    events: list[tuple[int, Event]]
    puts: list[tuple[bytes, bytes]]
    deletes: list[bytes]

    @property
    def hash(self) -> bytes:
        """The block hash."""
        return self.header.hash()


# --- one block ----------------------------------------------------------------------------------------


def apply_block(rt: Runtime, block: Block) -> PendingBlock:
    """Execute a received block on the head and verify every header field (InvalidBlock otherwise);
    the runtime is left with the block's writes pending, or as it was on any exception."""
    check_seal(rt, block)
    env = BlockEnv.of(block.header)
    try:
        begin_block(rt, env)
        if not block.extrinsics:
            raise InvalidBlock("a block starts with the timestamp inherent")
        length = sum(len(data) for data in block.extrinsics)
        if length > rt.fees.max_block_length:  # the limit BlockBuilder.push enforces
            raise InvalidBlock(f"extrinsics of {length} bytes exceed the block length limit")
        results = [apply_timestamp(rt, env, block.extrinsics[0])]
        for index in range(1, len(block.extrinsics)):
            try:
                results.append(apply_extrinsic(rt, env, index, block.extrinsics[index]))
            except InvalidExtrinsic as exc:
                raise InvalidBlock(f"extrinsic {index}: {exc.code}: {exc}") from exc
        pending = finish_block(rt, env, block.extrinsics, results)
        _compare_headers(block.header, pending.header)
    except BaseException:
        rt.discard()
        raise
    pending.block = block
    return pending


def check_seal(rt: Runtime, block: Block) -> None:
    """The block follows the head, its author may author, and the seal is the author's signature."""
    header, head = block.header, rt.head
    if header.parent_hash != head.hash():
        raise InvalidBlock(f"parent 0x{header.parent_hash.hex()} is not the head 0x{head.hash().hex()}")
    if header.number != head.number + 1:
        raise InvalidBlock(f"number {header.number} does not follow the head {head.number}")
    rt.system.check_author(header.author)
    if not crypto.verify(header.author, header.hash(), block.seal):
        raise InvalidBlock("the seal is not the author's signature of the header")


def begin_block(rt: Runtime, env: BlockEnv) -> None:
    """Open block `env.number`: System's bookkeeping, then every pallet's on_initialize."""
    rt.env = env
    rt.events = []
    rt.phase = PHASE_INITIALIZATION
    rt.system.initialize_block(env.number, env.parent_hash, env.author)
    rt.hooks.on_initialize(block_number=env.number)


def timestamp_inherent(rt: Runtime, timestamp: int) -> bytes:
    """The encoded System.set_timestamp inherent."""
    spec = rt.system.call_specs["set_timestamp"]
    return encode_inherent([spec.pallet_index, spec.index, [timestamp]])


def apply_timestamp(rt: Runtime, env: BlockEnv, data: bytes) -> ApplyResult:
    """Extrinsic 0: exactly System.set_timestamp(env.timestamp), dispatched with origin none, no fee."""
    if data != timestamp_inherent(rt, env.timestamp):
        raise InvalidBlock("extrinsic 0 must be System.set_timestamp of the header's timestamp")
    rt.phase = 0
    xt = decode_extrinsic(rt, data)
    error, message, actual = dispatch_call(rt, xt.call, NONE_ORIGIN, xt.call.weight())
    if error is not None:
        raise InvalidBlock(f"timestamp inherent failed: {error}: {message}")
    rt.system.block_weight.set(rt.system.block_weight.get() + actual)
    _close_extrinsic(rt, None, "", actual, 0)
    return ApplyResult(crypto.blake2_256(data), None, "", actual, 0)


def finish_block(
    rt: Runtime, env: BlockEnv, extrinsics: Sequence[bytes], results: list[ApplyResult]
) -> PendingBlock:
    """Close the block: on_finalize, System's events, the state root (the head moves only on commit)."""
    rt.phase = PHASE_FINALIZATION
    rt.hooks.on_finalize(block_number=env.number)
    rt.system.finalize_block(rt.encode_events(rt.events), len(rt.events))
    previous_root = rt.trie.root
    state_root, nodes = rt.trie.update(rt.overlay.changes())
    rt.trie.set_root(previous_root)  # the head moves only on commit
    header = Header(
        parent_hash=env.parent_hash,
        number=env.number,
        state_root=state_root,
        extrinsics_root=extrinsics_root(list(extrinsics)),
        timestamp=env.timestamp,
        author=env.author,
    )
    puts, deletes = rt.overlay.backend_ops()
    return PendingBlock(header, None, results, list(rt.events), puts + nodes, deletes)


# --- one extrinsic ------------------------------------------------------------------------------------


def apply_extrinsic(rt: Runtime, env: BlockEnv, index: int, data: bytes) -> ApplyResult:
    """Check, charge and dispatch one signed extrinsic as extrinsic `index` of the block.

    InvalidExtrinsic (the block may not hold it) can come after writes: callers that keep the block
    (BlockBuilder.push) run this in a storage layer they roll back."""
    rt.phase = index
    checked = check_extrinsic(rt, decode_extrinsic(rt, data), env.number)
    signer = checked.extrinsic.signer
    if signer is None:  # check_extrinsic refuses inherents; this keeps the type honest
        raise InvalidExtrinsic("an inherent where a signed extrinsic was expected")
    charged = fees.withdraw_fee(rt.fee_hooks, signer, checked.account, checked.fee)
    used = rt.system.block_weight.get()
    if used + checked.weight > rt.fees.max_block_weight:
        raise ExhaustsResources(f"block weight {used} + {checked.weight} exceeds the limit")
    rt.system.set_account_info(signer, with_next_nonce(charged))  # nonce and fee: one write
    # The extrinsic's base weight is always charged; only the call's unused weight is refunded.
    base = rt.fees.extrinsic_base_weight
    call = checked.extrinsic.call
    error, message, call_weight = dispatch_call(rt, call, Origin.signed(signer), checked.weight - base)
    actual = base + call_weight
    settlement = fees.settle(rt.fees, checked.fee, checked.weight, actual)
    fees.correct_and_deposit_fee(rt.fee_hooks, signer, env.author, settlement)
    rt.system.block_weight.set(used + actual)
    _close_extrinsic(rt, error, message, actual, settlement.fee)
    return ApplyResult(crypto.blake2_256(data), error, message, actual, settlement.fee)


def validate_transaction(rt: Runtime, data: bytes, number: int) -> Checked:
    """For the pool: check against the head's state (future nonces accepted) and ask the same
    withdraw_fee as apply_extrinsic whether the fee can be paid (it writes nothing)."""
    xt = decode_extrinsic(rt, data)
    if xt.signer is None:
        raise InvalidExtrinsic("inherents are made by block authors, not submitted")
    checked = check_extrinsic(rt, xt, number, allow_future=True)
    fees.withdraw_fee(rt.fee_hooks, xt.signer, checked.account, checked.fee)
    return checked


def dispatch_call(rt: Runtime, call: Call, origin: Origin, weight: int) -> tuple[str | None, str, int]:
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


def _compare_headers(claimed: Header, computed: Header) -> None:
    for field in dataclasses.fields(Header):
        if getattr(claimed, field.name) != getattr(computed, field.name):
            raise InvalidBlock(f"header field {field.name} does not match the re-execution")
