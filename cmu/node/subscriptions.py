"""Subscriptions: new heads, finalized heads and extrinsic status watches, pushed to WebSocket clients.

The hub lives on the event loop thread; the author and validator threads report through `LoopEvents`,
which hops onto the loop. A subscription is *held* until the response carrying its id has been queued,
so a client never sees a notification before it knows the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from typing import Any

from cmu.node.rpc import SERVER_ERROR, Connection, RpcError
from runtime.block import Header

NEW_HEAD = "chain_newHead"
FINALIZED_HEAD = "chain_finalizedHead"
EXTRINSIC_UPDATE = "author_extrinsicUpdate"
TERMINAL_STATUSES = ("finalized", "invalid", "dropped", "usurped")
MAX_PER_CONNECTION = 1024


def header_json(header: Header, block_hash: bytes | None = None) -> dict[str, Any]:
    """A header as the RPC shows it: Header.to_json() plus its hash."""
    body = header.to_json()
    body["hash"] = "0x" + (block_hash or header.hash()).hex()
    return body


def is_terminal(status: Any) -> bool:
    """Whether a transaction status ends its watch."""
    return isinstance(status, dict) and any(k in status for k in TERMINAL_STATUSES)


class Subscription:
    """One client subscription; notifications wait in `held` until `activate`."""

    def __init__(self, sub_id: str, conn: Connection, kind: str, tx_hash: bytes | None = None) -> None:
        self.id = sub_id
        self.conn = conn
        self.kind = kind  # the notification method
        self.tx_hash = tx_hash
        self.held: list[Any] | None = []
        self.closed = False
        #: a view's reshaping of each notification (e.g. Substrate's header shape); None sends it as is
        self.shape: Callable[[Any], Any] | None = None
        #: the notification method when it is not `kind` (e.g. state_storage for a storage watch on heads)
        self.method: str | None = None

    def send(self, result: Any) -> None:
        """Notify the client (or hold the notification until activation)."""
        if self.closed:
            return
        if self.held is not None:
            self.held.append(result)
            return
        self._emit(result)

    def _emit(self, result: Any) -> None:
        if self.shape is not None:
            result = self.shape(result)
            if result is None:
                return
        params = {"subscription": self.id, "result": result}
        self.conn.notify({"jsonrpc": "2.0", "method": self.method or self.kind, "params": params})

    def activate(self) -> None:
        """Release held notifications (even those of a watch that already ended); then send at once."""
        held, self.held = self.held or [], None
        for result in held:
            self._emit(result)


class Hub:
    """Every live subscription, by kind, id, connection and watched extrinsic."""

    def __init__(self, max_per_connection: int = MAX_PER_CONNECTION) -> None:
        self.max_per_connection = max_per_connection
        self._by_kind: dict[str, dict[str, Subscription]] = {NEW_HEAD: {}, FINALIZED_HEAD: {}}
        self._by_id: dict[str, Subscription] = {}
        self._by_conn: dict[int, set[str]] = {}
        self._watches: dict[bytes, list[Subscription]] = {}

    # --- managing (loop thread) ---------------------------------------------------------------------

    def subscribe(self, conn: Connection, kind: str, tx_hash: bytes | None = None) -> Subscription:
        """A new held subscription; activated once the response with its id is queued."""
        if not conn.supports_subscriptions:
            raise RpcError(-32601, "Method not found: subscriptions need a WebSocket connection")
        owned = self._by_conn.setdefault(id(conn), set())
        if len(owned) >= self.max_per_connection:
            message = f"too many subscriptions on this connection (limit {self.max_per_connection})"
            raise RpcError(SERVER_ERROR, message)
        sub = Subscription(secrets.token_hex(8), conn, kind, tx_hash)
        owned.add(sub.id)
        self._by_id[sub.id] = sub
        if tx_hash is None:
            self._by_kind[kind][sub.id] = sub
        else:
            self._watches.setdefault(tx_hash, []).append(sub)
        conn.after_response(sub.activate)
        return sub

    def unsubscribe(self, conn: Connection, kind: str, sub_id: Any) -> bool:
        """End a subscription of this connection; False if there is none with that id and kind."""
        sub = self._by_id.get(sub_id) if isinstance(sub_id, str) else None
        if sub is None or sub.conn is not conn or sub.kind != kind:
            return False
        sub.held = []
        self._remove(sub)
        return True

    def drop_connection(self, conn: Connection) -> None:
        """Forget every subscription of a closed connection."""
        for sub_id in list(self._by_conn.pop(id(conn), ())):
            sub = self._by_id.get(sub_id)
            if sub is not None:
                sub.held = []
                self._remove(sub)

    def _remove(self, sub: Subscription) -> None:
        sub.closed = True
        self._by_id.pop(sub.id, None)
        owned = self._by_conn.get(id(sub.conn))
        if owned is not None:
            owned.discard(sub.id)
        if sub.tx_hash is None:
            self._by_kind[sub.kind].pop(sub.id, None)
            return
        watchers = self._watches.get(sub.tx_hash, [])
        if sub in watchers:
            watchers.remove(sub)
        if not watchers:
            self._watches.pop(sub.tx_hash, None)

    def subscription(self, sub_id: str) -> Subscription | None:
        """A live subscription by id."""
        return self._by_id.get(sub_id)

    def watched(self, tx_hash: bytes) -> bool:
        """Whether anybody watches this extrinsic (a plain dict read: fine from any thread)."""
        return tx_hash in self._watches

    def count(self) -> int:
        """Live subscriptions."""
        return len(self._by_id)

    # --- events (loop thread) -----------------------------------------------------------------------

    def new_head(self, header: dict[str, Any]) -> None:
        """Notify new-head subscribers."""
        for sub in list(self._by_kind[NEW_HEAD].values()):
            sub.send(header)

    def finalized_head(self, header: dict[str, Any]) -> None:
        """Notify finalized-head subscribers."""
        for sub in list(self._by_kind[FINALIZED_HEAD].values()):
            sub.send(header)

    def tx_status(self, tx_hash: bytes, status: Any) -> None:
        """Notify the watchers of one extrinsic; terminal statuses end the watch."""
        for sub in list(self._watches.get(tx_hash, ())):
            sub.send(status)
            if is_terminal(status):
                self._remove(sub)


class LoopEvents:
    """ChainEvents for a running node: hands every report to the hub on the event loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
        self.loop = loop
        self.hub = hub

    def _post(self, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the node is stopping
            self.loop.call_soon_threadsafe(*args)

    def new_head(self, header: Header, block_hash: bytes) -> None:
        """Report a new best block."""
        self._post(self.hub.new_head, header_json(header, block_hash))

    def finalized_head(self, header: Header, block_hash: bytes) -> None:
        """Report a newly finalized block."""
        self._post(self.hub.finalized_head, header_json(header, block_hash))

    def tx_status(self, tx_hash: bytes, status: Any) -> None:
        """Report a status, if anybody watches the extrinsic."""
        if self.hub.watched(tx_hash):
            self._post(self.hub.tx_status, tx_hash, status)
