"""Block authoring: one worker thread owns the authoring Runtime, picks ready transactions from the pool,
builds, seals and commits each block with its chain records in one LevelDB batch, then reports it.

Seal modes: `instant` (a block as soon as transactions are ready), `interval:MS` (a block every MS
milliseconds, empty or not), `instant+interval:MS` (both: a block as soon as transactions are ready, and
an empty one when MS pass without any; --dev's default) and `manual` (blocks only on request, e.g. the
engine_createBlock RPC).
Block timestamps are the wall clock plus a clock offset that only `warp` (dev_warp, on a dev chain) moves.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from cmu.node.chaindb import ChainDb, ChainDbError
from cmu.node.finality import SoloCertifier
from cmu.node.metrics import Metrics
from cmu.node.pool import PoolTx, TransactionPool
from runtime.block import Header
from runtime.crypto import Keypair
from runtime.dispatch import ApplyResult
from runtime.errors import ExhaustsResources, FutureNonce, InvalidBlock, InvalidExtrinsic
from runtime.executive import BlockBuilder, PendingBlock, Runtime
from runtime.types import AccountId

log = logging.getLogger("cmu.author")


class ChainEvents(Protocol):
    """Where the node reports new blocks and transaction statuses (the RPC subscriptions)."""

    def new_head(self, header: Header, block_hash: bytes) -> None:
        """A block became the best one."""

    def finalized_head(self, header: Header, block_hash: bytes) -> None:
        """A block became final."""

    def tx_status(self, tx_hash: bytes, status: Any) -> None:
        """A transaction's status changed (as author_extrinsicUpdate reports it)."""


class NoEvents:
    """A ChainEvents that reports nowhere (offline commands)."""

    def new_head(self, header: Header, block_hash: bytes) -> None:
        """Ignore."""

    def finalized_head(self, header: Header, block_hash: bytes) -> None:
        """Ignore."""

    def tx_status(self, tx_hash: bytes, status: Any) -> None:
        """Ignore."""


@dataclasses.dataclass(frozen=True)
class SealMode:
    """When blocks are authored."""

    kind: str  # "instant", "interval" or "manual"
    interval_ms: int = 0
    on_ready: bool = False  # with "interval": also author as soon as transactions are ready

    @classmethod
    def parse(cls, text: str) -> SealMode:
        """`instant`, `manual`, `interval:MS` or `instant+interval:MS` (ValueError otherwise)."""
        if text in ("instant", "manual"):
            return cls(text)
        on_ready = text.startswith("instant+")
        kind, _, value = text.removeprefix("instant+").partition(":")
        if kind == "interval" and value.isdigit() and int(value) > 0:
            return cls("interval", int(value), on_ready)
        choices = "instant, manual, interval:MS or instant+interval:MS"
        raise ValueError(f"unknown seal mode {text!r}: use {choices}")

    @property
    def authors_on_ready(self) -> bool:
        """Whether ready transactions start a block at once."""
        return self.kind == "instant" or self.on_ready

    def __str__(self) -> str:
        if self.kind != "interval":
            return self.kind
        return f"{'instant+' if self.on_ready else ''}interval:{self.interval_ms}"


@dataclasses.dataclass(frozen=True)
class AuthoredBlock:
    """What engine_createBlock answers."""

    hash: bytes
    number: int
    timestamp: int = 0


MAX_WARP_S = 10 * 365 * 24 * 3600
"""The largest single dev_warp: ten years, in seconds."""


class AuthorError(Exception):
    """A block request that cannot be served (nothing to include, unknown block, no author key)."""


@dataclasses.dataclass(frozen=True)
class AuthorLimits:
    """How much one block may take: transactions and building time."""

    max_txs: int = 10_000
    budget_ms: int = 1_000


@dataclasses.dataclass
class _Request:
    action: str  # "create", "finalize" or "warp"
    args: tuple[Any, ...]
    future: concurrent.futures.Future[Any]


class Author:
    """The authoring worker thread."""

    def __init__(
        self,
        runtime: Runtime,
        chaindb: ChainDb,
        pool: TransactionPool,
        keypair: Keypair,
        *,
        seal: SealMode,
        events: ChainEvents,
        metrics: Metrics,
        follow: Callable[[Header], None],
        limits: AuthorLimits | None = None,
    ) -> None:
        self.runtime = runtime
        self.chaindb = chaindb
        self.pool = pool
        self.keypair = keypair
        self.seal = seal
        self.events = events
        self.metrics = metrics
        self.follow = follow
        self.limits = limits or AuthorLimits()
        #: Called with each sealed block before it is committed (the network appends it to its log
        #: there); an exception abandons the block, which is then not committed.
        self.publish: Callable[[PendingBlock], None] | None = None
        #: Set on a chain whose single validator is this node (--dev): each finalized block is stored
        #: with its finality certificate, in the block's own write batch.
        self.certifier: SoloCertifier | None = None
        self._cond = threading.Condition()
        self._requests: collections.deque[_Request] = collections.deque()
        self._poked = False
        self._stopping = False
        self._unfinalized: list[tuple[bytes, int, list[bytes]]] = []
        #: Milliseconds added to the wall clock for block timestamps (moved forward only, by warp).
        self.clock_offset_ms = 0
        self._thread = threading.Thread(target=self._run, name="author", daemon=True)
        self._account_key = functools.lru_cache(maxsize=1 << 16)(runtime.system.account.key)
        pool.on_ready = self.poke

    # --- control (any thread) ----------------------------------------------------------------------

    def start(self) -> None:
        """Start authoring."""
        log.info("Authoring as 0x%s, seal %s", bytes(self.keypair.account).hex(), self.seal)
        self._thread.start()

    def stop(self) -> None:
        """Finish the block in progress, then stop; unanswered requests fail."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        for request in self._requests:
            request.future.set_exception(AuthorError("the node is stopping"))

    def poke(self) -> None:
        """Transactions became ready (the instant seal authors at once)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    def request_block(self, create_empty: bool, finalize: bool) -> concurrent.futures.Future[AuthoredBlock]:
        """Author one block now (whatever the seal mode)."""
        return self._request("create", create_empty, finalize)

    def request_warp(self, seconds: int) -> concurrent.futures.Future[AuthoredBlock]:
        """Move the block clock `seconds` forward and author a block at once (dev chains only)."""
        if not 0 < seconds <= MAX_WARP_S:
            raise ValueError(f"seconds must be in 1..{MAX_WARP_S}")
        return self._request("warp", seconds)

    def request_finalize(self, block_hash: bytes) -> concurrent.futures.Future[Header]:
        """Finalize a best-chain block at or above the finalized one."""
        return self._request("finalize", block_hash)

    def _request(self, action: str, *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._cond:
            if self._stopping:
                future.set_exception(AuthorError("the node is stopping"))
            else:
                self._requests.append(_Request(action, args, future))
                self._cond.notify_all()
        return future

    # --- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        due = time.monotonic() + self.seal.interval_ms / 1000
        while True:
            request, timed = self._wait(due)
            if request is None and not timed:
                return
            if request is not None:
                self._serve(request)
                continue
            started = time.monotonic()
            block = self._author_safely(create_empty=self.seal.kind == "interval", finalize=True)
            if self.seal.kind == "interval":
                due = max(started + self.seal.interval_ms / 1000, time.monotonic())
            if self.seal.authors_on_ready and block is not None and self.pool.ready_count:
                self.poke()

    def _wait(self, due: float) -> tuple[_Request | None, bool]:
        """The next request, or (None, True) when a block is due, or (None, False) to stop."""
        with self._cond:
            while True:
                if self._stopping:
                    return None, False
                if self._requests:
                    return self._requests.popleft(), False
                if self.seal.authors_on_ready and self._poked:
                    self._poked = False
                    return None, True
                timeout = None
                if self.seal.kind == "interval":
                    timeout = due - time.monotonic()
                    if timeout <= 0:
                        return None, True
                self._cond.wait(timeout)

    def _serve(self, request: _Request) -> None:
        try:
            if request.action == "create":
                create_empty, finalize = request.args
                block = self.author_block(create_empty=create_empty, finalize=finalize)
                if block is None:
                    raise AuthorError("no transaction could be included and createEmpty is false")
                request.future.set_result(block)
            elif request.action == "warp":
                request.future.set_result(self._warp(request.args[0]))
            else:
                request.future.set_result(self.finalize(request.args[0]))
        except Exception as exc:  # answered to the requester; the node keeps authoring
            request.future.set_exception(exc)

    def _warp(self, seconds: int) -> AuthoredBlock:
        before = self.clock_offset_ms
        self.clock_offset_ms += seconds * 1000
        try:
            block = self.author_block(create_empty=True, finalize=True)
        except BaseException:
            self.clock_offset_ms = before  # no block, no warp
            raise
        if block is None:  # pragma: no cover - create_empty always authors
            raise AuthorError("the warp block could not be authored")
        log.info("Warped the block clock %d s forward (offset now %d ms)", seconds, self.clock_offset_ms)
        return block

    def resume_clock(self) -> None:
        """Continue the block clock from the head's timestamp when it is ahead of the wall clock (a kept
        dev chain warped before a restart), so time does not stand still until the wall catches up."""
        self.clock_offset_ms = max(0, self.runtime.head.timestamp - int(time.time() * 1000))

    def now_ms(self) -> int:
        """The block clock: wall clock plus the dev clock offset, in milliseconds."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def _author_safely(self, *, create_empty: bool, finalize: bool) -> AuthoredBlock | None:
        try:
            return self.author_block(create_empty=create_empty, finalize=finalize)
        except Exception:  # a failed block must not stop the node: log it and try again next time
            log.exception("authoring a block failed")
            return None

    # --- one block ---------------------------------------------------------------------------------

    def author_block(
        self, *, create_empty: bool, finalize: bool, timestamp: int | None = None
    ) -> AuthoredBlock | None:
        """Build, seal and commit one block; None when it would be empty and `create_empty` is false.

        `timestamp` (ms) defaults to the wall clock; the network passes the one its authoring turn allows."""
        started = time.perf_counter()
        rt = self.runtime
        if timestamp is None:
            timestamp = max(self.now_ms(), rt.head.timestamp + 1)
        try:
            builder = rt.new_block(timestamp, self.keypair.account)
        except InvalidBlock:
            rt.discard()
            raise
        included, removals = self._fill(builder, started)
        if not included and not create_empty:
            builder.abandon()
            self.pool.remove(removals)
            return None
        try:
            pending = builder.finish(self.keypair)
            if self.publish is not None:
                self.publish(pending)
            rt.commit(pending, extra_puts=self._records(pending, finalize))
        except BaseException:
            builder.abandon()
            raise
        self._after_commit(pending, included, removals, finalize)
        elapsed = time.perf_counter() - started
        self.metrics.block_author_seconds.observe(elapsed)
        log.info(
            "Authored #%d (0x%s…%s) with %d extrinsics in %.0f ms",
            pending.header.number,
            pending.hash.hex()[:8],
            pending.hash.hex()[-4:],
            len(included),
            elapsed * 1000,
        )
        return AuthoredBlock(pending.hash, pending.header.number, pending.header.timestamp)

    def _records(self, pending: PendingBlock, finalize: bool) -> list[tuple[bytes, bytes]]:
        """The chain records of a block (with its finality certificate when this node certifies)."""
        records = self.chaindb.block_records(pending, finalize=finalize)
        if finalize and self.certifier is not None:
            cert = self.certifier.certify(pending.header)
            records += self.chaindb.certificate_records(cert, committing=pending.header)
        return records

    def _fill(
        self, builder: BlockBuilder, started: float
    ) -> tuple[list[tuple[PoolTx, ApplyResult]], list[tuple[bytes, Any]]]:
        """Push ready transactions in priority order until the block is full or a limit is reached."""
        included: list[tuple[PoolTx, ApplyResult]] = []
        removals: list[tuple[bytes, Any]] = []
        skipped: set[AccountId] = set()
        deadline = started + self.limits.budget_ms / 1000
        for tx in self.pool.ready_in_order(self.limits.max_txs):
            if tx.sender in skipped:
                continue
            if time.perf_counter() > deadline:
                break
            try:
                included.append((tx, builder.push(tx.data)))
            except ExhaustsResources as exc:
                if included:
                    break  # the block is full; the rest waits for the next one
                removals.append((tx.hash, invalid_status(exc)))
                skipped.add(tx.sender)
            except FutureNonce:
                skipped.add(tx.sender)  # an earlier nonce was dropped: it stays in the pool
            except InvalidExtrinsic as exc:
                removals.append((tx.hash, invalid_status(exc)))
                skipped.add(tx.sender)
            except Exception as exc:  # a bug in a pallet: the builder rolled it back; drop the tx
                log.exception("pushing 0x%s failed unexpectedly", tx.hash.hex())
                removals.append((tx.hash, {"dropped": f"internal error: {type(exc).__name__}: {exc}"}))
                skipped.add(tx.sender)
        return included, removals

    def _after_commit(
        self,
        pending: PendingBlock,
        included: list[tuple[PoolTx, ApplyResult]],
        removals: list[tuple[bytes, Any]],
        finalize: bool,
    ) -> None:
        header = pending.header
        self.chaindb.advance(header, finalize=finalize)
        self.follow(header)
        self.metrics.best_height.set(header.number)
        block_hash = pending.hash
        hex_hash = "0x" + block_hash.hex()
        self.events.new_head(header, block_hash)
        if finalize:
            self.events.finalized_head(header, block_hash)
        for tx, result in included:
            self.events.tx_status(tx.hash, {"inBlock": hex_hash, "success": result.ok, "error": result.error})
        self._unfinalized.append((block_hash, header.number, [tx.hash for tx, _ in included]))
        if finalize:
            self._finalized_up_to(header.number)
        removals = [(tx.hash, None) for tx, _ in included] + removals
        self.pool.on_block(header.number, removals, self._nonce_reader(pending), stale_status, expired_status)

    def _nonce_reader(self, pending: PendingBlock) -> Callable[[AccountId], int | None]:
        return nonce_reader(self.runtime, pending, self._account_key)

    def _finalized_up_to(self, number: int) -> None:
        self.metrics.finalized_height.set(number)
        keep = []
        for block_hash, block_number, tx_hashes in self._unfinalized:
            if block_number > number:
                keep.append((block_hash, block_number, tx_hashes))
                continue
            for tx_hash in tx_hashes:
                self.events.tx_status(tx_hash, {"finalized": "0x" + block_hash.hex()})
        self._unfinalized = keep

    def finalize(self, block_hash: bytes) -> Header:
        """Finalize a best-chain block (engine_finalizeBlock)."""
        try:
            head = self.chaindb.finalize(block_hash)
            if self.certifier is not None:
                self.chaindb.put_certificate(self.certifier.certify(head.final))
        except ChainDbError as exc:
            raise AuthorError(str(exc)) from exc
        self.report_finalized(head.final, head.final_hash)
        return head.final

    def report_finalized(self, header: Header, block_hash: bytes) -> None:
        """Tell subscribers and watchers of authored transactions that a block became final (however
        it was finalized: engine_finalizeBlock here, a finality certificate on a network node)."""
        self.events.finalized_head(header, block_hash)
        self._finalized_up_to(header.number)


def invalid_status(exc: InvalidExtrinsic) -> dict[str, Any]:
    """The `invalid` status of a transaction refused by the runtime."""
    return {"invalid": {"code": exc.code, "error": type(exc).__name__, "message": str(exc)}}


def stale_status(tx: PoolTx) -> dict[str, Any]:
    """A pooled transaction whose nonce a block used."""
    return {"invalid": {"code": "Stale", "error": "StaleNonce", "message": f"nonce {tx.nonce} was used"}}


def expired_status(tx: PoolTx) -> dict[str, Any]:
    """A pooled transaction whose mortal era ended."""
    message = f"its era ended at block {tx.era_end}"
    return {"invalid": {"code": "AncientBirthBlock", "error": "ExpiredEra", "message": message}}


def nonce_reader(
    runtime: Runtime, pending: PendingBlock, account_key: Callable[[AccountId], bytes]
) -> Callable[[AccountId], int | None]:
    """For the pool after a block: an account's new nonce if the block wrote (or reaped) its account,
    None for every other account, so only those are read."""
    changed = {k[1:] for k, _ in pending.puts if k[:1] == b"S"} | {k[1:] for k in pending.deletes}
    system = runtime.system

    def nonce_if_changed(who: AccountId) -> int | None:
        if account_key(who) not in changed:
            return None
        nonce: int = system.account_info(who).nonce
        return nonce

    return nonce_if_changed
