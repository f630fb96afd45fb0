"""The JSON-RPC transport: HTTP POST and WebSocket on one port (aiohttp), plus the metrics endpoint.

Limits (`RpcLimits`, set by --rpc-* flags, see docs/node.md): request body and WebSocket message size,
JSON depth and batch length (in the dispatcher), open connections in total, per client address and over
WebSocket, subscriptions per connection, time to send a request's head and its body (slow clients are
cut off), idle keep-alive time, requests in flight and queued messages (count and bytes) per WebSocket
connection (a client that does not read is disconnected, so memory stays bounded). CORS is off (a request
carrying an Origin header is refused) unless origins are given. Plain POSTs take the fast path of
cmu/node/fasthttp.py; everything else is aiohttp's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST

from cmu.node.fasthttp import AFTER_RESPONSE, FastHttp, HttpConnection, after_response, peer_host
from cmu.node.metrics import Metrics
from cmu.node.rpc import INVALID_REQUEST, Dispatcher, RpcError
from cmu.node.subscriptions import Hub

log = logging.getLogger("cmu.rpc")
_HEALTH = {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
SUBSTRATE_PATH = "/substrate"


@dataclasses.dataclass(frozen=True)
class RpcLimits:
    """Transport limits (the defaults are the flags' defaults)."""

    max_body: int = 10 * 1024 * 1024  # bytes of an HTTP request body
    max_ws_message: int = 10 * 1024 * 1024  # bytes of one WebSocket message (frames reassembled)
    max_depth: int = 64  # JSON nesting
    max_batch: int = 1_000  # calls in one batch
    max_ws_connections: int = 100
    max_http_connections: int = 1_000  # connections of any kind
    max_per_address: int = 64  # connections of any kind from one client address
    max_subscriptions: int = 1_024  # per WebSocket connection
    header_timeout_s: float = 10.0  # from a request's first byte to the end of its head
    body_timeout_s: float = 30.0  # from the end of the head to the end of the body
    idle_timeout_s: float = 75.0  # a keep-alive connection with no request in progress
    max_in_flight: int = 512  # requests of one WebSocket connection being answered
    max_queued: int = 20_000  # messages waiting to be sent on one WebSocket connection
    max_queued_bytes: int = 64 * 1024 * 1024  # bytes waiting to be sent on one WebSocket connection


def is_local_origin(origin: str) -> bool:
    """Whether an Origin header names this machine (http(s)://localhost or a loopback address, any port)."""
    try:
        parts = urllib.parse.urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https", "ws", "wss") and host is not None and is_loopback(host)


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on the local machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _same_origin(request: web.Request, origin: str) -> bool:
    """A request from a page this server served (the dashboard), on a loopback or IP-literal host (a
    DNS name could be rebound to this node by another site, so it needs --rpc-cors)."""
    host = request.host.rsplit(":", 1)[0].strip("[]")
    if origin != f"http://{request.host}":
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


class WsConnection:
    """One WebSocket client: responses and notifications go through one bounded queue and a writer task."""

    supports_subscriptions = True

    def __init__(self, ws: web.WebSocketResponse, limits: RpcLimits) -> None:
        self.ws = ws
        self.limits = limits
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.in_flight = asyncio.Semaphore(limits.max_in_flight)
        self.overflowed = False
        self.queued_bytes = 0
        self._closing: asyncio.Future[bool] | None = None

    def notify(self, message: dict[str, Any]) -> None:
        """Queue a notification."""
        self.enqueue(json.dumps(message, separators=(",", ":")))

    def after_response(self, action: Callable[[], None]) -> None:
        """Run once the response to the current message is queued."""
        after_response(action)

    def enqueue(self, text: str) -> None:
        """Queue a message; a client too far behind is disconnected."""
        if self.overflowed:
            return
        too_many = self.queue.qsize() >= self.limits.max_queued
        if too_many or self.queued_bytes + len(text) > self.limits.max_queued_bytes:
            self.overflowed = True
            log.warning("closing a WebSocket client that does not read its messages")
            self._closing = asyncio.ensure_future(
                self.ws.close(code=1008, message=b"too many queued messages")
            )
            return
        self.queued_bytes += len(text)
        self.queue.put_nowait(text)

    async def writer(self) -> None:
        """Send queued messages in order until closed."""
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            self.queued_bytes -= len(text)
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class RpcServer:
    """The aiohttp application serving JSON-RPC over HTTP and WebSocket."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        hub: Hub,
        metrics: Metrics,
        *,
        limits: RpcLimits | None = None,
        cors: tuple[str, ...] | None = None,
        dashboard: Any = None,
        substrate: Dispatcher | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.dashboard = dashboard  # a service.dashboard.web.Dashboard, or None (--no-dashboard)
        #: the dispatcher of `/substrate`: Substrate-shaped answers for Substrate's own clients
        self.substrate = substrate
        self.hub = hub
        self.metrics = metrics
        self.limits = limits or RpcLimits()
        self.cors = cors
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self.fast_connections: set[FastHttp] = set()
        self._awaiting_head: set[asyncio.BaseTransport] = set()

    def _handed(self) -> list[Any]:
        """aiohttp's request handlers: the connections handed over (WebSockets among them)."""
        return list(self._runner.server.connections) if self._runner and self._runner.server else []

    def open_connections(self) -> int:
        """Connections open now: on the fast path plus those handed to aiohttp (WebSockets among them)."""
        return len(self.fast_connections) + len(self._handed())

    def refusal(self, peer: str) -> str | None:
        """Why a new connection from `peer` is refused (too many open in total or from it), or None."""
        total = self.open_connections()
        if total >= self.limits.max_http_connections:
            return f"{total} connections are open (--rpc-max-http-connections)"
        from_peer = sum(1 for c in self.fast_connections if c.peer == peer)
        from_peer += sum(1 for h in self._handed() if h.transport and peer_host(h.transport) == peer)
        if from_peer >= self.limits.max_per_address:
            return f"{from_peer} connections are open from it (--rpc-max-connections-per-ip)"
        return None

    def watch_handed(self, transport: asyncio.BaseTransport) -> None:
        """Close a connection handed to aiohttp unless its request's head arrives within the time-out."""
        self._awaiting_head.add(transport)
        asyncio.get_running_loop().call_later(self.limits.header_timeout_s, self._expire_handed, transport)

    def _expire_handed(self, transport: asyncio.BaseTransport) -> None:
        if transport in self._awaiting_head:
            self._awaiting_head.discard(transport)
            if not transport.is_closing():
                log.info("closing a connection from %s: its request head took too long", peer_host(transport))
                transport.close()

    @web.middleware
    async def _one_request(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        """aiohttp serves one request per connection (a WebSocket is one): the head has arrived, so its
        time-out stops; the connection closes after the response, so no later request escapes it."""
        if request.transport is not None:
            self._awaiting_head.discard(request.transport)
        response: web.StreamResponse = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            response.force_close()
        return response

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=self.limits.max_body, middlewares=[self._one_request])
        app.router.add_post("/", self.handle_http)
        app.router.add_get("/", self.handle_get)
        app.router.add_get("/health", self.handle_health)
        app.router.add_route("OPTIONS", "/", self.handle_preflight)
        if self.substrate is not None:
            app.router.add_post(SUBSTRATE_PATH, self.handle_http)
            app.router.add_get(SUBSTRATE_PATH, self.handle_get)
            app.router.add_route("OPTIONS", SUBSTRATE_PATH, self.handle_preflight)
        if self.dashboard is not None:
            self.dashboard.add_routes(app.router)
        return app

    def _dispatcher_for(self, request: web.Request) -> Dispatcher:
        """The Substrate-shaped dispatcher for `/substrate`, the node's own elsewhere."""
        if request.path == SUBSTRATE_PATH and self.substrate is not None:
            return self.substrate
        return self.dispatcher

    async def start(self, sock: socket.socket) -> None:
        """Serve on a bound socket: plain POSTs on the fast path, everything else through aiohttp."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        fallback = self._runner.server
        if fallback is None:
            raise RuntimeError("aiohttp's AppRunner.setup() did not create a server")
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(lambda: FastHttp(self, fallback), sock=sock, backlog=128)

    async def stop(self) -> None:
        """Close every WebSocket and stop serving."""
        if self._listener is not None:
            self._listener.close()
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"node stopping")
        for conn in list(self.fast_connections):
            conn.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._listener is not None:
            await self._listener.wait_closed()

    # --- CORS ------------------------------------------------------------------------------------

    def _cors_headers(self, request: web.Request) -> dict[str, str]:
        """CORS response headers; HTTPForbidden for an Origin that is not allowed."""
        origin = request.headers.get("Origin")
        if origin is None or (self.dashboard is not None and _same_origin(request, origin)):
            return {}
        if self.cors is None and is_local_origin(origin):
            pass  # a page or tool on this machine, as Substrate nodes accept by default
        elif self.cors is None or not ("all" in self.cors or "*" in self.cors or origin in self.cors):
            raise web.HTTPForbidden(text=f"origin {origin} is not allowed (see --rpc-cors)")
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Vary": "Origin",
        }

    async def handle_preflight(self, request: web.Request) -> web.Response:
        """A CORS preflight."""
        return web.Response(status=204, headers=self._cors_headers(request))

    # --- HTTP ------------------------------------------------------------------------------------

    async def handle_health(self, request: web.Request) -> web.Response:
        """GET /health: the system_health answer."""
        return web.json_response(_HEALTH)

    async def handle_get(self, request: web.Request) -> web.StreamResponse:
        """GET /: a WebSocket upgrade, or a hint."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.handle_ws(request)
        if self.dashboard is not None:
            response: web.StreamResponse = await self.dashboard.index(request)
            return response
        return web.json_response({"error": "send JSON-RPC with POST, or open a WebSocket"}, status=405)

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /: one JSON-RPC payload."""
        headers = self._cors_headers(request)
        try:
            body = await asyncio.wait_for(request.read(), self.limits.body_timeout_s)
        except web.HTTPRequestEntityTooLarge:
            error = RpcError(INVALID_REQUEST, f"Invalid request: body exceeds {self.limits.max_body} bytes")
            payload = {"jsonrpc": "2.0", "id": None, "error": error.to_json()}
            return web.json_response(payload, status=413, headers=headers)
        except TimeoutError:
            return web.Response(status=408, text="request body took too long", headers=headers)
        actions: list[Callable[[], None]] = []
        token = AFTER_RESPONSE.set(actions)
        try:
            text = await self._dispatcher_for(request).handle(body, HttpConnection())
        finally:
            AFTER_RESPONSE.reset(token)
        for action in actions:
            action()
        if text is None:
            return web.Response(status=204, headers=headers)
        return web.Response(text=text, content_type="application/json", headers=headers)

    # --- WebSocket -------------------------------------------------------------------------------

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        """A WebSocket client: requests in, responses and notifications out."""
        headers = self._cors_headers(request)
        if len(self._sockets) >= self.limits.max_ws_connections:
            return web.json_response({"error": "too many WebSocket connections"}, status=503)
        ws = web.WebSocketResponse(max_msg_size=self.limits.max_ws_message)
        ws.headers.update(headers)
        await ws.prepare(request)
        conn = WsConnection(ws, self.limits)
        dispatcher = self._dispatcher_for(request)
        self._sockets.add(ws)
        self.metrics.rpc_connections.set(len(self._sockets))
        writer = asyncio.create_task(conn.writer())
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for message in ws:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                await conn.in_flight.acquire()
                task = asyncio.create_task(self._serve_message(dispatcher, conn, message.data))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            self._sockets.discard(ws)
            self.metrics.rpc_connections.set(len(self._sockets))
            self.hub.drop_connection(conn)
            for task in list(tasks):
                task.cancel()
            conn.queue.put_nowait(None)
            await writer
        return ws

    async def _serve_message(self, dispatcher: Dispatcher, conn: WsConnection, payload: str | bytes) -> None:
        actions: list[Callable[[], None]] = []
        AFTER_RESPONSE.set(actions)
        try:
            text = await dispatcher.handle(payload, conn)
            if text is not None:
                conn.enqueue(text)
            for action in actions:
                action()
        finally:
            conn.in_flight.release()


class MetricsServer:
    """GET /metrics in the Prometheus text format, on its own port."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        """The current metrics."""
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, sock: socket.socket) -> None:
        """Serve on a bound socket."""
        app = web.Application()
        app.router.add_get("/metrics", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
