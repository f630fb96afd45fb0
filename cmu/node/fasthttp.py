"""The RPC port's fast path: plain `POST /` JSON-RPC requests on HTTP/1.1 keep-alive, read and answered
without aiohttp's request machinery; anything else is handed to aiohttp with the bytes received so far.

Slow clients are cut off here: a request's head must arrive within the head time-out of its first byte
and its body within the body time-out (else 408 and close), an idle keep-alive connection closes after
the idle time-out, and a body over the limit is answered 413 from its head and then dropped unread.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import __version__ as _AIOHTTP_VERSION

from cmu.node.rpc import INVALID_REQUEST, RpcError

if TYPE_CHECKING:
    from cmu.node.server import RpcServer

log = logging.getLogger("cmu.rpc")
AFTER_RESPONSE: contextvars.ContextVar[list[Callable[[], None]]] = contextvars.ContextVar("after_response")
TOO_MANY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def after_response(action: Callable[[], None]) -> None:
    actions = AFTER_RESPONSE.get(None)
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
        after_response(action)


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


class FastHttp(asyncio.Protocol):
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
        self.peer = ""
        self._phase = ""  # what the timer waits for: idle, head, body, linger ("" while answering)
        self._discarding = 0  # bytes of a refused body still to drop
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            transport.close()
            return
        self.peer = peer_host(transport)
        refusal = self._server.refusal(self.peer)
        if refusal is not None:
            log.warning("refusing a connection from %s: %s", self.peer, refusal)
            transport.write(TOO_MANY)
            transport.close()
            return
        self._transport = transport
        self._server.fast_connections.add(self)
        self._wait_for("idle")

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.fast_connections.discard(self)
        self._closing = True
        self._transport = None
        self._stop_timer()

    def _wait_for(self, phase: str) -> None:
        """Start the time-out of `phase` (idle, head or body) unless it is already running."""
        if phase == self._phase:
            return
        self._stop_timer()
        self._phase = phase
        limits = self._server.limits
        timeouts = {"idle": limits.idle_timeout_s, "head": limits.header_timeout_s}
        seconds = timeouts.get(phase, limits.body_timeout_s)
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _stop_timer(self) -> None:
        self._phase = ""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """The client took too long: close (an unfinished request is answered 408 first)."""
        self._timer = None
        transport = self._transport
        if transport is None:
            return
        if self._phase not in ("idle", "linger"):
            log.info("closing a connection from %s: its request %s took too long", self.peer, self._phase)
            transport.write(_TIMED_OUT)
        self._closing = True
        transport.close()

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._next()

    def data_received(self, data: bytes) -> None:
        if self._discarding > 0:  # the rest of a refused body
            self._discarding -= len(data)
            if self._discarding <= 0 and self._transport is not None:
                self._transport.close()
            return
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
            self._wait_for("idle")
            return
        end = buffer.find(_HEAD_END, 0, _MAX_HEAD + 4)
        if end < 0:
            if len(buffer) > _MAX_HEAD or not buffer.startswith(b"POST / HTTP/1.1\r\n"[: len(buffer)]):
                self._hand_over()
            else:
                self._wait_for("head")
            return
        parsed = self._parse_head(bytes(buffer[:end]))
        if parsed is None:
            self._hand_over()
            return
        length, keep_alive = parsed
        start = end + 4
        if length > self._server.limits.max_body:
            self._refuse_body(length, len(buffer) - start)
            return
        if len(buffer) < start + length:
            self._wait_for("body")
            return
        body = bytes(buffer[start : start + length])
        del buffer[: start + length]
        self._stop_timer()
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
        if length is None:
            return None
        return length, keep_alive

    def _refuse_body(self, length: int, received: int) -> None:
        """Answer 413 with a JSON-RPC error at once; then drop the body as it comes (for at most the body
        time-out) and close, so that a client still sending it can read the answer."""
        transport = self._transport
        if transport is None:
            return
        self._buffer = bytearray()
        self._closing = True  # no further request on this connection
        error = body_too_large(length, self._server.limits.max_body)
        transport.write(_response(b"413 Payload Too Large", b"application/json; charset=utf-8", error, False))
        self._discarding = length - received
        if self._discarding <= 0:
            transport.close()
        else:
            self._wait_for("linger")

    def _hand_over(self) -> None:
        """Give the connection, and what it sent so far, to aiohttp."""
        transport = self._transport
        if transport is None:
            return
        self._server.fast_connections.discard(self)
        self._stop_timer()
        self._server.watch_handed(transport)
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
        AFTER_RESPONSE.set(actions)
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
        transport.write(_response(status, content_type, body, keep_alive))
        if keep_alive:
            self._next()
        else:
            self._closing = True
            transport.close()


def _response(status: bytes, content_type: bytes | None, body: bytes, keep_alive: bool) -> bytes:
    head = [b"HTTP/1.1 ", status, b"\r\n"]
    if content_type is not None:
        head += [b"Content-Type: ", content_type, b"\r\nContent-Length: ", b"%d" % len(body), b"\r\n"]
    head += [b"Date: ", _Date.now(), b"\r\nServer: ", _SERVER_HEADER, b"\r\n"]
    if not keep_alive:
        head.append(b"Connection: close\r\n")
    head += [b"\r\n", body]
    return b"".join(head)


def peer_host(transport: asyncio.BaseTransport) -> str:
    """The client address of a connection ("" when unknown)."""
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


def body_too_large(length: int, limit: int) -> bytes:
    """The JSON-RPC error answered to a body over the limit."""
    message = f"Invalid request: body of {length} bytes exceeds the limit of {limit} bytes"
    return _dumps_bytes({"jsonrpc": "2.0", "id": None, "error": RpcError(INVALID_REQUEST, message).to_json()})


def _dumps_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _consume(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()
