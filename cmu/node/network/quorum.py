"""Finality and refusals gathered through etcd: each validator's BLS vote on every block it executed,
aggregated into a certificate once more than 2/3 agree; signed refusals that drop a log entry once so
many validators refuse it that it can never be finalized.

Votes sit under votes/<height>/<validator>; any node aggregates them, checks the certificate against the
spec's validators, stores it and finalizes the block. A certificate for a block other than the one this
node executed at that height halts the node (it will not fork). A validator re-publishes its vote on its
best block every VOTE_RESEND_S (0.5 s) until that block is final (a certificate finalizes its ancestors), so
a vote lost with a stalled etcd member, or the last one of a burst, still ends up in a certificate. A
validator that already finalized a height and sees another one still re-sending its vote there answers
at most every VOTE_RESEND_S with its own latest vote (under votes/<height>/<index>/answer, never
answered back): certificates are not published, so one that missed a vote gets it again this way.
A node drops a refused entry only while it refuses it itself (Orderer.refuses_now).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from cmu.node.finality import (
    FinalityCertificate,
    FinalityError,
    FinalityTarget,
    Vote,
    aggregate,
    sign_vote,
    verify_certificate,
    verify_vote,
)
from cmu.node.network.etcd import EtcdClient, EtcdError, WatchEvent
from cmu.node.network.layout import Layout, blocking_size
from cmu.node.network.orderer import Identity, Orderer, refusal_message
from runtime.block import Header
from runtime.crypto import verify
from runtime.validators import Validator, has_quorum

log = logging.getLogger("cmu.finality")
#: Finalized heights whose log bookkeeping is kept (to notice a log rewritten under recent blocks).
KEEP_FINAL = 1_000
#: Seconds between re-publications of a validator's latest vote while its block is not final.
VOTE_RESEND_S = 0.5
#: Suffix of the key of a vote sent again in answer to another validator's re-sent vote.
ANSWER = b"/answer"


class Quorum:
    """Votes, certificates and refusals of one node."""

    def __init__(
        self,
        *,
        orderer: Orderer,
        etcd: EtcdClient,
        validators: Sequence[Validator],
        identity: Identity | None,
        fault_lose_first_vote: bool = False,
    ) -> None:
        self.orderer = orderer
        self.fault_lose_first_vote = fault_lose_first_vote  # test-only: each first publication is lost
        self.node = orderer.node
        self.etcd = etcd
        self.validators = validators
        self.identity = identity
        self.layout: Layout = orderer.layout
        self.genesis_hash = self.layout.genesis_hash
        self.votes: dict[int, dict[FinalityTarget, dict[int, Vote]]] = {}
        self.certified: dict[int, FinalityCertificate] = {}  # verified, not yet applied (block not here)
        self._certifying: set[tuple[int, FinalityTarget]] = set()
        self.refusals: dict[tuple[int, int], set[int]] = {}
        self._dropping: set[tuple[int, int]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.latest_vote: Vote | None = None  # this validator's vote on its best block
        self._answered_at = 0.0
        self.resent = 0
        self._stopping = False
        orderer.on_applied.append(self.on_applied)

    def _spawn(self, coro: Any) -> None:
        if self._stopping:
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            log.error("a finality task failed", exc_info=task.exception())

    async def stop(self) -> None:
        """Cancel the votes, certificates and drops under way (before the etcd client closes)."""
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def resend_votes(self) -> None:
        """Re-publish the latest vote every VOTE_RESEND_S until its block is final, for ever."""
        while True:
            await asyncio.sleep(VOTE_RESEND_S)
            vote = self.latest_vote
            if vote is None or self.orderer.halted is not None or self.identity is None:
                continue
            if vote.target.number <= self.node.chaindb.head.final.number:
                continue
            self.resent += 1
            log.info("re-publishing the vote on #%d (not final yet)", vote.target.number)
            await self._publish(vote)

    # --- votes -------------------------------------------------------------------------------------

    def on_applied(self, header: Header) -> None:
        """A block was executed here: vote for it (validators) and apply a certificate that waited."""
        waiting = self.certified.pop(header.number, None)
        if waiting is not None:
            self._spawn(self._apply(waiting))
        if self.identity is not None and self.orderer.halted is None:
            self._spawn(self._vote(header))

    async def _vote(self, header: Header) -> None:
        if self.identity is None:
            return
        target = FinalityTarget.of_header(self.genesis_hash, header)
        vote = await self.orderer.in_worker(sign_vote, self.identity.keys, self.identity.index, target)
        self._add_vote(vote, verified=True)
        if self.latest_vote is None or vote.target.number > self.latest_vote.target.number:
            self.latest_vote = vote
        if self.fault_lose_first_vote:
            log.warning("TEST FAULT: lost the vote on #%d", header.number)
            return
        await self._publish(vote)

    async def _publish(self, vote: Vote, key: bytes | None = None) -> None:
        assert self.identity is not None
        key = key or self.layout.vote(vote.target.number, self.identity.index)
        try:
            await self.etcd.put(key, vote.encode())
        except EtcdError as exc:
            log.warning("could not publish the vote on #%d (it will be re-sent): %s", vote.target.number, exc)

    def on_vote_event(self, event: WatchEvent) -> None:
        """A vote appeared in etcd (event loop thread)."""
        if event.deleted:
            return
        try:
            vote = Vote.decode(event.kv.value)
        except FinalityError as exc:
            log.warning("ignoring a malformed vote at %r: %s", event.kv.key, exc)
            return
        if vote.target.number <= self.node.chaindb.head.final.number and not event.kv.key.endswith(ANSWER):
            self._answer(vote)
        self._add_vote(vote, verified=False)

    def _answer(self, vote: Vote) -> None:
        """Another validator still votes on a height final here: it lacks votes; send ours again."""
        mine = self.latest_vote
        if self.identity is None or mine is None or vote.validator == self.identity.index:
            return
        now = time.monotonic()
        if mine.target.number < vote.target.number or now - self._answered_at < VOTE_RESEND_S:
            return
        self._answered_at = now
        log.info(
            "validator %d still votes on #%d: sending the vote on #%d again",
            vote.validator, vote.target.number, mine.target.number,
        )  # fmt: skip
        key = self.layout.vote(mine.target.number, self.identity.index) + ANSWER
        self._spawn(self._publish(mine, key))

    def _add_vote(self, vote: Vote, *, verified: bool) -> None:
        target = vote.target
        if target.genesis_hash != self.genesis_hash or vote.validator >= len(self.validators):
            return
        if target.number <= self.node.chaindb.head.final.number:
            return
        by_target = self.votes.setdefault(target.number, {}).setdefault(target, {})
        if vote.validator in by_target:
            return
        by_target[vote.validator] = vote
        key = (target.number, target)
        if has_quorum(len(by_target), len(self.validators)) and key not in self._certifying:
            self._certifying.add(key)
            self._spawn(self._certify(target))

    async def _certify(self, target: FinalityTarget) -> None:
        votes = list(self.votes.get(target.number, {}).get(target, {}).values())
        cert = await self.orderer.in_worker(self._aggregate, votes)
        self._certifying.discard((target.number, target))
        if cert is None:
            return
        await self._apply(cert)

    def _aggregate(self, votes: list[Vote]) -> FinalityCertificate | None:
        """A verified certificate from the votes; bad votes are found one by one and dropped (worker)."""
        cert = aggregate(votes)
        try:
            verify_certificate(cert, self.validators, self.genesis_hash)
            return cert
        except FinalityError:
            pass
        good = []
        for vote in votes:
            try:
                verify_vote(vote, self.validators, self.genesis_hash)
                good.append(vote)
            except FinalityError as exc:
                log.warning(
                    "dropping a bad vote by validator %d on #%d: %s", vote.validator, vote.target.number, exc
                )
                self.votes[vote.target.number][vote.target].pop(vote.validator, None)
        if not has_quorum(len(good), len(self.validators)):
            return None
        cert = aggregate(good)
        verify_certificate(cert, self.validators, self.genesis_hash)
        return cert

    async def _apply(self, cert: FinalityCertificate) -> None:
        """Store and follow a verified certificate, or keep it until its block is executed here."""
        chaindb = self.node.chaindb
        if cert.number > chaindb.head.best.number:
            self.certified[cert.number] = cert
            return
        local = chaindb.hash_at(cert.number)
        if local != cert.block_hash:
            self.orderer.halt(
                f"validators certified block #{cert.number} 0x{cert.block_hash.hex()}, "
                f"but this node executed 0x{(local or b'').hex()}"
            )
            return
        await self.orderer.in_worker(self.node.finalize, cert)
        for number in [n for n in self.votes if n <= cert.number]:
            del self.votes[number]
        self.orderer.forget_below(cert.number - KEEP_FINAL)
        for key in [k for k in self.refusals if k[0] <= cert.number]:
            del self.refusals[key]

    # --- refusals ----------------------------------------------------------------------------------

    def on_refusal_event(self, event: WatchEvent) -> None:
        """A signed refusal appeared: once enough validators refuse an entry, drop it from the log."""
        if event.deleted:
            return
        try:
            height, revision, index = self.layout.refusal_fields(event.kv.key)
        except ValueError:
            return
        if index >= len(self.validators):
            return
        message = refusal_message(self.genesis_hash, height, revision)
        if not verify(self.validators[index].account, message, event.kv.value):
            log.warning("ignoring a refusal of #%d with a bad signature (validator %d)", height, index)
            return
        refusers = self.refusals.setdefault((height, revision), set())
        refusers.add(index)
        key = (height, revision)
        if len(refusers) < blocking_size(len(self.validators)) or key in self._dropping:
            return
        if not self.orderer.refuses_now(height, revision):
            log.warning(
                "%d validators refuse block #%d (log revision %d), but this node does not: not dropping it",
                len(refusers), height, revision,
            )  # fmt: skip
            return
        self._dropping.add(key)
        self._spawn(self._drop(height, revision, len(refusers)))

    async def _drop(self, height: int, revision: int, count: int) -> None:
        try:
            dropped = await self.etcd.delete_if_revision(self.layout.block(height), revision)
        except EtcdError as exc:
            log.warning("could not drop the refused block #%d: %s", height, exc)
            self._dropping.discard((height, revision))
            return
        if dropped:
            log.error(
                "Dropped block #%d (log revision %d) from the log: %d validators refused it",
                height,
                revision,
                count,
            )
