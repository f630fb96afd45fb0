"""Transaction gossip through etcd: what a node's clients submit reaches every validator's pool, so the
validator whose turn it is to author has it whichever node received it.

A node puts the transactions its pool accepted from RPC in batches under txs/<node id>/<seq> (msgpack
list of raw extrinsics) with a lease, so old batches expire by themselves. Validators watch txs/ and keep
other nodes' transactions raw until their own turn to author comes near; only then are they validated
into the pool. Blocks executed meanwhile remove what they include, so a transaction is validated by the
node that received it and by the author that includes it, not by every validator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

import msgpack

from cmu.node.network.etcd import EtcdClient, EtcdError
from cmu.node.network.layout import Layout
from cmu.node.rpc_api import Submitter
from cmu.node.validator import Accepted, Outcome
from runtime.crypto import blake2_256

log = logging.getLogger("cmu.gossip")
#: Seconds a gossiped batch lives in etcd (long enough for every validator to read it).
BATCH_TTL_S = 60
#: A new lease is taken after this many seconds, so batches expire about BATCH_TTL_S after they were put.
LEASE_RENEW_S = 20
#: Seconds between flushes of the outgoing batch.
FLUSH_INTERVAL_S = 0.02
#: Most transactions in one batch.
MAX_BATCH = 2_000
#: Most gossiped transactions kept raw, waiting for this node's turn (the oldest go first).
MAX_HELD = 200_000


#: Largest gossiped batch read from etcd (bytes), and largest transaction in it.
MAX_BATCH_BYTES = 16 * 1024 * 1024
MAX_TX_BYTES = 4 * 1024 * 1024


class GossipError(Exception):
    """A gossiped batch is not a bounded msgpack list of byte strings."""


def decode_batch(raw: bytes) -> list[bytes]:
    """A batch's transactions: one msgpack array of at most MAX_BATCH byte strings, size-bounded (no
    nesting, maps or text accepted), or GossipError."""
    if len(raw) > MAX_BATCH_BYTES:
        raise GossipError(f"{len(raw)} bytes, more than {MAX_BATCH_BYTES}")
    try:
        batch = msgpack.unpackb(
            raw, raw=False, max_array_len=MAX_BATCH, max_bin_len=MAX_TX_BYTES, max_str_len=0, max_map_len=0,
            max_ext_len=0,
        )  # fmt: skip
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise GossipError(f"not msgpack within bounds: {exc}") from exc
    if not isinstance(batch, list) or not all(isinstance(data, bytes) for data in batch):
        raise GossipError("not a list of byte strings")
    return batch


class GossipSubmitter(Submitter):
    """A Submitter whose accepted submissions are also gossiped to the other validators."""

    def __init__(self, loop: asyncio.AbstractEventLoop, validator: Any, gossip: TxGossip) -> None:
        super().__init__(loop, validator)
        self.gossip = gossip

    def submit(self, data: bytes) -> asyncio.Future[Outcome]:
        """Validate into the pool; once accepted, gossip it."""
        future = super().submit(data)
        future.add_done_callback(lambda done: self._accepted(done, data))
        return future

    def _accepted(self, future: asyncio.Future[Outcome], data: bytes) -> None:
        if not future.cancelled() and isinstance(future.result(), Accepted):
            self.gossip.send(data)


class TxGossip:
    """Batches outgoing transactions to etcd and feeds incoming batches to the local pool."""

    def __init__(self, etcd: EtcdClient, layout: Layout, *, receive: bool) -> None:
        self.etcd = etcd
        self.layout = layout
        self.receive = receive
        self.node_id = secrets.token_hex(6)
        self.submitter: Submitter | None = None  # the plain submitter: received txs are not re-gossiped
        self._outgoing: list[bytes] = []
        self._seq = 0
        self._lease = 0
        self._lease_at = 0.0
        self._wake = asyncio.Event()
        self.received = 0
        self.held: dict[bytes, bytes] = {}  # tx hash -> raw transaction, in arrival order
        self.wanted = False  # this node's turn is near: validate gossip into the pool at once

    def send(self, data: bytes) -> None:
        """Queue one accepted transaction for the next batch (event loop thread)."""
        self._outgoing.append(data)
        self._wake.set()

    async def run_sender(self) -> None:
        """Flush batches for ever."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(FLUSH_INTERVAL_S)
            while self._outgoing:
                batch, self._outgoing = self._outgoing[:MAX_BATCH], self._outgoing[MAX_BATCH:]
                await self._put(batch)

    async def _put(self, batch: list[bytes]) -> None:
        raw: bytes = msgpack.packb(batch, use_bin_type=True)
        for _attempt in range(3):
            try:
                lease = await self._current_lease()
                self._seq += 1
                await self.etcd.put(self.layout.tx_batch(self.node_id, self._seq), raw, lease=lease)
                return
            except EtcdError as exc:
                log.warning("gossiping %d transactions failed (%s); retrying", len(batch), exc)
        log.error("dropped a gossip batch of %d transactions: etcd did not answer", len(batch))

    async def _current_lease(self) -> int:
        now = time.monotonic()
        if not self._lease or now - self._lease_at > LEASE_RENEW_S:
            self._lease = await self.etcd.grant_lease(BATCH_TTL_S)
            self._lease_at = now
        return self._lease

    async def run_receiver(self, start_revision: int) -> None:
        """Queue every other node's batches into the local pool, for ever."""
        own = self.layout.txs + self.node_id.encode() + b"/"
        async for event in self.etcd.watch(self.layout.txs, start_revision):
            if event.deleted or event.kv.key.startswith(own) or self.submitter is None:
                continue
            try:
                batch = decode_batch(event.kv.value)
            except GossipError as exc:
                log.warning("ignoring a malformed gossip batch %r: %s", event.kv.key, exc)
                continue
            for data in batch:
                self.held[blake2_256(data)] = data
                self.received += 1
            while len(self.held) > MAX_HELD:
                del self.held[next(iter(self.held))]
            if self.wanted:
                self.release()

    def turn_near(self, near: bool) -> None:
        """The orderer's news: while this node's turn is near, gossip goes into the pool at once."""
        self.wanted = near
        if near and self.held:
            self.release()

    def release(self) -> None:
        """Validate every held transaction into the pool (event loop thread)."""
        if self.submitter is None:
            return
        held, self.held = self.held, {}
        for data in held.values():
            self.submitter.submit(data).add_done_callback(_ignore)

    def forget(self, tx_hashes: list[bytes]) -> None:
        """Drop held transactions that a block included (event loop thread)."""
        held = self.held
        for tx_hash in tx_hashes:
            held.pop(tx_hash, None)


def _ignore(future: asyncio.Future[Outcome]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        future.result()
