"""The network side of a node started with --etcd: wires the orderer, finality and gossip around the
node's chain, pool and author, reads the log, then runs the etcd watches until the node stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from cmu.node.author import Author, ChainEvents
from cmu.node.chaindb import ChainDb
from cmu.node.finality import FinalityCertificate
from cmu.node.importer import BlockImporter
from cmu.node.keys import KeyFileError, read_validator_key_file
from cmu.node.metrics import Metrics
from cmu.node.network.etcd import EtcdClient, EtcdError, WatchEvent, prefix_end
from cmu.node.network.gossip import TxGossip
from cmu.node.network.layout import HEIGHT_DIGITS
from cmu.node.network.orderer import Identity, NetworkParams, Orderer
from cmu.node.network.quorum import Quorum
from cmu.node.pool import TransactionPool
from cmu.node.validator import Validator as PoolValidator
from runtime.block import Header
from runtime.executive import Runtime
from runtime.validators import Validator, ValidatorKeys

log = logging.getLogger("cmu.network")


class NetworkError(Exception):
    """The network cannot be joined (bad key file, a validator not in the spec, etcd unreachable)."""


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The --etcd, --validator and timing flags."""

    etcd: tuple[str, ...]
    key_file: Path | None = None
    params: NetworkParams = dataclasses.field(default_factory=NetworkParams)
    fault_bad_state_root: bool = False
    fault_lose_first_vote: bool = False


def load_identity(key_file: Path, validators: tuple[Validator, ...]) -> Identity:
    """This node's keys and index in the spec's validator list (NetworkError otherwise)."""
    try:
        keys: ValidatorKeys = read_validator_key_file(key_file)
    except KeyFileError as exc:
        raise NetworkError(f"--key-file: {exc}") from exc
    for index, member in enumerate(validators):
        if member.account == keys.account:
            if member.bls_public_key != keys.bls_public_key():
                raise NetworkError(f"--key-file: the BLS key is not validator {member.name!r}'s in the spec")
            return Identity(index, keys)
    raise NetworkError(
        f"--key-file: {keys.name!r} (0x{bytes(keys.account).hex()}) is not a validator of the spec"
    )


@dataclasses.dataclass
class NetworkNode:
    """The node's parts the network drives (its chain, pool, author) and the finality bookkeeping."""

    runtime: Runtime
    chaindb: ChainDb
    importer: BlockImporter
    author: Author | None
    pool: TransactionPool
    validator: PoolValidator
    events: ChainEvents
    metrics: Metrics
    unfinalized: list[tuple[int, bytes, list[bytes]]] = dataclasses.field(default_factory=list)

    def track_unfinalized(self, header: Header, tx_hashes: list[bytes]) -> None:
        """Remember an imported block's transactions until a certificate finalizes it (network thread)."""
        if tx_hashes:
            self.unfinalized.append((header.number, header.hash(), tx_hashes))

    def finalize(self, cert: FinalityCertificate) -> None:
        """Store a verified certificate of a block executed here and finalize it (network thread)."""
        old = self.chaindb.head.final.number
        head = self.chaindb.finalize_with_certificate(cert)
        if head.final.number <= old:
            return
        self.metrics.finalized_height.set(head.final.number)
        if self.author is not None:
            self.author.report_finalized(head.final, head.final_hash)
        else:
            self.events.finalized_head(head.final, head.final_hash)
        keep = []
        for number, block_hash, tx_hashes in self.unfinalized:
            if number > head.final.number:
                keep.append((number, block_hash, tx_hashes))
                continue
            status = {"finalized": "0x" + block_hash.hex()}
            for tx_hash in tx_hashes:
                self.events.tx_status(tx_hash, status)
        self.unfinalized = keep


class NetworkService:
    """The etcd-facing tasks of one node."""

    def __init__(
        self,
        config: NetworkConfig,
        node: NetworkNode,
        validators: tuple[Validator, ...],
        identity: Identity | None,
    ) -> None:
        self.config = config
        self.node = node
        self.etcd = EtcdClient(config.etcd)
        self.orderer = Orderer(
            node=node,
            etcd=self.etcd,
            members=validators,
            identity=identity,
            params=config.params,
            fault_bad_state_root=config.fault_bad_state_root,
        )
        self.quorum = Quorum(
            orderer=self.orderer,
            etcd=self.etcd,
            validators=validators,
            identity=identity,
            fault_lose_first_vote=config.fault_lose_first_vote,
        )
        self.layout = self.orderer.layout
        self.gossip = TxGossip(self.etcd, self.layout, receive=identity is not None)
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Agree on the network parameters, read the log and start following it."""
        try:
            await self._check_params()
            revision = await self.orderer.load()
            first = self.node.chaindb.head.final.number + 1  # what is final here needs no votes
            await self._replay(self.layout.votes, first, revision, self.quorum.on_vote_event)
            await self._replay(self.layout.refusals, first, revision, self.quorum.on_refusal_event)
        except EtcdError as exc:
            raise NetworkError(f"etcd: {exc}") from exc
        self.node.pool.on_ready = self.orderer.wake_threadsafe
        if self.gossip.receive:
            self.orderer.on_included = self.gossip.forget
            self.orderer.on_turn_near = self.gossip.turn_near
        self._spawn(self.orderer.run(), "orderer")
        self._spawn(self._follow(self.layout.blocks, revision + 1, self.orderer.on_block_event), "blocks")
        self._spawn(self._follow(self.layout.votes, revision + 1, self.quorum.on_vote_event), "votes")
        self._spawn(
            self._follow(self.layout.refusals, revision + 1, self.quorum.on_refusal_event), "refusals"
        )
        self._spawn(self.gossip.run_sender(), "gossip-out")
        if self.orderer.identity is not None:
            self._spawn(self.quorum.resend_votes(), "vote-resend")
        if self.gossip.receive:
            self._spawn(self.gossip.run_receiver(revision + 1), "gossip-in")
        role = "validator " + str(self.orderer.identity.index) if self.orderer.identity else "follower"
        log.info("Joined the network through etcd %s as %s", ",".join(self.config.etcd), role)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(self._crashed)
        self._tasks.append(task)

    def _crashed(self, task: asyncio.Task[Any]) -> None:
        """A network task died of a bug: stop ordering (loudly) rather than go on half-working."""
        if task.cancelled() or task.exception() is None:
            return
        log.critical("network task %s crashed", task.get_name(), exc_info=task.exception())
        self.orderer.halt(f"the {task.get_name()} task crashed: {task.exception()!r}")

    async def _check_params(self) -> None:
        """The first node writes the shared timings; a node with other timings refuses to join."""
        mine = json.dumps(self.config.params.to_json(), sort_keys=True).encode()
        created, existing = await self.etcd.create(self.layout.config, mine)
        if not created and existing is not None and json.loads(existing.value) != json.loads(mine):
            raise NetworkError(
                f"this network runs with {existing.value.decode()}; start the node with the same "
                f"--turn-timeout-ms (it has {mine.decode()})"
            )

    async def _replay(
        self, prefix: bytes, first: int, revision: int, handler: Callable[[WatchEvent], None]
    ) -> None:
        """Hand `handler` every key under `prefix` from height `first` on, as of `revision`."""
        start = prefix + str(first).zfill(HEIGHT_DIGITS).encode()
        kvs, _ = await self.etcd.range(start, prefix_end(prefix), revision=revision)
        for kv in kvs:
            handler(WatchEvent(kv, deleted=False))

    async def _follow(self, prefix: bytes, start: int, handler: Callable[[WatchEvent], None]) -> None:
        async for event in self.etcd.watch(prefix, start):
            handler(event)

    async def stop(self) -> None:
        """Cancel the tasks, let the network thread finish its block, close the client."""
        await self.quorum.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.get_running_loop().run_in_executor(None, self.orderer.stop)
        await self.etcd.close()


__all__ = ["NetworkConfig", "NetworkError", "NetworkNode", "NetworkService", "load_identity"]
