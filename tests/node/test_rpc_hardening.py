"""No request takes the node down: hostile bodies over HTTP and WebSocket are refused with errors that name
the limit, and after each one the same node process still answers `system_health` within 5 s.

One node serves every test of this module (started once, with short time-outs and small per-client
limits so the slow-client and flooding cases finish fast); a second, bound to 0.0.0.0, shows the unsafe
methods refused off loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest
from node_harness import NodeProcess, RpcCallError, WsClient

HEALTH_WITHIN_S = 5.0
DEPTHS = (10**5, 10**6)


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    process = NodeProcess(
        "--dev",
        "--tmp",
        "--seal",
        "manual",
        "--rpc-methods",
        "safe",
        "--rpc-header-timeout",
        "1",
        "--rpc-body-timeout",
        "1",
        "--rpc-max-connections-per-ip",
        "16",
        "--rpc-max-ws-queue-bytes",
        "1000000",
        "--rpc-max-subscriptions-per-connection",
        "4",
    ).start()
    try:
        yield process
        assert process.proc is not None and process.proc.poll() is None, "the node died"
        assert process.stop() == 0
    finally:
        process.close()


def assert_healthy(node: NodeProcess) -> None:
    """The node process is alive and answers system_health within 5 s."""
    assert node.proc is not None and node.proc.poll() is None, f"node exited: {node.proc.returncode}"
    started = time.monotonic()
    status, answer = node.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_health"}), timeout=5)
    assert status == 200 and answer["result"]["isSyncing"] is False
    assert time.monotonic() - started < HEALTH_WITHIN_S


def deep_json(depth: int) -> bytes:
    return b'{"jsonrpc":"2.0","id":1,"method":"system_health","params":' + b"[" * depth + b"]" * depth + b"}"


def _address(node: NodeProcess) -> tuple[str, int]:
    parts = urlparse(node.url)
    return parts.hostname or "127.0.0.1", parts.port or 0


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_json_over_http_is_refused_naming_the_limit(node: NodeProcess, depth: int) -> None:
    status, answer = node.post(deep_json(depth))
    assert status == 200
    assert answer["error"]["code"] == -32600
    assert "JSON nesting deeper than 64 levels" in answer["error"]["message"]
    unclosed = b"[" * depth  # never closed: a parser would recurse before finding the end
    assert node.post(unclosed)[1]["error"]["code"] == -32600
    assert_healthy(node)


async def _ws_exchange(url: str, payloads: list[bytes | str]) -> list[Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, max_msg_size=64 * 1024 * 1024) as ws,
    ):
        answers = []
        for payload in payloads:
            await ws.send_str(payload.decode() if isinstance(payload, bytes) else payload)
            message = await asyncio.wait_for(ws.receive(), 30)
            answers.append(json.loads(message.data))
        return answers


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_json_over_websocket_is_refused_and_the_socket_stays_open(node: NodeProcess, depth: int) -> None:
    health = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "system_health"})
    refused, healthy = asyncio.run(_ws_exchange(node.ws_url, [deep_json(depth), health]))
    assert refused["error"]["code"] == -32600 and "nesting deeper than 64" in refused["error"]["message"]
    assert healthy["result"]["isSyncing"] is False
    assert_healthy(node)


@pytest.mark.parametrize("depth", [40, 1_025, 10**5])
def test_deeply_nested_extrinsic_is_refused_with_a_typed_error(node: NodeProcess, depth: int) -> None:
    encoded = b"\x91" * depth + b"\xc0"  # msgpack: `depth` one-element arrays around nil
    with pytest.raises(RpcCallError) as refused:
        node.rpc("author_submitExtrinsic", "0x" + encoded.hex())
    error = refused.value.error
    assert error["code"] == 1010
    assert (
        error["data"]["error"] == "BadFormat" and "nested deeper than 32 levels" in error["data"]["message"]
    )
    assert_healthy(node)


def test_a_64_mib_body_is_refused_unread(node: NodeProcess) -> None:
    size = 64 * 1024 * 1024
    head = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    )
    with socket.create_connection(_address(node), timeout=10) as conn:
        conn.sendall(head)
        answer = conn.recv(65536)  # answered from the head alone
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"exceeds the limit of 10485760 bytes" in answer and b'"code":-32600' in answer
        chunk = b"[" * (1024 * 1024)
        try:
            for _ in range(64):  # a client that sends the body anyway: dropped as it comes, then closed
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the node closed after its linger time-out
    assert_healthy(node)


def test_a_batch_of_100000_calls_is_refused_naming_the_limit(node: NodeProcess) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "system_health"}
    status, answer = node.post(json.dumps([call] * 100_000))
    assert status == 200
    assert answer["error"]["code"] == -32600
    assert "batch of 100000 exceeds the limit of 1000" in answer["error"]["message"]
    assert_healthy(node)


def test_a_client_that_sends_its_head_slowly_is_cut_off(node: NodeProcess) -> None:
    with socket.create_connection(_address(node), timeout=10) as slow:
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        started = time.monotonic()
        answer = slow.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408")
        assert slow.recv(1024) == b""  # closed
        assert time.monotonic() - started < 5
    with socket.create_connection(_address(node), timeout=10) as slow_body:
        slow_body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[1,")
        assert slow_body.recv(1024).startswith(b"HTTP/1.1 408")
    with socket.create_connection(_address(node), timeout=10) as handed:
        handed.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # left to aiohttp, which must time out too
        assert handed.recv(1024) == b""
    assert_healthy(node)


def test_connections_per_client_address_are_limited(node: NodeProcess) -> None:
    held = [socket.create_connection(_address(node), timeout=10) for _ in range(16)]
    try:
        with socket.create_connection(_address(node), timeout=10) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.1 503")
    finally:
        for conn in held:
            conn.close()
    deadline = time.monotonic() + 10
    while True:  # the node counts the closes on its loop
        try:
            assert_healthy(node)
            break
        except (AssertionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _ws_frame(text: bytes) -> bytes:
    """A masked client text frame."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    length = len(text)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    return header + mask + masked


def test_a_websocket_client_that_never_reads_is_dropped(node: NodeProcess) -> None:
    key = base64.b64encode(os.urandom(16))
    handshake = (
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "state_getMetadata"}).encode()
    with socket.create_connection(_address(node), timeout=10) as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.sendall(handshake)
        frame = _ws_frame(request)
        deadline = time.monotonic() + 30
        while "does not read" not in node.logs() and time.monotonic() < deadline:
            try:
                conn.sendall(frame * 50)  # never reading a byte of the answers
            except OSError:
                break
            time.sleep(0.01)
    assert "closing a WebSocket client that does not read its messages" in node.logs()
    assert_healthy(node)


def test_unsafe_methods_are_refused_with_a_named_error_when_safe(node: NodeProcess) -> None:
    with pytest.raises(RpcCallError) as refused:
        node.rpc("engine_createBlock")
    assert refused.value.error["data"] == {"error": "UnsafeMethodRefused", "method": "engine_createBlock"}
    assert "engine_createBlock" not in node.rpc("rpc_methods")["methods"]


def test_unsafe_methods_are_refused_on_a_non_loopback_listen_address() -> None:
    wide = NodeProcess("--dev", "--tmp", "--seal", "manual", "--rpc-host", "0.0.0.0").start()
    try:
        with pytest.raises(RpcCallError) as refused:  # called from loopback: the listen address decides
            wide.rpc("engine_createBlock")
        assert refused.value.error["code"] == -32601
        assert refused.value.error["data"]["error"] == "UnsafeMethodRefused"
        assert "--rpc-methods unsafe" in refused.value.error["message"]
        assert wide.rpc("system_health")["isSyncing"] is False
        assert wide.stop() == 0
    finally:
        wide.close()


async def _subscribe(url: str, count: int) -> list[Any]:
    outcomes: list[Any] = []
    async with WsClient(url) as client:
        for _ in range(count):
            try:
                outcomes.append(await client.call("chain_subscribeNewHeads"))
            except RpcCallError as exc:
                outcomes.append(exc.error)
    return outcomes


def test_subscriptions_per_connection_are_limited(node: NodeProcess) -> None:
    *accepted, refused = asyncio.run(_subscribe(node.ws_url, 5))
    assert all(isinstance(sub_id, str) for sub_id in accepted) and len(accepted) == 4
    assert refused["code"] == -32000 and "limit 4" in refused["message"]
    assert_healthy(node)
