"""The JSON-RPC transport: HTTP POST and WebSocket on one port (aiohttp), plus the metrics endpoint.

Limits: request body / WebSocket message size, batch size (in the dispatcher), open WebSocket
connections, requests in flight and queued notifications per connection (a client that does not read
is disconnected). CORS is off (a request carrying an Origin header is refused) unless origins are given.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import email.utils
import ipaddress
import json
import logging
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp import __version__ as _AIOHTTP_VERSION
from prometheus_client import CONTENT_TYPE_LATEST

from service.metrics import Metrics
from service.rpc import INVALID_REQUEST, Dispatcher, RpcError
from service.subscriptions import Hub

log = logging.getLogger("cmu.rpc")
_AFTER: contextvars.ContextVar[list[Callable[[], None]]] = contextvars.ContextVar("after_response")
_HEALTH = {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
SUBSTRATE_PATH = "/substrate"
_TOO_MANY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclasses.dataclass(frozen=True)
class RpcLimits:
    """Transport limits."""

    max_body: int = 10 * 1024 * 1024
    max_ws_connections: int = 100
    max_http_connections: int = 1_000
    max_in_flight: int = 512
    max_queued: int = 20_000


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


def _after_response(action: Callable[[], None]) -> None:
    actions = _AFTER.get(None)
    if actions is None:
        action()
    else:
        actions.append(action)


class HttpConnection:
    """One HTTP request: no subscriptions."""

    supports_subscriptions = False

    def notify(self, message: dict[str, Any]) -> None:
        """HTTP cannot push."""

    def after_response(self, action: Callable[[], None]) -> None:
        """Run after the response is built."""
        _after_response(action)


class WsConnection:
    """One WebSocket client: responses and notifications go through one bounded queue and a writer task."""

    supports_subscriptions = True

    def __init__(self, ws: web.WebSocketResponse, limits: RpcLimits) -> None:
        self.ws = ws
        self.limits = limits
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.in_flight = asyncio.Semaphore(limits.max_in_flight)
        self.overflowed = False
        self._closing: asyncio.Future[bool] | None = None

    def notify(self, message: dict[str, Any]) -> None:
        """Queue a notification."""
        self.enqueue(json.dumps(message, separators=(",", ":")))

    def after_response(self, action: Callable[[], None]) -> None:
        """Run once the response to the current message is queued."""
        _after_response(action)

    def enqueue(self, text: str) -> None:
        """Queue a message; a client too far behind is disconnected."""
        if self.overflowed:
            return
        if self.queue.qsize() >= self.limits.max_queued:
            self.overflowed = True
            log.warning("closing a WebSocket client that does not read its messages")
            self._closing = asyncio.ensure_future(
                self.ws.close(code=1008, message=b"too many queued messages")
            )
            return
        self.queue.put_nowait(text)

    async def writer(self) -> None:
        """Send queued messages in order until closed."""
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


_SERVER_HEADER = f"Python/{sys.version_info[0]}.{sys.version_info[1]} aiohttp/{_AIOHTTP_VERSION}".encode()
_MAX_HEAD = 8190
_HEAD_END = b"\r\n\r\n"
# a request carrying any of these is left to aiohttp (WebSocket, CORS, chunked bodies, 100-continue...)
_LEAVE_TO_AIOHTTP = frozenset(
    (b"origin", b"upgrade", b"transfer-encoding", b"expect", b"content-encoding", b"trailer")
)


class _Date:
    """The Date header value, formatted once a second."""

    second = -1
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.value = second, email.utils.formatdate(second, usegmt=True).encode()
        return cls.value


class _FastHttp(asyncio.Protocol):
    """Plain `POST /` JSON-RPC requests on HTTP/1.1 keep-alive, answered without aiohttp's request
    machinery. At the first request it does not take (another method or path, an Upgrade, an Origin, a
    chunked or oversized body, anything unusual), the connection is handed to aiohttp for good, with the
    bytes received so far, so every other behaviour is aiohttp's own."""

    def __init__(self, server: RpcServer, fallback: Callable[[], asyncio.Protocol]) -> None:
        self._server = server
        self._fallback = fallback
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False
        self._paused_writing = False
        self._paused_reading = False
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            transport.close()
            return
        if self._server.open_connections() >= self._server.limits.max_http_connections:
            log.warning("refusing a connection: %d are open", self._server.open_connections())
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._transport = transport
        self._server._fast.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._fast.discard(self)
        self._closing = True
        self._transport = None

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._next()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._busy or self._paused_writing:
            limit = self._server.limits.max_body + 2 * _MAX_HEAD
            if len(self._buffer) > limit and not self._paused_reading and self._transport is not None:
                self._paused_reading = True
                self._transport.pause_reading()
            return
        self._next()

    def close(self) -> None:
        """Close the connection (the node is stopping)."""
        if self._transport is not None:
            self._transport.close()

    def _next(self) -> None:
        """Start on the next complete request in the buffer, if any."""
        if self._busy or self._paused_writing or self._closing or self._transport is None:
            return
        if self._paused_reading:
            self._paused_reading = False
            self._transport.resume_reading()
        buffer = self._buffer
        if not buffer:
            return
        end = buffer.find(_HEAD_END, 0, _MAX_HEAD + 4)
        if end < 0:
            if len(buffer) > _MAX_HEAD or not buffer.startswith(b"POST / HTTP/1.1\r\n"[: len(buffer)]):
                self._hand_over()
            return
        parsed = self._parse_head(bytes(buffer[:end]))
        if parsed is None:
            self._hand_over()
            return
        length, keep_alive = parsed
        start = end + 4
        if len(buffer) < start + length:
            return
        body = bytes(buffer[start : start + length])
        del buffer[: start + length]
        self._busy = True
        task = asyncio.ensure_future(self._serve(body, keep_alive))
        task.add_done_callback(_consume)

    def _parse_head(self, head: bytes) -> tuple[int, bool] | None:
        """(Content-Length, keep-alive) of a plain `POST / HTTP/1.1`, or None to leave it to aiohttp."""
        lines = head.split(b"\r\n")
        if lines[0] != b"POST / HTTP/1.1":
            return None
        length: int | None = None
        keep_alive = True
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or not name.isascii() or b" " in name:
                return None
            key = name.lower()
            if key == b"content-length":
                value = value.strip()
                if length is not None or not value.isdigit() or len(value) > 12:
                    return None
                length = int(value)
            elif key == b"connection":
                token = value.strip().lower()
                if token == b"close":
                    keep_alive = False
                elif token != b"keep-alive":
                    return None
            elif key in _LEAVE_TO_AIOHTTP:
                return None
        if length is None or length > self._server.limits.max_body:
            return None
        return length, keep_alive

    def _hand_over(self) -> None:
        """Give the connection, and what it sent so far, to aiohttp."""
        transport = self._transport
        if transport is None:
            return
        self._server._fast.discard(self)
        self._transport = None
        self._closing = True
        data, self._buffer = bytes(self._buffer), bytearray()
        protocol = self._fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._paused_reading:
            transport.resume_reading()
        if self._paused_writing:
            protocol.pause_writing()
        if data:
            protocol.data_received(data)

    async def _serve(self, body: bytes, keep_alive: bool) -> None:
        actions: list[Callable[[], None]] = []
        _AFTER.set(actions)
        try:
            text = await self._server.dispatcher.handle(body, HttpConnection())
            for action in actions:
                action()
        except Exception:
            log.exception("error answering an HTTP request")
            self._respond(
                b"500 Internal Server Error",
                b"text/plain; charset=utf-8",
                b"500 Internal Server Error\n\nServer got itself in trouble",
                False,
            )
            return
        finally:
            self._busy = False
        if text is None:
            self._respond(b"204 No Content", None, b"", keep_alive)
        else:
            self._respond(b"200 OK", b"application/json; charset=utf-8", text.encode(), keep_alive)

    def _respond(self, status: bytes, content_type: bytes | None, body: bytes, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        head = [b"HTTP/1.1 ", status, b"\r\n"]
        if content_type is not None:
            head += [b"Content-Type: ", content_type, b"\r\nContent-Length: ", b"%d" % len(body), b"\r\n"]
        head += [b"Date: ", _Date.now(), b"\r\nServer: ", _SERVER_HEADER, b"\r\n"]
        if not keep_alive:
            head.append(b"Connection: close\r\n")
        head += [b"\r\n", body]
        transport.write(b"".join(head))
        if keep_alive:
            self._next()
        else:
            self._closing = True
            transport.close()


def _consume(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()


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
        substrate: Dispatcher | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        #: the dispatcher of `/substrate`: Substrate-shaped answers for Substrate's own clients
        self.substrate = substrate
        self.hub = hub
        self.metrics = metrics
        self.limits = limits or RpcLimits()
        self.cors = cors
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._fast: set[_FastHttp] = set()

    def open_connections(self) -> int:
        """Connections open now: on the fast path plus those handed to aiohttp (WebSockets among them)."""
        handed = len(self._runner.server.connections) if self._runner and self._runner.server else 0
        return len(self._fast) + handed

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=self.limits.max_body)
        app.router.add_post("/", self.handle_http)
        app.router.add_get("/", self.handle_get)
        app.router.add_get("/health", self.handle_health)
        app.router.add_route("OPTIONS", "/", self.handle_preflight)
        if self.substrate is not None:
            app.router.add_post(SUBSTRATE_PATH, self.handle_http)
            app.router.add_get(SUBSTRATE_PATH, self.handle_get)
            app.router.add_route("OPTIONS", SUBSTRATE_PATH, self.handle_preflight)
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
        self._listener = await loop.create_server(lambda: _FastHttp(self, fallback), sock=sock, backlog=128)

    async def stop(self) -> None:
        """Close every WebSocket and stop serving."""
        if self._listener is not None:
            self._listener.close()
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"node stopping")
        for conn in list(self._fast):
            conn.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._listener is not None:
            await self._listener.wait_closed()

    # --- CORS ------------------------------------------------------------------------------------

    def _cors_headers(self, request: web.Request) -> dict[str, str]:
        """CORS response headers; HTTPForbidden for an Origin that is not allowed."""
        origin = request.headers.get("Origin")
        if origin is None:
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
        return web.json_response({"error": "send JSON-RPC with POST, or open a WebSocket"}, status=405)

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /: one JSON-RPC payload."""
        headers = self._cors_headers(request)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = RpcError(INVALID_REQUEST, f"Invalid request: body exceeds {self.limits.max_body} bytes")
            payload = {"jsonrpc": "2.0", "id": None, "error": error.to_json()}
            return web.json_response(payload, status=413, headers=headers)
        actions: list[Callable[[], None]] = []
        token = _AFTER.set(actions)
        try:
            text = await self._dispatcher_for(request).handle(body, HttpConnection())
        finally:
            _AFTER.reset(token)
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
        ws = web.WebSocketResponse(max_msg_size=self.limits.max_body)
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
        _AFTER.set(actions)
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
