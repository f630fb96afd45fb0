"""A small blocking WebSocket client (RFC 6455, text frames) on the standard library, enough for the
node's JSON-RPC subscriptions: handshake, masked sends, ping/pong, fragments, close, read timeouts."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import ssl
import struct
import time
import urllib.parse

from cmu.client.errors import NodeUnreachable, ProtocolError

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: Messages larger than this are refused (a node's metadata is far smaller).
MAX_MESSAGE = 64 * 1024 * 1024


class ConnectionClosed(NodeUnreachable):
    """The server closed the WebSocket."""


class WebSocket:
    """One client connection; `recv_text` returns whole text (or binary, decoded) messages."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self._buffer = bytearray()
        self._fragments: list[bytes] = []
        self.closed = False
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ProtocolError(f"not a WebSocket url: {url!r}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        self._sock = _connect(parts.hostname, port, parts.scheme == "wss", timeout)
        try:
            self._handshake(parts, port, timeout)
        except BaseException:
            self._sock.close()
            raise

    # --- handshake ---------------------------------------------------------------------------------

    def _handshake(self, parts: urllib.parse.SplitResult, port: int, timeout: float) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self._sendall(request.encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buffer:
            self._fill(deadline)
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        self._buffer = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        if len(lines[0].split()) < 2 or lines[0].split()[1] != "101":
            raise ProtocolError(f"WebSocket upgrade refused by {self.url}: {lines[0]!r}")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        expected = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise ProtocolError("the server's Sec-WebSocket-Accept does not match the key")

    # --- sending -----------------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Send one text message."""
        self._send_frame(OP_TEXT, text.encode())

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        if self.closed:
            raise ConnectionClosed("the WebSocket is closed")
        self._sendall(encode_frame(opcode, payload, mask=os.urandom(4)))

    def _sendall(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self.closed = True
            raise ConnectionClosed(f"WebSocket send failed: {exc}") from exc

    # --- receiving ---------------------------------------------------------------------------------

    def recv_text(self, timeout: float | None = None) -> str:
        """The next message; TimeoutError after `timeout` seconds, ConnectionClosed when the server closes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = decode_frame(self._buffer)
            if frame is None:
                self._fill(deadline)
                continue
            fin, opcode, payload, used = frame
            del self._buffer[:used]
            message = self._on_frame(fin, opcode, payload)
            if message is not None:
                return message

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> str | None:
        if opcode == OP_PING:
            self._send_frame(OP_PONG, payload)
            return None
        if opcode == OP_PONG:
            return None
        if opcode == OP_CLOSE:
            self._close_from_server(payload)
        if opcode not in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            raise ProtocolError(f"unknown WebSocket opcode {opcode}")
        self._fragments.append(payload)
        if sum(len(f) for f in self._fragments) > MAX_MESSAGE:
            raise ProtocolError("WebSocket message too large")
        if not fin:
            return None
        data, self._fragments = b"".join(self._fragments), []
        return data.decode("utf-8", errors="replace")

    def _close_from_server(self, payload: bytes) -> None:
        if not self.closed:
            with contextlib.suppress(NodeUnreachable):
                self._send_frame(OP_CLOSE, payload[:2])
        self.closed = True
        self._sock.close()
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        raise ConnectionClosed(f"the node closed the WebSocket (code {code})")

    def _fill(self, deadline: float | None) -> None:
        if self.closed:
            raise ConnectionClosed("the WebSocket is closed")
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("timed out waiting for the node")
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("timed out waiting for the node") from None
        except OSError as exc:
            self.closed = True
            raise ConnectionClosed(f"WebSocket receive failed: {exc}") from exc
        if not chunk:
            self.closed = True
            raise ConnectionClosed("the node closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        """Send a normal close frame (best effort) and close the socket."""
        if self.closed:
            return
        with contextlib.suppress(NodeUnreachable):
            self._send_frame(OP_CLOSE, struct.pack("!H", 1000))
        self.closed = True
        self._sock.close()


def _connect(host: str, port: int, secure: bool, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise NodeUnreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if secure:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    return sock


def encode_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame; clients must mask (a 4-byte key), servers must not."""
    head = bytearray([0x80 | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head.append(mask_bit | length)
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask is None:
        return bytes(head) + payload
    return bytes(head) + mask + _apply_mask(payload, mask)


def decode_frame(buffer: bytes | bytearray) -> tuple[bool, int, bytes, int] | None:
    """(fin, opcode, unmasked payload, bytes used) of the first whole frame in `buffer`, or None."""
    if len(buffer) < 2:
        return None
    fin, opcode = bool(buffer[0] & 0x80), buffer[0] & 0x0F
    masked, length, offset = bool(buffer[1] & 0x80), buffer[1] & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length, offset = struct.unpack("!H", buffer[2:4])[0], 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
    if length > MAX_MESSAGE:
        raise ProtocolError(f"WebSocket frame of {length} bytes is too large")
    mask = bytes(buffer[offset : offset + 4]) if masked else None
    offset += 4 if masked else 0
    if len(buffer) < offset + length:
        return None
    payload = bytes(buffer[offset : offset + length])
    return fin, opcode, _apply_mask(payload, mask) if mask else payload, offset + length


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")
