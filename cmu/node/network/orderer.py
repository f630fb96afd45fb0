"""Ordering through the etcd log: follow blocks/<height>, execute and check each block, author on our turn.

Every node executes every block itself through the import path and checks its author against the
round-robin turn; a block that does not check is refused loudly (never applied) and, on a validator, a
signed refusal is published so the entry can be dropped once it can no longer be finalized. A node halts,
rather than fork, when the log or the certificates contradict a block it executed.

Clocks. Whether a block is valid never depends on a local clock: its author is checked against the turn
its own timestamp falls in, relative to its parent's. The local clock only decides *when* a node executes
a block: one stamped more than MAX_DRIFT_MS ahead of the node's clock waits until it is not (a WARNING
says so), and one stamped more than FUTURE_LIMIT_MS ahead is refused, but that refusal is provisional: it
only helps drop the entry while the dropping node's own clock still puts the block beyond the limit. An
honest node executes a block at most MAX_DRIFT_MS before its timestamp, so an honest node whose clock is
less than FUTURE_LIMIT_MS - MAX_DRIFT_MS (9.5 s) off never drops what another one executed. Liveness at
full speed wants clocks within MAX_DRIFT_MS of each other; a larger skew, up to a turn, costs waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cmu.node.author import Author, expired_status, nonce_reader, stale_status
from cmu.node.network.etcd import EtcdClient, EtcdError, KeyValue, WatchEvent, abandon
from cmu.node.network.layout import Layout, author_index, next_turn, round_of
from runtime.block import Block, Header
from runtime.crypto import Keypair, blake2_256
from runtime.errors import CodecError, InvalidBlock
from runtime.executive import PendingBlock
from runtime.types import AccountId
from runtime.validators import Validator, ValidatorKeys

log = logging.getLogger("cmu.network")
T = TypeVar("T")
#: How far (ms) a block's timestamp may run ahead of the local clock before the node waits for it.
MAX_DRIFT_MS = 500
#: A block stamped further ahead than this (ms) is refused (it would stall the chain that long).
FUTURE_LIMIT_MS = 10_000
#: Seconds an append to etcd may take in all (retries included) before the block is abandoned.
APPEND_TIMEOUT_S = 20.0
#: While its own append is pending, the node looks this often (s) whether the watch showed another block.
APPEND_POLL_S = 0.05


class LostRace(Exception):
    """Another block took the height first; ours is abandoned (`entry` is what holds it, if known)."""

    def __init__(self, message: str, entry: KeyValue | None = None) -> None:
        super().__init__(message)
        self.entry = entry


class FaultInjected(Exception):
    """Test-only: the node published a forged block instead of its own."""


@dataclasses.dataclass(frozen=True)
class NetworkParams:
    """Timings: `turn_ms` is the network's (every node must agree: the first node writes it to etcd's
    config key); `block_gap_ms` is this node's, as an author."""

    turn_ms: int = 2_000
    block_gap_ms: int = 100
    clock_skew_ms: int = 0  # test-only: this node's clock runs this far off

    def to_json(self) -> dict[str, int]:
        """The config record."""
        return {"turnMs": self.turn_ms}


@dataclasses.dataclass(frozen=True)
class Identity:
    """This node's validator keys and its index in the spec's validator list."""

    index: int
    keys: ValidatorKeys

    @property
    def keypair(self) -> Keypair:
        """The ed25519 key pair (authoring, refusals)."""
        return self.keys.keypair


def refusal_message(genesis_hash: bytes, height: int, revision: int) -> bytes:
    """What a validator signs (ed25519) to refuse the log entry written at `revision` for `height`."""
    return blake2_256(
        b"cmu/refuse/v1" + genesis_hash + height.to_bytes(8, "big") + revision.to_bytes(8, "big")
    )


class Orderer:
    """The node's side of the etcd log."""

    def __init__(
        self,
        *,
        node: Any,
        etcd: EtcdClient,
        members: Sequence[Validator],
        identity: Identity | None,
        params: NetworkParams,
        fault_bad_state_root: bool = False,
    ) -> None:
        self.node = node  # NetworkNode: runtime, chaindb, importer, author, pool, validator, events
        self.etcd = etcd
        self.members = members
        self.identity = identity
        self.params = params
        self.layout = Layout(node.runtime.genesis_hash)
        self.fault_bad_state_root = fault_bad_state_root
        self.entries: dict[int, KeyValue] = {}
        self.applied: dict[int, int] = {}  # height -> log revision of the entry this node executed
        self.refused: dict[int, str] = {}  # log revision -> why this node refused that entry (for good)
        self.too_early: dict[int, int] = {}  # log revision -> timestamp of an entry refused as far-future
        self._waiting_note: set[int] = set()  # revisions whose wait for their timestamp was logged
        self.halted: str | None = None
        self.on_applied: list[Callable[[Header], None]] = []
        #: Told, on the event loop, the transactions each executed block included.
        self.on_included: Callable[[list[bytes]], None] | None = None
        #: Told, on the event loop, whether this node's turn to author is near (the next two blocks).
        self.on_turn_near: Callable[[bool], None] | None = None
        self._wake = asyncio.Event()
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="network")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._account_key: Callable[[AccountId], bytes] | None = None
        self._wake_pending = False
        self._waiting_for_pool = False

    # --- plumbing ----------------------------------------------------------------------------------

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run chain work on the one network thread (it owns the authoring runtime)."""
        return await asyncio.get_running_loop().run_in_executor(self._work, fn, *args)

    def wake(self) -> None:
        """Something changed: re-examine the log (event loop thread)."""
        self._wake.set()

    def wake_threadsafe(self) -> None:
        """Wake from another thread (the pool's on_ready, once per inserted transaction): only while the
        loop waits for transactions to author, and one hop at a time however many arrive meanwhile."""
        if not self._waiting_for_pool or self._wake_pending or self._loop is None or self._loop.is_closed():
            return
        self._wake_pending = True
        self._loop.call_soon_threadsafe(self._wake_from_thread)

    def _wake_from_thread(self) -> None:
        self._wake_pending = False
        self._waiting_for_pool = False
        self._wake.set()

    def halt(self, reason: str) -> None:
        """Stop following and authoring for good: this node disagrees with the network."""
        if self.halted is None:
            self.halted = reason
            log.critical("HALTED rather than fork: %s", reason)
            self.wake()

    def forget_below(self, height: int) -> None:
        """Drop the bookkeeping of log entries at or below `height` (long finalized)."""
        for number in [n for n in self.applied if n <= height]:
            del self.applied[number]
        oldest = self._oldest_revision()
        self.refused = {rev: why for rev, why in self.refused.items() if rev > oldest}
        self.too_early = {rev: ts for rev, ts in self.too_early.items() if rev > oldest}
        self._waiting_note = {rev for rev in self._waiting_note if rev > oldest}

    def _oldest_revision(self) -> int:
        return min(self.applied.values(), default=0)

    def now_ms(self) -> int:
        """This node's wall clock (ms)."""
        return int(time.time() * 1000) + self.params.clock_skew_ms

    def refuses_now(self, height: int, revision: int) -> bool:
        """Whether this node, now, refuses the entry of `height` written at `revision` (so may drop it):
        for good when it does not check; when it is stamped too far in the future, only while it still is."""
        if self.applied.get(height) == revision:
            return False
        if revision in self.refused:
            return True
        timestamp = self.too_early.get(revision)
        return timestamp is not None and timestamp - self.now_ms() > FUTURE_LIMIT_MS

    def stop(self) -> None:
        """Let the worker finish its current block."""
        self._work.shutdown(wait=True)

    # --- the log -----------------------------------------------------------------------------------

    async def load(self) -> int:
        """Read the log from our finalized block on; the revision to watch from."""
        head = self.node.chaindb.head
        first = self.layout.block(head.final.number + 1)
        kvs, revision = await self.etcd.range(first, self.layout.blocks + b"\xff")
        for kv in kvs:
            height = self.layout.height_of(kv.key)
            if height > head.best.number:
                self.entries[height] = kv
                continue
            block = _decode(kv.value)
            if block is None or block.hash() != self.node.chaindb.hash_at(height):
                self.halt(f"the log's block #{height} is not the one this node executed before it stopped")
            self.applied[height] = kv.mod_revision
        log.info("Log read: %d blocks ahead of our best #%d", len(self.entries), head.best.number)
        return revision

    def on_block_event(self, event: WatchEvent) -> None:
        """A put or delete under blocks/ (event loop thread)."""
        height = self.layout.height_of(event.kv.key)
        applied = self.applied.get(height)
        if event.deleted:
            self.entries.pop(height, None)
            if applied is not None:
                self.halt(f"the network dropped block #{height}, which this node executed")
        elif applied is not None and applied != event.kv.mod_revision:
            self.halt(f"the log holds another block #{height} than the one this node executed")
        elif applied is None and height <= self.node.chaindb.head.best.number:
            block = _decode(event.kv.value)  # our own block, just committed; or a log that forked from us
            if block is None or block.hash() != self.node.chaindb.hash_at(height):
                self.halt(f"the log holds another block #{height} than the one this node executed")
        elif applied is None:
            self.entries[height] = event.kv
        self.wake()

    async def run(self) -> None:
        """Follow (and on our turn extend) the log until halted."""
        self._loop = asyncio.get_running_loop()
        while self.halted is None:
            self._wake.clear()
            height = self.node.chaindb.head.best.number + 1
            entry = self.entries.get(height)
            if entry is not None and entry.mod_revision not in self.refused:
                await self._execute(height, entry)
                continue
            if self.on_turn_near is not None:
                self.on_turn_near(self._turn_near(height))
            delay = self._authoring_delay(height, entry)
            if delay == 0:
                await self._author(height)
                continue
            if self.identity is not None:  # turns pass with time: look again at least twice a turn
                delay = min(delay if delay is not None else 1e9, self.params.turn_ms / 2000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _turn_near(self, height: int) -> bool:
        """Whether this validator authors one of the next two blocks (or turns are already passing)."""
        if self.identity is None:
            return False
        parent = self.node.chaindb.head.best
        now = max(self.now_ms(), parent.timestamp + 1)
        if round_of(parent.timestamp, now, self.params.turn_ms) > 0:
            return True
        count = len(self.members)
        return self.identity.index in (author_index(height, 0, count), author_index(height + 1, 0, count))

    # --- executing ---------------------------------------------------------------------------------

    def expected_author(self, parent: Header, header: Header) -> Validator:
        """The validator whose turn the block's timestamp falls in."""
        round_ = round_of(parent.timestamp, header.timestamp, self.params.turn_ms)
        return self.members[author_index(header.number, round_, len(self.members))]

    async def _execute(self, height: int, entry: KeyValue) -> None:
        block = _decode(entry.value)
        if block is None:
            await self.refuse(height, entry, "it does not decode as a block")
            return
        parent = self.node.chaindb.head.best
        expected = self.expected_author(parent, block.header)
        if block.header.author != expected.account:
            author = "0x" + bytes(block.header.author).hex()
            await self.refuse(height, entry, f"author {author} is not {expected.name}, whose turn it was")
            return
        if not await self._its_time(height, entry, block, expected.name):
            return
        try:
            header, included = await self.in_worker(self._import, block)
        except InvalidBlock as exc:
            await self.refuse(height, entry, str(exc))
            return
        if self.on_included is not None:
            self.on_included(included)
        self.applied[height] = entry.mod_revision
        current = self.entries.pop(height, None)
        if current is None or current.mod_revision != entry.mod_revision:  # dropped while we executed it
            self.halt(f"the network dropped block #{height} while this node executed it")
            return
        self._applied(header)

    async def _its_time(self, height: int, entry: KeyValue, block: Block, author: str) -> bool:
        """Whether the block's timestamp has come (on this node's clock, give or take MAX_DRIFT_MS); if
        not, wait a while (or for news) and say no. Far-future blocks are refused, provisionally."""
        ahead_ms = block.header.timestamp - self.now_ms()
        if ahead_ms <= MAX_DRIFT_MS:
            return True
        revision = entry.mod_revision
        if ahead_ms > FUTURE_LIMIT_MS and revision not in self.too_early:
            self.too_early[revision] = block.header.timestamp
            await self.refuse(height, entry, f"its timestamp is {ahead_ms} ms in the future", final=False)
        elif revision not in self._waiting_note:
            self._waiting_note.add(revision)
            log.warning(
                "block #%d by %s is stamped %d ms ahead of this node's clock: waiting for its time "
                "(clocks apart by more than %d ms slow the chain)",
                height, author, ahead_ms, MAX_DRIFT_MS,
            )  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), min(ahead_ms - MAX_DRIFT_MS, 1_000) / 1000)
        return False

    def _import(self, block: Block) -> tuple[Header, list[bytes]]:
        """Execute, check and commit a log block; update the pool (network thread). The header and the
        hashes of the transactions it included."""
        node = self.node
        pending: PendingBlock = node.importer.import_pending(block, finalize=False)
        header = pending.header
        hashes = [blake2_256(x) for x in block.extrinsics[1:]]
        in_block = {"inBlock": "0x" + header.hash().hex()}
        for tx_hash in hashes:
            node.events.tx_status(tx_hash, in_block)
        node.pool.on_block(
            header.number,
            [(h, None) for h in hashes],
            self._nonce_reader(pending),
            stale_status,
            expired_status,
        )
        node.validator.follow(header)
        node.track_unfinalized(header, hashes)
        return header, hashes

    def _nonce_reader(self, pending: PendingBlock) -> Callable[[AccountId], int | None]:
        """The new nonce of an account the block wrote to or reaped, None for the others."""
        if self._account_key is None:
            system = self.node.runtime.system
            self._account_key = functools.lru_cache(maxsize=1 << 16)(system.account.key)
        return nonce_reader(self.node.runtime, pending, self._account_key)

    def _applied(self, header: Header) -> None:
        self.entries.pop(header.number, None)  # our own block's watch event may have come first
        for callback in self.on_applied:
            callback(header)

    async def refuse(self, height: int, entry: KeyValue, reason: str, *, final: bool = True) -> None:
        """Refuse a log entry loudly (for good unless not `final`); a validator publishes its signed
        refusal."""
        if final:
            self.refused[entry.mod_revision] = reason
        log.error("REFUSED block #%d (log revision %d): %s", height, entry.mod_revision, reason)
        if self.identity is None:
            return
        message = refusal_message(self.layout.genesis_hash, height, entry.mod_revision)
        key = self.layout.refusal(height, entry.mod_revision, self.identity.index)
        try:
            await self.etcd.put(key, self.identity.keypair.sign(message))
        except EtcdError as exc:
            log.warning("could not publish the refusal of block #%d: %s", height, exc)

    # --- authoring ---------------------------------------------------------------------------------

    def _authoring_delay(self, height: int, entry: KeyValue | None) -> float | None:
        """Seconds until this node may author `height` (0: now), or None to wait for news."""
        node = self.node
        if self.identity is None or node.author is None or entry is not None:
            return None
        self._waiting_for_pool = True  # set before looking, so a transaction arriving now still wakes us
        if not node.pool.ready_count:
            return None
        self._waiting_for_pool = False
        parent = node.chaindb.head.best
        now = self.now_ms()
        earliest = parent.timestamp + self.params.block_gap_ms
        turn = next_turn(parent.timestamp, max(now, earliest), height, self.identity.index, len(self.members),
                         self.params.turn_ms)  # fmt: skip
        return max(0.0, (turn - now) / 1000)

    async def _author(self, height: int) -> None:
        parent = self.node.chaindb.head.best
        timestamp = max(self.now_ms(), parent.timestamp + 1)
        try:
            authored = await self.in_worker(self._author_block, height, timestamp)
        except LostRace as lost:
            log.info("Block #%d was taken by another author; following it", height)
            if lost.entry is not None and height not in self.applied:
                self.entries.setdefault(height, lost.entry)
            return
        except FaultInjected:  # one forged block per turn
            await asyncio.sleep(self.params.turn_ms / 1000)
            return
        except EtcdError as exc:
            hint = " (start etcd with a larger --max-request-bytes)" if "too large" in str(exc) else ""
            log.error("appending block #%d to the log failed%s: %s", height, hint, exc)
            await asyncio.sleep(self.params.block_gap_ms / 1000)
            return
        except Exception:  # a failed block must not stop the node; the turn passes on
            log.exception("authoring block #%d failed", height)
            await asyncio.sleep(self.params.block_gap_ms / 1000)
            return
        if authored is not None:
            self._applied(authored)
        else:  # nothing could be included (e.g. future nonces): let the pool change before trying again
            await asyncio.sleep(max(self.params.block_gap_ms, 50) / 1000)

    def _author_block(self, height: int, timestamp: int) -> Header | None:
        """Build, append to the log, commit (network thread); the header, or None when nothing fitted."""
        node = self.node
        author: Author = node.author
        appended: list[KeyValue] = []
        author.publish = lambda pending: appended.append(self._publish(height, pending))
        try:
            made = author.author_block(create_empty=False, finalize=False, timestamp=timestamp)
        finally:
            author.publish = None
        if made is None:
            return None
        self.applied[height] = appended[0].mod_revision
        header: Header = node.chaindb.head.best
        node.track_unfinalized(header, [])
        return header

    def _publish(self, height: int, pending: PendingBlock) -> KeyValue:
        """Append a sealed block to the log by compare-and-swap (network thread, waits on the loop)."""
        if pending.block is None or self._loop is None:
            raise LostRace("nothing to publish")
        block = pending.block
        if self.fault_bad_state_root:
            block = self._forge(block)
        raw = block.encode()
        future = asyncio.run_coroutine_threadsafe(self._append(height, raw), self._loop)
        kv = future.result(APPEND_TIMEOUT_S)
        if self.fault_bad_state_root:
            log.warning("TEST FAULT: published block #%d with a wrong state root", height)
            raise FaultInjected("published a forged block")
        return kv

    def _forge(self, block: Block) -> Block:
        header = dataclasses.replace(block.header, state_root=blake2_256(b"wrong" + block.header.state_root))
        return Block(header, block.extrinsics, self.node.author.keypair.sign(header.hash()))

    async def _append(self, height: int, raw: bytes) -> KeyValue:
        """Create blocks/<height> once; a retry after a timeout finds its own value and succeeds. Gives
        up (LostRace) as soon as the watch shows another block at that height: the node follows it."""
        key = self.layout.block(height)
        deadline = time.monotonic() + APPEND_TIMEOUT_S - 1
        while True:
            attempt = asyncio.ensure_future(self.etcd.create(key, raw))
            while not attempt.done():
                try:
                    await asyncio.wait({attempt}, timeout=APPEND_POLL_S)
                except asyncio.CancelledError:
                    abandon(attempt)
                    raise
                other = self.entries.get(height)
                if not attempt.done() and other is not None and other.value != raw:
                    abandon(attempt)
                    raise LostRace(f"block #{height} is taken (seen while appending ours)", other)
            try:
                _created, kv = attempt.result()
                break
            except EtcdError:
                if time.monotonic() > deadline:
                    raise
        if kv is not None and kv.value == raw:
            return kv
        raise LostRace(f"block #{height} is taken", kv)


def _decode(raw: bytes) -> Block | None:
    try:
        return Block.decode(raw)
    except CodecError:
        return None
