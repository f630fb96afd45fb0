"""The RPC port caps open connections of every kind: past --rpc-max-http-connections a new connection
is answered 503 and closed, and the node keeps serving the others."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

from node_harness import NodeProcess

POST = b'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s'


def _connect(url: str) -> socket.socket:
    parts = urlparse(url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=10)


def _health(conn: socket.socket) -> bytes:
    body = b'{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}'
    conn.sendall(POST % (len(body), body))
    return conn.recv(65536)


def _refused(url: str, attempts: int = 20) -> bytes:
    """What the node answers a connection over the limit (it may take a moment to count a close)."""
    answer = b""
    for _ in range(attempts):
        with _connect(url) as extra:
            answer = extra.recv(1024)
        if answer.startswith(b"HTTP/1.1 503"):
            return answer
        time.sleep(0.05)
    return answer


def test_connections_over_the_limit_are_refused_and_the_rest_keep_working() -> None:
    node = NodeProcess("--dev", "--tmp", "--seal", "manual", "--rpc-max-http-connections", "3").start()
    try:
        held = [_connect(node.url) for _ in range(3)]
        assert all(b'"isSyncing"' in _health(conn) for conn in held)
        assert _refused(node.url).startswith(b"HTTP/1.1 503")
        assert b'"isSyncing"' in _health(held[0])  # the open ones still work
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:  # once one closes, a new connection is served
            with _connect(node.url) as fresh:
                answer = _health(fresh)
            if b'"isSyncing"' in answer or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert b'"isSyncing"' in answer
        for conn in held:
            conn.close()
        assert node.stop() == 0
    finally:
        node.close()
