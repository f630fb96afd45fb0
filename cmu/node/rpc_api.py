"""The node's JSON-RPC methods (docs/rpc.md is their reference): system_, chain_, state_, author_, engine_.

Reads go to committed data only: the chain database, the runtime state as last committed and the
per-block state-change index for `at` queries; never to a block being built.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from typing import Any

from scalecodec.utils.ss58 import ss58_decode

from cmu.node.author import MAX_WARP_S, Author, AuthorError
from cmu.node.chaindb import ChainDb
from cmu.node.events import events_json
from cmu.node.pool import TransactionPool
from cmu.node.rpc import SERVER_ERROR, Connection, RpcError, bad_params, method
from cmu.node.subscriptions import EXTRINSIC_UPDATE, FINALIZED_HEAD, NEW_HEAD, Hub, header_json
from cmu.node.validator import Accepted, Outcome, Validator
from runtime.block import Block, Header
from runtime.crypto import blake2_256, parse_address
from runtime.executive import TRIE_PREFIX, Runtime
from runtime.genesis import ChainSpec
from runtime.trie import StateTrie
from runtime.types import AccountId

MAX_PROOF_KEYS = 1024
DEV_ONLY = -32001
"""The error code of a dev-only method (dev_warp) called on a node that is not a --dev node."""


def node_version() -> str:
    """The installed distribution's version."""
    try:
        return importlib.metadata.version("cmu-chain")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0-dev"


# --- parameter parsing ------------------------------------------------------------------------------


def parse_hex(value: Any, what: str, length: int | None = None) -> bytes:
    """0x-prefixed hex -> bytes (-32602 otherwise)."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise bad_params(f"{what} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise bad_params(f"{what} is not valid hex") from exc
    if length is not None and len(raw) != length:
        raise bad_params(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def parse_number(value: Any, what: str) -> int:
    """A non-negative JSON integer (-32602 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_params(f"{what} must be a non-negative integer")
    return value


def parse_bool(value: Any, what: str) -> bool:
    """A JSON boolean (-32602 otherwise)."""
    if not isinstance(value, bool):
        raise bad_params(f"{what} must be true or false")
    return value


def parse_account(value: Any) -> AccountId:
    """An account id: 0x + 64 hex digits, an SS58 address (as Substrate's clients send) or a dev name."""
    if not isinstance(value, str):
        raise bad_params("account must be a 0x-prefixed hex string or an SS58 address")
    try:
        return parse_address(value)
    except ValueError as exc:
        ss58 = _ss58_account(value)
        if ss58 is None:
            raise bad_params(str(exc)) from exc
        return ss58


def _ss58_account(text: str) -> AccountId | None:
    """The 32-byte account of an SS58 address (any network prefix), or None when `text` is not one."""
    if text.strip().lower().startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(ss58_decode(text.strip()))
    except (ValueError, TypeError, IndexError):
        return None
    return AccountId(raw) if len(raw) == 32 else None


def hexed(data: bytes) -> str:
    """0x-hex."""
    return "0x" + data.hex()


# --- submissions ------------------------------------------------------------------------------------


class Submitter:
    """The event loop's side of the validator: one future per submission, resolved in chunks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, validator: Validator) -> None:
        self.loop = loop
        self.validator = validator

    def submit(self, data: bytes) -> asyncio.Future[Outcome]:
        """Queue a submission for validation."""
        future: asyncio.Future[Outcome] = self.loop.create_future()
        self.validator.enqueue(data, future)
        return future

    def deliver(self, outcomes: list[tuple[Any, Outcome]]) -> None:
        """Called by the validator thread with a chunk of outcomes."""
        self.loop.call_soon_threadsafe(_resolve, outcomes)


def _resolve(outcomes: list[tuple[Any, Outcome]]) -> None:
    for future, outcome in outcomes:
        if not future.done():
            future.set_result(outcome)


# --- the methods ------------------------------------------------------------------------------------


class NodeApi:
    """Every RPC method of the node."""

    def __init__(
        self,
        *,
        spec: ChainSpec,
        runtime: Runtime,
        chaindb: ChainDb,
        pool: TransactionPool,
        submitter: Submitter,
        hub: Hub,
        author: Author | None,
        dev_chain: bool = False,
    ) -> None:
        self.spec = spec
        self.runtime = runtime  # the read-only validation runtime: metadata, event types, nonces
        self.chaindb = chaindb
        self.pool = pool
        self.submitter = submitter
        self.hub = hub
        self.author = author
        self.dev_chain = dev_chain  # a --dev node: a Development chain authored here (dev_warp allowed)
        self.method_names: list[str] = []
        self._trie = StateTrie(chaindb.backend, TRIE_PREFIX, cache_nodes=20_000)
        self._metadata: dict[str, Any] | None = None
        self._events_key = runtime.system.events.storage_key

    # --- system ------------------------------------------------------------------------------------

    @method("system_health")
    def system_health(self) -> dict[str, Any]:
        """Peers and sync state (a dev node has no peers)."""
        return {"peers": 0, "isSyncing": False, "shouldHavePeers": False}

    @method("system_chain")
    def system_chain(self) -> str:
        """The chain's name."""
        return self.spec.name

    @method("system_name")
    def system_name(self) -> str:
        """The node implementation's name."""
        return "cmu-node"

    @method("system_version")
    def system_version(self) -> str:
        """The node's version."""
        return node_version()

    @method("system_properties")
    def system_properties(self) -> dict[str, Any]:
        """The chain spec's properties (token symbol, decimals)."""
        return dict(self.spec.properties)

    @method("system_accountNextIndex")
    def system_account_next_index(self, account: Any) -> int:
        """The nonce for the account's next transaction, counting its ready pooled ones."""
        who = parse_account(account)
        return self.pool.next_nonce(who, self.submitter.validator.account_nonce(who))

    @method("rpc_methods")
    def rpc_methods(self) -> dict[str, Any]:
        """The methods this server answers."""
        return {"methods": self.method_names}

    # --- chain -------------------------------------------------------------------------------------

    def header_at(self, at: Any) -> tuple[bytes, Header]:
        """The block named by an optional hash parameter (the best block when None)."""
        if at is None:
            head = self.chaindb.head
            return head.best_hash, head.best
        block_hash = parse_hex(at, "block hash", 32)
        header = self.chaindb.header(block_hash)
        if header is None:
            raise bad_params(f"unknown block {at}")
        return block_hash, header

    @method("chain_getHeader")
    def chain_get_header(self, hash: Any = None) -> dict[str, Any] | None:
        """A block's header (the best block's by default); null if unknown."""
        if hash is None:
            head = self.chaindb.head
            return header_json(head.best, head.best_hash)
        header = self.chaindb.header(parse_hex(hash, "block hash", 32))
        return None if header is None else header_json(header)

    @method("chain_getBlock")
    def chain_get_block(self, hash: Any = None) -> dict[str, Any] | None:
        """A whole block; null if unknown."""
        block_hash = self.chaindb.head.best_hash if hash is None else parse_hex(hash, "block hash", 32)
        block = self.chaindb.block(block_hash)
        return None if block is None else {"block": block_json(block, block_hash)}

    @method("chain_getBlockHash")
    def chain_get_block_hash(self, number: Any = None) -> str | None:
        """The hash of best-chain block `number` (the best block by default); null if none."""
        if number is None:
            return hexed(self.chaindb.head.best_hash)
        found = self.chaindb.hash_at(parse_number(number, "block number"))
        return None if found is None else hexed(found)

    @method("chain_getFinalizedHead")
    def chain_get_finalized_head(self) -> str:
        """The hash of the last finalized block."""
        return hexed(self.chaindb.head.final_hash)

    @method("chain_getFinalityCertificate")
    def chain_get_finality_certificate(self, hash: Any = None) -> dict[str, Any] | None:
        """The stored finality certificate of a block (default: the finalized head), or null."""
        block_hash = self.chaindb.head.final_hash if hash is None else parse_hex(hash, "block hash", 32)
        cert = self.chaindb.certificate_for(block_hash)
        return None if cert is None else cert.to_json()

    @method("chain_getEvents")
    def chain_get_events(self, hash: Any = None) -> list[dict[str, Any]]:
        """The events a block emitted, decoded."""
        _, header = self.header_at(hash)
        raw = self.chaindb.state_at(self._events_key, header.number)
        return events_json(self.runtime, raw)

    @method("chain_subscribeNewHeads", connection=True)
    def chain_subscribe_new_heads(self, conn: Connection) -> str:
        """Notifications chain_newHead, starting with the current best header."""
        sub = self.hub.subscribe(conn, NEW_HEAD)
        head = self.chaindb.head
        sub.send(header_json(head.best, head.best_hash))
        return sub.id

    @method("chain_unsubscribeNewHeads", connection=True)
    def chain_unsubscribe_new_heads(self, conn: Connection, subscription: Any) -> bool:
        """End a new-heads subscription."""
        return self.hub.unsubscribe(conn, NEW_HEAD, subscription)

    @method("chain_subscribeFinalizedHeads", connection=True)
    def chain_subscribe_finalized_heads(self, conn: Connection) -> str:
        """Notifications chain_finalizedHead, starting with the current finalized header."""
        sub = self.hub.subscribe(conn, FINALIZED_HEAD)
        head = self.chaindb.head
        sub.send(header_json(head.final, head.final_hash))
        return sub.id

    @method("chain_unsubscribeFinalizedHeads", connection=True)
    def chain_unsubscribe_finalized_heads(self, conn: Connection, subscription: Any) -> bool:
        """End a finalized-heads subscription."""
        return self.hub.unsubscribe(conn, FINALIZED_HEAD, subscription)

    # --- state -------------------------------------------------------------------------------------

    @method("state_getStorage")
    def state_get_storage(self, key: Any, at: Any = None) -> str | None:
        """A raw state value (0x-hex) at the best or a given block; null if absent."""
        state_key = parse_hex(key, "storage key")
        if at is None:
            value = self.chaindb.latest_state(state_key)
        else:
            value = self.chaindb.state_at(state_key, self.header_at(at)[1].number)
        return None if value is None else hexed(value)

    @method("state_getMetadata")
    def state_get_metadata(self, at: Any = None) -> dict[str, Any]:
        """The runtime metadata."""
        if at is not None:
            self.header_at(at)
        if self._metadata is None:
            self._metadata = self.runtime.metadata()
        return self._metadata

    @method("state_getRuntimeVersion")
    def state_get_runtime_version(self, at: Any = None) -> dict[str, Any]:
        """The runtime version."""
        if at is not None:
            self.header_at(at)
        return self.runtime.VERSION.to_json()

    @method("state_getReadProof")
    def state_get_read_proof(self, keys: Any, at: Any = None) -> dict[str, Any]:
        """A proof of the values of `keys` against the state root of the best or a given block."""
        if not isinstance(keys, list) or len(keys) > MAX_PROOF_KEYS:
            raise bad_params(f"keys must be an array of at most {MAX_PROOF_KEYS} hex strings")
        state_keys = [parse_hex(k, "storage key") for k in keys]
        block_hash, header = self.header_at(at)
        values = self.chaindb.state_getter(header.number)
        proof = self._trie.prove(state_keys, root=header.state_root, values=values)
        return {"at": hexed(block_hash), "proof": [hexed(node) for node in proof]}

    # --- author ------------------------------------------------------------------------------------

    async def _submit(self, extrinsic: Any) -> bytes:
        data = parse_hex(extrinsic, "extrinsic")
        outcome = await self.submitter.submit(data)
        if isinstance(outcome, Accepted):
            return outcome.hash
        raise outcome.error

    @method("author_submitExtrinsic")
    async def author_submit_extrinsic(self, extrinsic: Any) -> str:
        """Validate and pool a signed extrinsic; its hash."""
        return hexed(await self._submit(extrinsic))

    @method("author_submitAndWatchExtrinsic", connection=True)
    async def author_submit_and_watch_extrinsic(self, conn: Connection, extrinsic: Any) -> str:
        """Submit and follow an extrinsic with author_extrinsicUpdate notifications."""
        data = parse_hex(extrinsic, "extrinsic")
        sub = self.hub.subscribe(conn, EXTRINSIC_UPDATE, blake2_256(data))
        try:
            await self._submit(extrinsic)
        except BaseException:
            self.hub.unsubscribe(conn, EXTRINSIC_UPDATE, sub.id)
            raise
        return sub.id

    @method("author_unwatchExtrinsic", connection=True)
    def author_unwatch_extrinsic(self, conn: Connection, subscription: Any) -> bool:
        """Stop following an extrinsic."""
        return self.hub.unsubscribe(conn, EXTRINSIC_UPDATE, subscription)

    @method("author_pendingExtrinsics")
    def author_pending_extrinsics(self) -> list[str]:
        """The pooled extrinsics, ready ones first in block order."""
        return [hexed(tx.data) for tx in self.pool.pending()]

    # --- engine (unsafe) ---------------------------------------------------------------------------

    def _author(self) -> Author:
        if self.author is None:
            raise RpcError(SERVER_ERROR, "this node does not author blocks")
        return self.author

    @method("engine_createBlock", unsafe=True)
    async def engine_create_block(self, createEmpty: Any = True, finalize: Any = True) -> dict[str, Any]:
        """Author a block now: {"hash", "number"}."""
        future = self._author().request_block(
            parse_bool(createEmpty, "createEmpty"), parse_bool(finalize, "finalize")
        )
        try:
            block = await asyncio.wrap_future(future)
        except AuthorError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        return {"hash": hexed(block.hash), "number": block.number}

    @method("engine_finalizeBlock", unsafe=True)
    async def engine_finalize_block(self, hash: Any) -> bool:
        """Finalize a best-chain block at or above the finalized one."""
        future = self._author().request_finalize(parse_hex(hash, "block hash", 32))
        try:
            await asyncio.wrap_future(future)
        except AuthorError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        return True


    # --- dev (unsafe, dev chains only) --------------------------------------------------------------

    @method("dev_warp", unsafe=True)
    async def dev_warp(self, seconds: Any) -> dict[str, Any]:
        """Move a dev chain's block clock `seconds` forward and author a block at once:
        {"offsetMs", "number", "hash", "timestamp"}."""
        if not self.dev_chain or self.author is None:
            raise RpcError(
                DEV_ONLY, "dev_warp is only available on a --dev chain", {"error": "NotDevChain"}
            )
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_WARP_S:
            raise bad_params(f"seconds must be an integer in 1..{MAX_WARP_S} (ten years)")
        author = self.author
        try:
            block = await asyncio.wrap_future(author.request_warp(seconds))
        except AuthorError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        return {
            "offsetMs": author.clock_offset_ms,
            "number": block.number,
            "hash": hexed(block.hash),
            "timestamp": block.timestamp,
        }


def block_json(block: Block, block_hash: bytes | None = None) -> dict[str, Any]:
    """{"header", "extrinsics", "seal"} as the RPC shows a block."""
    return {
        "header": header_json(block.header, block_hash),
        "extrinsics": [hexed(x) for x in block.extrinsics],
        "seal": hexed(block.seal),
    }
