"""JSON-RPC 2.0 to a node: `Client` over HTTP (one keep-alive connection, batches) and `Subscription`
over a WebSocket on the same port (chain_subscribeNewHeads, author_submitAndWatchExtrinsic, ...)."""

from __future__ import annotations

import collections
import http.client
import itertools
import json
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any

from cmu.client.errors import NodeUnreachable, ProtocolError, RpcError
from cmu.client.ws import WebSocket
from runtime.boundedjson import loads_bounded

DEFAULT_URL = "http://127.0.0.1:9944"
#: Answers nesting deeper than this are refused unparsed (a hostile node must not crash its clients).
RESPONSE_MAX_DEPTH = 256
#: The unsubscribe method of each subscribe method, and the notification method it sends.
SUBSCRIPTIONS: dict[str, tuple[str, str]] = {
    "chain_subscribeNewHeads": ("chain_unsubscribeNewHeads", "chain_newHead"),
    "chain_subscribeFinalizedHeads": ("chain_unsubscribeFinalizedHeads", "chain_finalizedHead"),
    "author_submitAndWatchExtrinsic": ("author_unwatchExtrinsic", "author_extrinsicUpdate"),
}

Params = Sequence[Any] | dict[str, Any] | None


def ws_url(url: str) -> str:
    """The WebSocket address of a node's HTTP address (same host and port): http -> ws, https -> wss."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def _result(response: Any) -> Any:
    if not isinstance(response, dict) or response.get("jsonrpc") != "2.0":
        raise ProtocolError(f"not a JSON-RPC 2.0 response: {str(response)[:200]}")
    if "error" in response and response["error"] is not None:
        raise RpcError.from_json(response["error"])
    if "result" not in response:
        raise ProtocolError("a JSON-RPC response without result or error")
    return response["result"]


class Client:
    """A node's JSON-RPC over HTTP: `request` one method, `batch` several in one round trip."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProtocolError(f"not an http(s) node url: {url!r}")
        self.url = urllib.parse.urlunsplit(parts)
        self.timeout = timeout
        self._parts = parts
        self._path = parts.path or "/"
        self._ids = itertools.count(1)
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the keep-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- requests --------------------------------------------------------------------------------

    def request(self, method: str, params: Params = None) -> Any:
        """Call one method; raises RpcError (TransactionRejected for code 1010) on a JSON-RPC error."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": _params(params)}
        return _result(self._post(body))

    def batch(self, calls: Sequence[tuple[str, Params]], *, return_exceptions: bool = False) -> list[Any]:
        """Call several methods in one HTTP request; results in order. With `return_exceptions`, a
        failed call's entry is its RpcError instead of raising the first one."""
        if not calls:
            return []
        bodies = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": _params(p)} for m, p in calls
        ]
        answers = self._post(bodies)
        if not isinstance(answers, list):
            _result(answers)  # a single error object answers a malformed batch
            raise ProtocolError("a batch request was not answered with an array")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        results: list[Any] = []
        for body in bodies:
            try:
                results.append(_result(by_id.get(body["id"])))
            except RpcError as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results

    def _post(self, body: Any) -> Any:
        data = json.dumps(body).encode()
        reused = self._conn is not None
        try:
            return self._exchange(data)
        except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
            self.close()
            if not reused:
                raise NodeUnreachable(f"cannot reach the node at {self.url}") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NodeUnreachable(f"cannot reach the node at {self.url}: {exc}") from exc
        try:  # a kept-alive connection the server had closed: one fresh attempt
            return self._exchange(data)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NodeUnreachable(f"cannot reach the node at {self.url}: {exc}") from exc

    def _exchange(self, data: bytes) -> Any:
        conn = self._connection()
        conn.request("POST", self._path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        if response.getheader("connection", "").lower() == "close":
            self.close()
        try:
            return loads_bounded(payload, RESPONSE_MAX_DEPTH, max_bytes=None)
        except ValueError:
            raise ProtocolError(
                f"HTTP {response.status} from {self.url} is not JSON: {payload[:200]!r}"
            ) from None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            host, port = self._parts.hostname or "", self._parts.port
            kind = (
                http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
            )
            self._conn = kind(host, port, timeout=self.timeout)
        return self._conn

    # --- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, method: str, params: Params = None, *, timeout: float | None = None) -> Subscription:
        """Open a WebSocket on the node's port and subscribe; iterate the result for notifications."""
        socket = WsRpc(ws_url(self.url), timeout=self.timeout if timeout is None else timeout)
        try:
            return socket.subscribe(method, params)
        except BaseException:
            socket.close()
            raise


def _params(params: Params) -> Any:
    if params is None:
        return []
    return params if isinstance(params, dict) else list(params)


class WsRpc:
    """JSON-RPC over one WebSocket: requests and the subscriptions' notifications."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._ws = WebSocket(url, timeout=timeout)
        self._ids = itertools.count(1)
        self._pending: collections.deque[dict[str, Any]] = collections.deque()

    def request(self, method: str, params: Params = None, *, timeout: float | None = None) -> Any:
        """Call a method and wait for its answer, keeping notifications that arrive meanwhile."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": _params(params)}
        self._ws.send_text(json.dumps(body))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            message = self._receive(deadline - time.monotonic())
            if message.get("id") == request_id and "method" not in message:
                return _result(message)
            if "method" in message:
                self._pending.append(message)

    def subscribe(self, method: str, params: Params = None) -> Subscription:
        """Subscribe with `method`; the subscription reads its notifications from this socket."""
        unsubscribe, notification = SUBSCRIPTIONS.get(method, ("", ""))
        subscription_id = self.request(method, params)
        return Subscription(self, subscription_id, notification, unsubscribe)

    def notification(self, subscription_id: Any, timeout: float | None) -> Any:
        """The next notification's result for `subscription_id` (TimeoutError after `timeout` s)."""
        for message in list(self._pending):
            if _subscription_of(message) == subscription_id:
                self._pending.remove(message)
                return message["params"]["result"]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            message = self._receive(remaining)
            if _subscription_of(message) == subscription_id:
                return message["params"]["result"]
            if "method" in message:
                self._pending.append(message)

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        if timeout is not None and timeout <= 0:
            raise TimeoutError("timed out waiting for the node")
        text = self._ws.recv_text(timeout)
        try:
            message = loads_bounded(text, RESPONSE_MAX_DEPTH, max_bytes=None)
        except ValueError:
            raise ProtocolError(f"a WebSocket message that is not JSON: {text[:200]!r}") from None
        if not isinstance(message, dict):
            raise ProtocolError(f"unexpected WebSocket message: {text[:200]!r}")
        return message

    def close(self) -> None:
        """Close the socket."""
        self._ws.close()


def _subscription_of(message: dict[str, Any]) -> Any:
    params = message.get("params")
    if "method" not in message or not isinstance(params, dict) or "result" not in params:
        return None
    return params.get("subscription")


class Subscription:
    """A live subscription: `next(timeout)` or iterate; `close()` unsubscribes and closes the socket."""

    def __init__(self, rpc: WsRpc, subscription_id: Any, notification: str, unsubscribe: str) -> None:
        self.rpc = rpc
        self.id = subscription_id
        self.notification = notification
        self.unsubscribe_method = unsubscribe

    def next(self, timeout: float | None = None) -> Any:
        """The next notification's result; TimeoutError when none comes within `timeout` seconds."""
        return self.rpc.notification(self.id, timeout)

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield self.next()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unsubscribe (best effort) and close the WebSocket."""
        try:
            if self.unsubscribe_method and not self.rpc._ws.closed:
                self.rpc.request(self.unsubscribe_method, [self.id], timeout=2.0)
        except (RpcError, TimeoutError, NodeUnreachable, ProtocolError):
            pass
        finally:
            self.rpc.close()
