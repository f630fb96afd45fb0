"""A stand-in node for the client's tests: the RPC contract (HTTP JSON-RPC and WebSocket subscriptions)
served on a loopback port over a real runtime on the in-memory backend, sealing a block per extrinsic."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import http.server
import itertools
import json
import threading
from typing import Any

from cmu.client.ws import OP_CLOSE, OP_PING, OP_TEXT, decode_frame, encode_frame
from runtime.block import Header
from runtime.crypto import blake2_256, dev_keypair
from runtime.errors import InvalidExtrinsic
from runtime.executive import PendingBlock, Runtime
from runtime.genesis import dev_spec
from runtime.storage.backend import MemoryBackend
from runtime.storage.items import jsonable
from runtime.types import converter

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BLOCK_TIME_MS = 6_000


class RpcFailure(Exception):
    """A JSON-RPC error to answer with."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Chain:
    """The fake node's chain: blocks by hash, events by block, an instant-seal author."""

    def __init__(self, *extra_pallets: str) -> None:
        self.runtime = Runtime(dev_spec(extra_pallets), MemoryBackend())
        self.author = dev_keypair("alice")
        self.lock = threading.RLock()
        genesis = self.runtime.head
        self.blocks: dict[str, dict[str, Any]] = {}
        self.by_number: dict[int, str] = {}
        self._record(genesis, [], [], b"\0" * 64)

    def _record(self, header: Header, extrinsics: list[bytes], events: list[Any], seal: bytes) -> str:
        block_hash = "0x" + header.hash().hex()
        head = {**header.to_json(), "hash": block_hash}
        self.blocks[block_hash] = {
            "header": head,
            "extrinsics": ["0x" + x.hex() for x in extrinsics],
            "seal": "0x" + seal.hex(),
            "events": [_event_json(phase, event) for phase, event in events],
        }
        self.by_number[header.number] = block_hash
        return block_hash

    def author_block(self, extrinsic: bytes) -> tuple[str, dict[str, Any]]:
        """Seal a block holding `extrinsic`; (block hash, inBlock status)."""
        rt = self.runtime
        builder = rt.new_block(rt.head.timestamp + BLOCK_TIME_MS, self.author.account)
        try:
            result = builder.push(extrinsic)
        except InvalidExtrinsic:
            builder.abandon()
            raise
        pending: PendingBlock = builder.finish(self.author)
        rt.commit(pending)
        assert pending.block is not None
        block_hash = self._record(
            pending.header, list(pending.block.extrinsics), pending.events, pending.block.seal
        )
        return block_hash, {"inBlock": block_hash, "success": result.ok, "error": result.error}

    def head_hash(self) -> str:
        return "0x" + self.runtime.head.hash().hex()


def _event_json(phase: int, event: Any) -> dict[str, Any]:
    event_type: Any = type(event)
    wire = converter(event_type).to_wire(event)
    names = [f.name for f in dataclasses.fields(event)]
    return {
        "phase": phase,
        "pallet": type(event).pallet,
        "event": type(event).__name__,
        "fields": dict(zip(names, jsonable(wire), strict=True)),
    }


def _rejected(exc: InvalidExtrinsic) -> RpcFailure:
    return RpcFailure(
        1010, "Invalid Transaction", {"code": exc.code, "error": type(exc).__name__, "message": str(exc)}
    )


class FakeNode:
    """Serve a Chain on 127.0.0.1:<free port> until `stop()`."""

    def __init__(self, *extra_pallets: str) -> None:
        self.chain = Chain(*extra_pallets)
        self.head_subscribers: list[tuple[WsConnection, str]] = []
        self.ids = itertools.count(1)
        node = self

        class Handler(_Handler):
            fake = node

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- methods ----------------------------------------------------------------------------------

    def call(self, method: str, params: list[Any], conn: WsConnection | None = None) -> Any:
        handler = getattr(self, "rpc_" + method, None)
        if handler is None:
            raise RpcFailure(-32601, f"Method not found: {method}")
        with self.chain.lock:
            if method.startswith(("chain_subscribe", "author_submitAndWatch")):
                if conn is None:
                    raise RpcFailure(-32601, f"{method} needs a WebSocket")
                return handler(params, conn)
            return handler(params)

    def _block(self, params: list[Any]) -> dict[str, Any] | None:
        block_hash = params[0] if params and params[0] else self.chain.head_hash()
        return self.chain.blocks.get(block_hash)

    def rpc_system_chain(self, params: list[Any]) -> Any:
        return self.chain.runtime.spec.name

    def rpc_system_accountNextIndex(self, params: list[Any]) -> Any:
        from runtime.crypto import parse_address

        return self.chain.runtime.system.next_nonce(parse_address(params[0]))

    def rpc_chain_getHeader(self, params: list[Any]) -> Any:
        block = self._block(params)
        return block and block["header"]

    def rpc_chain_getBlock(self, params: list[Any]) -> Any:
        block = self._block(params)
        return block and {"block": {k: block[k] for k in ("header", "extrinsics", "seal")}}

    def rpc_chain_getBlockHash(self, params: list[Any]) -> Any:
        if not params or params[0] is None:
            return self.chain.head_hash()
        return self.chain.by_number.get(params[0])

    def rpc_chain_getEvents(self, params: list[Any]) -> Any:
        block = self._block(params)
        return block and block["events"]

    def rpc_state_getStorage(self, params: list[Any]) -> Any:
        if len(params) > 1 and params[1] not in (None, self.chain.head_hash()):
            raise RpcFailure(4003, "only the head state is kept by the fake node")
        raw = self.chain.runtime.read(bytes.fromhex(params[0][2:]))
        return None if raw is None else "0x" + raw.hex()

    def rpc_state_getMetadata(self, params: list[Any]) -> Any:
        return self.chain.runtime.metadata()

    def rpc_state_getRuntimeVersion(self, params: list[Any]) -> Any:
        return self.chain.runtime.VERSION.to_json()

    def rpc_author_submitExtrinsic(self, params: list[Any]) -> Any:
        data = bytes.fromhex(params[0][2:])
        try:
            self.chain.runtime.validate_transaction(data)
            block_hash, _ = self.chain.author_block(data)
        except InvalidExtrinsic as exc:
            raise _rejected(exc) from None
        self._announce(block_hash)
        return "0x" + blake2_256(data).hex()

    def rpc_chain_subscribeNewHeads(self, params: list[Any], conn: WsConnection) -> Any:
        sub = f"h{next(self.ids)}"
        self.head_subscribers.append((conn, sub))
        return sub

    def rpc_chain_unsubscribeNewHeads(self, params: list[Any]) -> Any:
        before = len(self.head_subscribers)
        self.head_subscribers = [(c, s) for c, s in self.head_subscribers if s != params[0]]
        return len(self.head_subscribers) < before

    def rpc_author_unwatchExtrinsic(self, params: list[Any]) -> Any:
        return True

    def rpc_author_submitAndWatchExtrinsic(self, params: list[Any], conn: WsConnection) -> Any:
        data = bytes.fromhex(params[0][2:])
        try:
            self.chain.runtime.validate_transaction(data)
        except InvalidExtrinsic as exc:
            raise _rejected(exc) from None
        sub = f"x{next(self.ids)}"
        conn.after_reply.append(lambda: self._watch(conn, sub, data))
        return sub

    def _watch(self, conn: WsConnection, sub: str, data: bytes) -> None:
        conn.notify("author_extrinsicUpdate", sub, "ready")
        with self.chain.lock:
            try:
                block_hash, status = self.chain.author_block(data)
            except InvalidExtrinsic as exc:
                invalid = {"code": exc.code, "error": type(exc).__name__, "message": str(exc)}
                conn.notify("author_extrinsicUpdate", sub, {"invalid": invalid})
                return
        conn.notify("author_extrinsicUpdate", sub, status)
        self._announce(block_hash)
        conn.notify("author_extrinsicUpdate", sub, {"finalized": block_hash})

    def _announce(self, block_hash: str) -> None:
        header = self.chain.blocks[block_hash]["header"]
        for conn, sub in list(self.head_subscribers):
            conn.notify("chain_newHead", sub, header)


class WsConnection:
    """A server-side WebSocket carrying JSON-RPC."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.after_reply: list[Any] = []

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.sock.sendall(encode_frame(OP_TEXT, json.dumps(message).encode()))

    def notify(self, method: str, sub: str, result: Any) -> None:
        with contextlib.suppress(OSError):  # the client may have gone away
            self.send({"jsonrpc": "2.0", "method": method, "params": {"subscription": sub, "result": result}})


def _answer(node: FakeNode, request: Any, conn: WsConnection | None = None) -> dict[str, Any]:
    base = {"jsonrpc": "2.0", "id": request.get("id") if isinstance(request, dict) else None}
    try:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise RpcFailure(-32600, "Invalid Request")
        return {**base, "result": node.call(request["method"], list(request.get("params") or []), conn)}
    except RpcFailure as exc:
        error = {"code": exc.code, "message": exc.message}
        if exc.data is not None:
            error["data"] = exc.data
        return {**base, "error": error}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeNode

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if isinstance(body, list):
            answer: Any = [_answer(self.fake, item) for item in body]
        else:
            answer = _answer(self.fake, body)
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self.send_error(400)
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self._serve_ws(WsConnection(self.connection))
        self.close_connection = True

    def _serve_ws(self, conn: WsConnection) -> None:
        buffer = bytearray()
        while True:
            frame = decode_frame(buffer)
            if frame is None:
                chunk = self.connection.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                continue
            _fin, opcode, payload, used = frame
            del buffer[:used]
            if opcode == OP_CLOSE:
                with conn.lock:
                    self.connection.sendall(encode_frame(OP_CLOSE, payload[:2]))
                return
            if opcode == OP_PING:
                continue
            conn.send(_answer(self.fake, json.loads(payload), conn))
            callbacks, conn.after_reply = conn.after_reply, []
            for callback in callbacks:
                callback()
