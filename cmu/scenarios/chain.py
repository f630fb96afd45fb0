"""An in-process chain for scenarios: the real runtime, the node's transaction pool and validator, and
an author that seals a block at whatever (simulated) time the scenario says. Agents never touch storage.

The way of one agent transaction is the node's: sign -> Validator.validate (Runtime.validate_transaction
against the head, then TransactionPool.insert) -> the author takes ready transactions in pool order into
a BlockBuilder opened with the simulated timestamp inherent -> seal -> one backend write batch -> the
pool prunes what the block used. Results and events go back to whoever submitted each transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cmu.node.pool import PoolTx, TransactionPool
from cmu.node.validator import Refused, Validator
from runtime.block import Block
from runtime.crypto import Keypair, address, dev_keypair
from runtime.dispatch import ApplyResult
from runtime.errors import ExhaustsResources, FutureNonce, InvalidExtrinsic
from runtime.executive import PendingBlock, Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import ChainSpec, dev_spec
from runtime.pallet import Event
from runtime.storage.backend import Backend, LevelDBBackend, MemoryBackend
from runtime.types import AccountId

#: Called after the block that included a transaction: its result and the events it emitted.
OnResult = Callable[[ApplyResult, list[Event]], None]
#: Called when the pool refuses a submission (the runtime's or the pool's error).
OnRefused = Callable[[Exception], None]
AUTHOR_SEED_NAME = "alice"
MAX_TXS_PER_BLOCK = 10_000


@dataclasses.dataclass(frozen=True)
class Submitted:
    """What `SimChain.submit` did: accepted into the pool (with its hash) or refused (with the error)."""

    hash: bytes
    error: Exception | None

    @property
    def accepted(self) -> bool:
        """The pool took the transaction."""
        return self.error is None


@dataclasses.dataclass
class BlockReport:
    """One authored block: its number, timestamp, hash and every event with its phase."""

    number: int
    timestamp_ms: int
    hash: bytes
    events: list[tuple[int, Event]]
    included: int


def scenario_spec(balances: Mapping[AccountId, int], *, pallets: Sequence[str] = (),
                  genesis_ms: int = 0, genesis: Mapping[str, Any] | None = None) -> ChainSpec:
    """The dev chain spec plus `pallets`, with the given accounts funded and the genesis timestamp set.

    Alice stays the sudo key and the only block author, as on a dev chain.
    """
    base = dev_spec([p for p in pallets if p not in dev_spec().pallets])
    endowed = dict(base.genesis["Balances"]["balances"])
    for who, amount in balances.items():
        endowed[address(who)] = amount
    sections = dict(base.genesis)
    sections["Balances"] = {"balances": [[a, endowed[a]] for a in sorted(endowed)]}
    sections["System"] = {**base.genesis["System"], "timestamp": genesis_ms}
    sections.update(genesis or {})
    return dataclasses.replace(base, id="scenario", name="Scenario", genesis=sections)


def open_backend(kind: str, path: str | None = None) -> Backend:
    """A storage backend by name: "memory", or "leveldb" at `path` (a fresh directory)."""
    if kind == "memory":
        return MemoryBackend()
    if kind == "leveldb":
        if not path:
            raise ValueError("the leveldb backend needs a directory")
        return LevelDBBackend(path)
    raise ValueError(f"unknown backend {kind!r}: expected 'memory' or 'leveldb'")


class SimChain:
    """The runtime, pool and validator of a node, with blocks authored on demand at simulated times."""

    def __init__(self, spec: ChainSpec, backend: Backend | None = None, *, keep_blocks: bool = False) -> None:
        self.spec = spec
        self.runtime = Runtime(spec, backend or MemoryBackend())
        self.keep_blocks = keep_blocks
        self.blocks: list[Block] = []  # every authored block, when keep_blocks (to replay elsewhere)
        self.pool = TransactionPool()
        self.validator = Validator(self.runtime, self.pool)
        self.author = dev_keypair(AUTHOR_SEED_NAME)
        self._waiting: dict[bytes, OnResult | None] = {}
        self.extrinsics_applied = 0

    # --- transactions ----------------------------------------------------------------------------

    def sign(self, signer: Keypair, name: str, /, **kwargs: Any) -> bytes:
        """A signed extrinsic for `Pallet.call` with the signer's next nonce, counting pooled ones."""
        rt = self.runtime
        call = rt.make_call(name, **kwargs)
        nonce = self.pool.next_nonce(signer.account, rt.system.next_nonce(signer.account))
        return sign_extrinsic(
            signer, call.to_wire(), nonce=nonce, genesis_hash=rt.genesis_hash,
            spec_version=rt.VERSION.spec_version,
        )

    def submit(self, signer: Keypair, name: str, /, on_result: OnResult | None = None,
               **kwargs: Any) -> Submitted:
        """Sign `Pallet.call(**kwargs)` and hand it to the pool through the node's validator."""
        return self.submit_extrinsic(self.sign(signer, name, **kwargs), on_result)

    def submit_extrinsic(self, data: bytes, on_result: OnResult | None = None) -> Submitted:
        """Validate encoded extrinsic bytes against the head and pool them (as author_submitExtrinsic)."""
        outcome = self.validator.validate(data)
        if isinstance(outcome, Refused):
            return Submitted(outcome.hash, outcome.error)
        self._waiting[outcome.hash] = on_result
        return Submitted(outcome.hash, None)

    # --- blocks ----------------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """The head block's timestamp in milliseconds."""
        return self.runtime.head.timestamp

    def author_block(self, timestamp_ms: int) -> BlockReport:
        """Build, seal and commit one block at `timestamp_ms` with the pool's ready transactions."""
        rt = self.runtime
        if timestamp_ms <= rt.head.timestamp and rt.head.number > 0:
            raise ValueError(f"block time {timestamp_ms} ms is not after the head's {rt.head.timestamp} ms")
        builder = rt.new_block(timestamp_ms, self.author.account)
        included: list[PoolTx] = []
        removals: list[tuple[bytes, Any]] = []
        skipped: set[AccountId] = set()
        dropped: list[tuple[bytes, InvalidExtrinsic]] = []
        for tx in self.pool.ready_in_order(MAX_TXS_PER_BLOCK):
            if tx.sender in skipped:
                continue
            try:
                builder.push(tx.data)
            except ExhaustsResources:
                break  # the block is full; the rest waits for the next one
            except FutureNonce:
                skipped.add(tx.sender)
                continue
            except InvalidExtrinsic as exc:  # e.g. it can no longer pay its fee: dropped, as a node would
                removals.append((tx.hash, None))
                skipped.add(tx.sender)
                dropped.append((tx.hash, exc))
                continue
            included.append(tx)
        pending = builder.finish(self.author)
        rt.commit(pending)
        if self.keep_blocks and pending.block is not None:
            self.blocks.append(pending.block)
        self._after_commit(pending, included, removals)
        for tx_hash, refusal in dropped:  # its sender hears of it, with the refusal's name and no events
            callback = self._waiting.pop(tx_hash, None)
            if callback is not None:
                callback(ApplyResult(tx_hash, type(refusal).__name__, str(refusal), 0, 0), [])
        return BlockReport(pending.header.number, timestamp_ms, pending.hash, list(pending.events),
                           len(included))

    def _after_commit(self, pending: PendingBlock, included: list[PoolTx],
                      removals: list[tuple[bytes, Any]]) -> None:
        nonces = self.runtime.system
        self.pool.on_block(
            pending.header.number,
            [(tx.hash, None) for tx in included] + removals,
            lambda who: int(nonces.account_info(who).nonce),
            lambda _tx: None,
            lambda _tx: None,
        )
        by_phase: dict[int, list[Event]] = {}
        for phase, event in pending.events:
            by_phase.setdefault(phase, []).append(event)
        self.extrinsics_applied += len(included)
        # results[0] is the timestamp inherent; pushed extrinsics follow in inclusion order
        for index, (tx, result) in enumerate(zip(included, pending.results[1:], strict=True), start=1):
            callback = self._waiting.pop(tx.hash, None)
            if callback is not None:
                callback(result, by_phase.get(index, []))

    # --- reads -----------------------------------------------------------------------------------

    def total_balance(self, who: AccountId) -> int:
        """Free plus held balance of an account at the head."""
        info = self.runtime.system.account_info(who)
        return int(info.free + info.held)

    def held_balance(self, who: AccountId) -> int:
        """Held balance of an account at the head."""
        return int(self.runtime.system.account_info(who).held)

    def free_balance(self, who: AccountId) -> int:
        """Free balance of an account at the head."""
        return int(self.runtime.system.account_info(who).free)

    def state_root(self) -> bytes:
        """The head block's state root."""
        return self.runtime.head.state_root

    def pending_count(self) -> int:
        """Transactions waiting in the pool."""
        return len(self.pool)
