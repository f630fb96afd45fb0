"""The transaction pool: validated extrinsics waiting for a block, per sender in nonce order.

A sender's transactions whose nonces run on without a gap from its account nonce are *ready*; the rest
are *future*. Blocks take ready ones by tip (highest first), then arrival, never out of a sender's
nonce order. The pool is shared by the validator thread (inserts) and the author thread (takes, prunes),
so every method holds one lock; status changes are reported to `on_status` under that lock, in order.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from runtime.dispatch import Checked
from runtime.errors import StaleNonce
from runtime.types import AccountId

#: Status callback: (extrinsic hash, status as the RPC reports it).
StatusSink = Callable[[bytes, Any], None]


class PoolError(Exception):
    """A submission the pool refuses although the runtime found it valid; `rpc_code` is the JSON-RPC code."""

    rpc_code = 1012
    name = "PoolError"


class AlreadyImported(PoolError):
    """The same extrinsic (same hash) is already in the pool."""

    rpc_code = 1013
    name = "AlreadyImported"


class TooLowPriority(PoolError):
    """Another extrinsic with the same sender and nonce has an equal or higher tip."""

    rpc_code = 1014
    name = "TooLowPriority"


class PoolFull(PoolError):
    """The pool, or this sender's share of it, is at its limit."""

    rpc_code = 1016
    name = "PoolFull"


@dataclasses.dataclass(frozen=True, slots=True)
class PoolTx:
    """One pooled extrinsic."""

    hash: bytes
    data: bytes
    sender: AccountId
    nonce: int
    tip: int
    seq: int
    era_end: int | None  # the first block number in which it is no longer valid (None: immortal)
    added: float = 0.0  # time.monotonic() at insertion


@dataclasses.dataclass(slots=True)
class _Sender:
    """One sender's transactions by nonce and its account nonce as last seen."""

    account: AccountId
    state_nonce: int
    txs: dict[int, PoolTx] = dataclasses.field(default_factory=dict)
    ready: int = 0  # how many nonces from state_nonce on are present without a gap

    def ready_hashes(self) -> set[bytes]:
        """The hashes of the ready run as last counted."""
        run = range(self.state_nonce, self.state_nonce + self.ready)
        return {self.txs[n].hash for n in run if n in self.txs}


@dataclasses.dataclass(frozen=True)
class PoolLimits:
    """Size limits of the pool."""

    total: int = 20_000
    per_sender: int = 64
    future_ttl_s: float = 600.0  # a future transaction waiting longer for its earlier nonce is dropped


class TransactionPool:
    """Ready and future queues per sender, with limits, priorities and status reports."""

    def __init__(self, limits: PoolLimits | None = None, on_status: StatusSink | None = None) -> None:
        self.limits = limits or PoolLimits()
        self.on_status: StatusSink = on_status or (lambda _h, _s: None)
        self.on_ready: Callable[[], None] = lambda: None  # called (lock held) when more become ready
        self.epoch = 0  # blocks seen; a validation from an older epoch re-reads the sender's nonce
        self._lock = threading.Lock()
        self._by_hash: dict[bytes, PoolTx] = {}
        self._senders: dict[AccountId, _Sender] = {}
        self._seq = itertools.count()
        self.ready_count = 0

    # --- sizes -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_hash)

    @property
    def future_count(self) -> int:
        """Transactions waiting for an earlier nonce."""
        return len(self._by_hash) - self.ready_count

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    # --- insertion ---------------------------------------------------------------------------------

    def insert(
        self,
        tx_hash: bytes,
        checked: Checked,
        *,
        epoch: int,
        nonce_now: Callable[[AccountId], int],
    ) -> str:
        """Add a validated extrinsic; returns "ready" or "future", raises PoolError when refused.

        `epoch` is the pool epoch the validation started in: if a block came since, the sender's account
        nonce is re-read with `nonce_now` so the ready/future split is never made on a stale nonce.
        """
        xt = checked.extrinsic
        sender = xt.signer
        if sender is None:
            raise PoolError("only signed extrinsics are pooled")
        with self._lock:
            if tx_hash in self._by_hash:
                raise AlreadyImported(f"0x{tx_hash.hex()} is already in the pool")
            queue = self._senders.get(sender)
            if queue is None:
                state_nonce = checked.account_nonce if epoch == self.epoch else nonce_now(sender)
                queue = _Sender(sender, state_nonce)
            if xt.nonce < queue.state_nonce:
                raise StaleNonce(f"nonce {xt.nonce} was used in a block since validation")
            replaced = self._check_room(queue, xt.nonce, xt.tip)
            era_end = None if xt.era.immortal else xt.era.birth + xt.era.period
            tx = PoolTx(
                tx_hash, xt.data, sender, xt.nonce, xt.tip, next(self._seq), era_end, time.monotonic()
            )
            self._senders[sender] = queue
            before = queue.ready_hashes()
            if replaced is not None:
                self._discard(replaced, {"dropped": f"replaced by 0x{tx_hash.hex()} (higher tip)"})
            queue.txs[tx.nonce] = tx
            self._by_hash[tx.hash] = tx
            self._refresh(queue, before, announce=tx.hash)
            return "ready" if tx.nonce < queue.state_nonce + queue.ready else "future"

    def _check_room(self, queue: _Sender, nonce: int, tip: int) -> PoolTx | None:
        """The transaction this one replaces (same nonce, lower tip), or PoolError if there is no room."""
        existing = queue.txs.get(nonce)
        if existing is not None:
            if tip <= existing.tip:
                raise TooLowPriority(f"nonce {nonce} is taken by a transaction with tip {existing.tip}")
            return existing
        if len(queue.txs) >= self.limits.per_sender:
            raise PoolFull(f"the sender already has {len(queue.txs)} transactions in the pool")
        if len(self._by_hash) >= self.limits.total:
            raise PoolFull(f"the pool holds {len(self._by_hash)} transactions, its limit")
        return None

    def _discard(self, tx: PoolTx, status: Any | None) -> None:
        """Forget one transaction (lock held; the caller refreshes its sender afterwards)."""
        del self._senders[tx.sender].txs[tx.nonce]
        del self._by_hash[tx.hash]
        if status is not None:
            self.on_status(tx.hash, status)

    def _refresh(self, queue: _Sender, before: set[bytes], announce: bytes | None = None) -> None:
        """Recount a sender's ready run; report "ready" for the newly ready (and "future" for `announce`
        if it is not ready); forget the sender once it has nothing pooled."""
        self.ready_count -= queue.ready
        count = 0
        while queue.state_nonce + count in queue.txs:
            count += 1
        queue.ready = count
        self.ready_count += count
        ready = [queue.txs[queue.state_nonce + i] for i in range(count)]
        for tx in ready:
            if tx.hash not in before:
                self.on_status(tx.hash, "ready")
        if announce is not None and all(tx.hash != announce for tx in ready):
            self.on_status(announce, "future")
        if not queue.txs:
            del self._senders[queue.account]
        elif count > len(before):
            self.on_ready()

    # --- reading -----------------------------------------------------------------------------------

    def ready_in_order(self, limit: int) -> list[PoolTx]:
        """Up to `limit` ready transactions in block order: tip, then arrival, each sender by nonce."""
        with self._lock:
            heap = [
                (-q.txs[q.state_nonce].tip, q.txs[q.state_nonce].seq, q.state_nonce, q)
                for q in self._senders.values()
                if q.ready
            ]
            heapq.heapify(heap)
            out: list[PoolTx] = []
            while heap and len(out) < limit:
                _tip, _seq, nonce, queue = heapq.heappop(heap)
                out.append(queue.txs[nonce])
                following = queue.txs.get(nonce + 1)
                if following is not None and nonce + 1 < queue.state_nonce + queue.ready:
                    heapq.heappush(heap, (-following.tip, following.seq, nonce + 1, queue))
            return out

    def pending(self) -> list[PoolTx]:
        """Every pooled transaction, ready ones first in block order, then future ones by arrival."""
        ready = self.ready_in_order(len(self._by_hash))
        seen = {tx.hash for tx in ready}
        with self._lock:
            future = sorted((t for t in self._by_hash.values() if t.hash not in seen), key=lambda t: t.seq)
        return ready + future

    def next_nonce(self, sender: AccountId, state_nonce: int) -> int:
        """The nonce a sender's next transaction should carry, counting its ready pooled ones."""
        with self._lock:
            queue = self._senders.get(sender)
            if queue is None or queue.state_nonce < state_nonce:
                return state_nonce
            return queue.state_nonce + queue.ready

    # --- after a block -----------------------------------------------------------------------------

    def remove(self, removals: Iterable[tuple[bytes, Any | None]]) -> None:
        """Drop transactions by hash, reporting each status (None: no report)."""
        self.on_block(None, removals, _unchanged, _no_status, _no_status)

    def on_block(
        self,
        number: int | None,
        removals: Iterable[tuple[bytes, Any | None]],
        nonce_if_changed: Callable[[AccountId], int | None],
        stale_status: Callable[[PoolTx], Any],
        expired_status: Callable[[PoolTx], Any],
    ) -> None:
        """After block `number`: drop its included and invalid transactions (`removals`, with their
        statuses), move the senders whose account changed (`nonce_if_changed` gives their new nonce, else
        None) to their new nonces, dropping what that made stale, and drop transactions whose era ended
        or that waited too long for an earlier nonce. Statuses are reported in that order."""
        with self._lock:
            touched: dict[AccountId, set[bytes]] = {}
            if number is not None:
                self.epoch += 1
            for tx_hash, status in removals:
                tx = self._by_hash.get(tx_hash)
                if tx is not None:
                    self._touch(touched, tx.sender)
                    self._discard(tx, status)
            for sender, queue in list(self._senders.items()):
                state_nonce = nonce_if_changed(sender)
                if state_nonce is None or queue.state_nonce == state_nonce:
                    continue
                self._touch(touched, sender)
                queue.state_nonce = state_nonce
                for tx in [t for t in queue.txs.values() if t.nonce < state_nonce]:
                    self._discard(tx, stale_status(tx))
            if number is not None:
                for tx, status in self._expired(number, expired_status):
                    self._touch(touched, tx.sender)
                    self._discard(tx, status)
            for sender, before in touched.items():
                self._refresh(self._senders[sender], before)
            if self.ready_count:
                self.on_ready()

    def _expired(self, number: int, expired_status: Callable[[PoolTx], Any]) -> list[tuple[PoolTx, Any]]:
        """Transactions whose era ends before block number + 1, and future ones that waited too long."""
        oldest = time.monotonic() - self.limits.future_ttl_s
        out: list[tuple[PoolTx, Any]] = []
        for tx in self._by_hash.values():
            if tx.era_end is not None and tx.era_end <= number + 1:
                out.append((tx, expired_status(tx)))
            elif tx.added < oldest and not self._is_ready(tx):
                out.append((tx, {"dropped": "waited too long for an earlier nonce"}))
        return out

    def _is_ready(self, tx: PoolTx) -> bool:
        queue = self._senders[tx.sender]
        return tx.nonce < queue.state_nonce + queue.ready

    def _touch(self, touched: dict[AccountId, set[bytes]], sender: AccountId) -> None:
        if sender not in touched:
            touched[sender] = self._senders[sender].ready_hashes()


def _no_status(_tx: PoolTx) -> None:
    return None


def _unchanged(_sender: AccountId) -> None:
    return None
