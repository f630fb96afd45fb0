"""The RPC methods served at `/substrate` in Substrate's shapes: SCALE metadata V14, Substrate storage keys
and SCALE values, hex block numbers with a digest, SCALE extrinsics and events. Every other method
(system_*, author_*, model_*, ...) is the node's own, so one connection serves a Substrate client fully.

The views are built once, on first use, in a worker thread (scalecodec needs a few seconds for the
metadata), and rebuilt never: a runtime upgrade restarts the node.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from cmu.node.rpc import Connection, RpcError, bad_params, method
from cmu.node.rpc_api import NodeApi, hexed, parse_hex
from cmu.node.subscriptions import FINALIZED_HEAD, NEW_HEAD
from cmu.node.substrate.blocks import BlocksView, header_json
from cmu.node.substrate.events import EventsView
from cmu.node.substrate.storage import MAX_KEYS_PAGE, StorageKeyError, StorageView
from runtime import fees
from runtime.dispatch import decode_extrinsic
from runtime.scale.metadata_v14 import ScaleMetadata, scale_metadata
from runtime.storage.overlay import STATE_PREFIX

#: The runtime APIs a Substrate client looks for (blake2_64 of the API name, version).
RUNTIME_APIS = (
    ("0xdf6acb689907609b", 4),  # Core
    ("0x37e397fc7c91f5e4", 1),  # Metadata (1: state_getMetadata only, no metadata_at_version)
    ("0x40fe3ad401f8959a", 6),  # BlockBuilder
    ("0xd2bc9897eed08f15", 3),  # TaggedTransactionQueue
    ("0xbc9d89904f5b923f", 1),  # AccountNonceApi
    ("0x37c8bb1350a9a2a8", 4),  # TransactionPaymentApi
)
STORAGE_KEY_ERROR = 4010


class Views:
    """The metadata and the views over it, built once."""

    def __init__(self, api: NodeApi) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._built: tuple[ScaleMetadata, StorageView, BlocksView, EventsView] | None = None

    def get(self) -> tuple[ScaleMetadata, StorageView, BlocksView, EventsView]:
        """The views (built on the first call)."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def _build(self) -> tuple[ScaleMetadata, StorageView, BlocksView, EventsView]:
        runtime = self.api.runtime
        metadata = scale_metadata(runtime)
        events = EventsView(runtime, metadata)
        return metadata, StorageView(metadata, events.encode), BlocksView(runtime, metadata), events

    async def ready(self) -> tuple[ScaleMetadata, StorageView, BlocksView, EventsView]:
        """The views, built off the event loop when they are not yet."""
        if self._built is not None:
            return self._built
        return await asyncio.to_thread(self.get)


class SubstrateApi:
    """Substrate-shaped answers for the methods whose native answers differ from Substrate's."""

    def __init__(self, api: NodeApi) -> None:
        self.api = api
        self.views = Views(api)

    # --- metadata and versions ----------------------------------------------------------------

    @method("state_getMetadata")
    async def state_get_metadata(self, at: Any = None) -> str:
        """SCALE-encoded metadata V14 ("meta" magic, version 14) as 0x-hex."""
        if at is not None:
            self.api.header_at(at)
        metadata = (await self.views.ready())[0]
        return hexed(metadata.encoded)

    @method("state_getRuntimeVersion")
    def state_get_runtime_version(self, at: Any = None) -> dict[str, Any]:
        """The runtime version with Substrate's fields (apis, authoringVersion, stateVersion)."""
        if at is not None:
            self.api.header_at(at)
        version = self.api.runtime.VERSION
        return {
            **version.to_json(),
            "authoringVersion": 1,
            "apis": [list(api) for api in RUNTIME_APIS],
            "stateVersion": 1,
        }

    @method("chain_getRuntimeVersion")
    def chain_get_runtime_version(self, at: Any = None) -> dict[str, Any]:
        """Alias of state_getRuntimeVersion."""
        return self.state_get_runtime_version(at)

    # --- blocks ----------------------------------------------------------------------------------

    @method("chain_getHeader")
    def chain_get_header(self, hash: Any = None) -> dict[str, Any] | None:
        """A header in Substrate's shape (hex number, digest); null if unknown."""
        if hash is None:
            head = self.api.chaindb.head
            return header_json(head.best, head.best_hash)
        header = self.api.chaindb.header(parse_hex(hash, "block hash", 32))
        return None if header is None else header_json(header)

    @method("chain_getBlock")
    async def chain_get_block(self, hash: Any = None) -> dict[str, Any] | None:
        """A block with SCALE extrinsics; null if unknown."""
        chaindb = self.api.chaindb
        block_hash = chaindb.head.best_hash if hash is None else parse_hex(hash, "block hash", 32)
        block = chaindb.block(block_hash)
        if block is None:
            return None
        blocks = (await self.views.ready())[2]
        return blocks.block_json(block, block_hash)

    # --- storage ---------------------------------------------------------------------------------

    def _raw(self, node_key: bytes, at: Any) -> bytes | None:
        chaindb = self.api.chaindb
        if at is None:
            return chaindb.latest_state(node_key)
        return chaindb.state_at(node_key, self.api.header_at(at)[1].number)

    def _read(self, storage: StorageView, key: bytes, at: Any) -> str | None:
        try:
            entry, node_key = storage.node_key(key)
        except StorageKeyError:
            return None  # Substrate answers null for a key nothing is stored under
        value = storage.value(entry, self._raw(node_key, at))
        return None if value is None else hexed(value)

    @method("state_getStorage")
    async def state_get_storage(self, key: Any, at: Any = None) -> str | None:
        """The SCALE value under a Substrate storage key; null if absent."""
        state_key = parse_hex(key, "storage key")
        storage = (await self.views.ready())[1]
        return self._read(storage, state_key, at)

    @method("state_getStorageAt")
    async def state_get_storage_at(self, key: Any, at: Any = None) -> str | None:
        """Alias of state_getStorage."""
        return await self.state_get_storage(key, at)

    @method("state_queryStorageAt")
    async def state_query_storage_at(self, keys: Any, at: Any = None) -> list[dict[str, Any]]:
        """The values of several keys at one block: [{"block", "changes": [[key, value|null], ...]}]."""
        if not isinstance(keys, list) or len(keys) > MAX_KEYS_PAGE:
            raise bad_params(f"keys must be an array of at most {MAX_KEYS_PAGE} hex strings")
        state_keys = [parse_hex(k, "storage key") for k in keys]
        block_hash, _ = self.api.header_at(at)
        storage = (await self.views.ready())[1]
        changes = [[hexed(k), self._read(storage, k, hexed(block_hash))] for k in state_keys]
        return [{"block": hexed(block_hash), "changes": changes}]

    @method("state_getKeysPaged")
    async def state_get_keys_paged(
        self, prefix: Any, count: Any, start_key: Any = None, at: Any = None
    ) -> list[str]:
        """Up to `count` Substrate keys under `prefix` (at least a whole item prefix), after `start_key`."""
        raw_prefix = parse_hex(prefix, "key prefix")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_KEYS_PAGE:
            raise bad_params(f"count must be an integer in 0..{MAX_KEYS_PAGE}")
        start = None if start_key is None else parse_hex(start_key, "start key")
        if at is not None:
            self.api.header_at(at)
        storage = (await self.views.ready())[1]
        try:
            keys = storage.keys(raw_prefix, self._scan)
        except StorageKeyError as exc:
            if len(raw_prefix) < 32:
                raise RpcError(
                    STORAGE_KEY_ERROR, f"StorageKeyError: {exc} (give a whole item prefix)"
                ) from exc
            return []
        after = [k for k in keys if start is None or k > start]
        return [hexed(k) for k in after[:count]]

    def _scan(self, node_prefix: bytes) -> Iterator[bytes]:
        backend = self.api.chaindb.backend
        for key, _ in backend.iterate(STATE_PREFIX + node_prefix):
            yield key[len(STATE_PREFIX) :]

    # --- subscriptions ---------------------------------------------------------------------------

    def _heads(self, conn: Connection, kind: str, final: bool) -> str:
        sub = self.api.hub.subscribe(conn, kind)
        sub.shape = substrate_header
        head = self.api.chaindb.head
        sub.send(
            header_json(head.final if final else head.best, head.final_hash if final else head.best_hash)
        )
        return sub.id

    @method("chain_subscribeNewHeads", connection=True)
    def chain_subscribe_new_heads(self, conn: Connection) -> str:
        """chain_newHead notifications in Substrate's header shape, from the current best header."""
        return self._heads(conn, NEW_HEAD, final=False)

    @method("chain_subscribeNewHead", connection=True)
    def chain_subscribe_new_head(self, conn: Connection) -> str:
        """The singular name @polkadot/api calls."""
        return self._heads(conn, NEW_HEAD, final=False)

    @method("chain_unsubscribeNewHead", connection=True)
    def chain_unsubscribe_new_head(self, conn: Connection, subscription: Any) -> bool:
        """End a new-head subscription."""
        return self.api.hub.unsubscribe(conn, NEW_HEAD, subscription)

    @method("chain_subscribeFinalizedHeads", connection=True)
    def chain_subscribe_finalized_heads(self, conn: Connection) -> str:
        """chain_finalizedHead notifications in Substrate's header shape."""
        return self._heads(conn, FINALIZED_HEAD, final=True)

    @method("chain_subscribeFinalisedHeads", connection=True)
    def chain_subscribe_finalised_heads(self, conn: Connection) -> str:
        """The British spelling older clients call."""
        return self._heads(conn, FINALIZED_HEAD, final=True)

    @method("state_subscribeStorage", connection=True)
    async def state_subscribe_storage(self, conn: Connection, keys: Any = None) -> str:
        """state_storage notifications: the keys' values now, then those that changed at each new block."""
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS_PAGE:
            raise bad_params(f"keys must be a non-empty array of at most {MAX_KEYS_PAGE} hex strings")
        state_keys = [parse_hex(k, "storage key") for k in keys]
        storage = (await self.views.ready())[1]
        sub = self.api.hub.subscribe(conn, NEW_HEAD)
        sub.method = "state_storage"
        last: dict[bytes, str | None] = {}

        def changes(header: dict[str, Any]) -> dict[str, Any] | None:
            now = {k: self._read(storage, k, header["hash"]) for k in state_keys}
            changed = [[hexed(k), v] for k, v in now.items() if k not in last or last[k] != v]
            first = not last
            last.update(now)
            return {"block": header["hash"], "changes": changed} if changed or first else None

        sub.shape = changes
        head = self.api.chaindb.head
        sub.send(header_json(head.best, head.best_hash))
        return sub.id

    @method("state_unsubscribeStorage", connection=True)
    def state_unsubscribe_storage(self, conn: Connection, subscription: Any) -> bool:
        """End a storage subscription."""
        return self.api.hub.unsubscribe(conn, NEW_HEAD, subscription)

    @method("state_subscribeRuntimeVersion", connection=True)
    def state_subscribe_runtime_version(self, conn: Connection) -> str:
        """state_runtimeVersion: the version now (it changes only with a restart on an upgraded runtime)."""
        sub = self.api.hub.subscribe(conn, NEW_HEAD)
        sub.method = "state_runtimeVersion"
        sent: list[bool] = []

        def once(_header: Any) -> dict[str, Any] | None:
            if sent:
                return None
            sent.append(True)
            return self.state_get_runtime_version()

        sub.shape = once
        sub.send(None)
        return sub.id

    @method("state_unsubscribeRuntimeVersion", connection=True)
    def state_unsubscribe_runtime_version(self, conn: Connection, subscription: Any) -> bool:
        """End a runtime-version subscription."""
        return self.api.hub.unsubscribe(conn, NEW_HEAD, subscription)

    @method("payment_queryInfo")
    def payment_query_info(self, extrinsic: Any, at: Any = None) -> dict[str, Any]:
        """The weight, class and fee (without tip) an extrinsic (native or format v4) would be charged."""
        data = parse_hex(extrinsic, "extrinsic")
        if at is not None:
            self.api.header_at(at)
        runtime = self.api.runtime
        xt = decode_extrinsic(runtime, data)
        weight = runtime.fees.extrinsic_base_weight + xt.call.weight()
        fee = fees.fee_for(runtime.fees, xt.length, weight, 0)
        return {"weight": {"ref_time": weight, "proof_size": 0}, "class": "normal", "partialFee": str(fee)}

    @method("author_submitAndWatchExtrinsic", connection=True)
    async def author_submit_and_watch_extrinsic(self, conn: Connection, extrinsic: Any) -> str:
        """Submit and follow an extrinsic with Substrate's status stream (ready, inBlock, finalized)."""
        sub_id = await self.api.author_submit_and_watch_extrinsic(conn, extrinsic)
        sub = self.api.hub.subscription(sub_id)
        if sub is not None:
            sub.shape = transaction_status
        return sub_id


def substrate_header(header: dict[str, Any]) -> dict[str, Any]:
    """A native header notification in Substrate's shape (hex number, digest)."""
    number = header["number"]
    return {**header, "number": hex(number) if isinstance(number, int) else number, "digest": {"logs": []}}


def transaction_status(status: Any) -> Any:
    """A native transaction status as Substrate's TransactionStatus JSON (one key, or a bare string)."""
    if isinstance(status, dict):
        for key in ("inBlock", "finalized", "invalid", "dropped", "usurped", "future", "ready"):
            if key in status:
                value = status[key]
                return {key: value} if isinstance(value, str) else key
    return status
