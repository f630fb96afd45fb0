"""Mutated JSON-RPC bodies to a real node process over HTTP (keep-alive) and WebSocket, each answer
classified (typed refusal, internal error, no answer, crash, a mutated extrinsic accepted). Used by
bench/fuzz.py."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import http.client
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
from node_harness import NodeProcess

from fuzzing.core import Tally, mutate_json, mutate_msgpack
from runtime.boundedjson import loads_bounded


@dataclasses.dataclass
class NodeFuzz:
    """Mutated JSON-RPC bodies to a real node over HTTP and WebSocket."""

    rng: random.Random
    tally: Tally
    seeds: list[Any]
    node: NodeProcess | None = None
    max_rss_kb: int = 0
    extrinsic_hex: str = ""

    def start(self) -> NodeProcess:
        self.node = NodeProcess("--dev", "--tmp", "--seal", "instant", "--rpc-methods", "safe").start()
        return self.node

    def rss_kb(self) -> int:
        assert self.node is not None and self.node.proc is not None
        try:
            for line in Path(f"/proc/{self.node.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.max_rss_kb = max(self.max_rss_kb, int(line.split()[1]))
        except OSError:
            pass
        return self.max_rss_kb

    def body(self) -> bytes:
        seed = self.rng.choice(self.seeds)
        if self.rng.random() < 0.1:
            return seed_with_submit(self.rng, self.extrinsic_hex)
        return mutate_json(self.rng, seed)

    def alive(self) -> bool:
        assert self.node is not None and self.node.proc is not None
        if self.node.proc.poll() is None:
            return True
        self.tally.crashes += 1
        self.tally.examples.append(f"node exited with {self.node.proc.returncode}")
        self.node.close()
        self.start()
        return False

    def classify(self, where: str, status: int, answer: Any, body: bytes) -> None:
        """Count one answer."""
        self.tally.inputs += 1
        if status >= 500 and status != 503:
            self.tally.note_untyped(where, f"HTTP {status}", body)
            return
        if status in (408, 413, 503):
            self.tally.typed[f"HTTP {status}"] += 1
            return
        answers = answer if isinstance(answer, list) else [answer]
        if answer is None:  # notifications only: nothing to answer
            self.tally.ok += 1
            return
        mutants = mutant_submission_ids(body, self.extrinsic_hex)
        for item in answers:
            if not isinstance(item, dict):
                self.tally.note_untyped(where, "answer is not JSON-RPC", answer)
                return
            error = item.get("error")
            if error is not None and error.get("code") == -32603:
                self.tally.note_untyped(where, error.get("message", "internal"), body)
                return
            if error is None and _hashable(item.get("id")) in mutants:
                self.tally.accepted_invalid[f"{where}:author_submitExtrinsic"] += 1
                self.tally.examples.append(f"{where}: accepted {body[:300]!r}")
                return
        if any(isinstance(a, dict) and "error" in a for a in answers):
            codes = sorted({a["error"].get("code") for a in answers if isinstance(a, dict) and "error" in a})
            self.tally.typed[f"rpc {codes[0]}"] += 1
        else:
            self.tally.ok += 1

    def http(self, count: int) -> None:
        assert self.node is not None
        conn = self._connect()
        for i in range(count):
            body = self.body()
            try:
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = self._connect()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = self._connect()
                if self.alive():
                    self.tally.note_untyped("http", f"no answer: {type(exc).__name__}", body)
                    self.tally.inputs += 1
                continue
            self.classify("http", status, _json_or_none(raw), body)
            if i % 500 == 0:
                self.alive()
                self.rss_kb()
        conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        assert self.node is not None
        host, port = self.node.url.split("//")[1].rstrip("/").rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def ws(self, count: int) -> None:
        asyncio.run(self._ws(count))

    async def _ws(self, count: int) -> None:
        assert self.node is not None
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(self.node.ws_url, max_msg_size=64 * 1024 * 1024)
            for i in range(count):
                text = self.body().decode("utf-8", "replace")  # a text frame carries valid UTF-8
                body = text.encode()
                expects = expects_answer(body)
                try:
                    await ws.send_str(text)
                    answer = await self._answer(ws, 10.0 if expects else 0.3)
                except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                    answer = exc
                if isinstance(answer, BaseException) or (answer is None and expects):
                    if self.alive():
                        self.tally.note_untyped("ws", f"no answer: {answer!r}", body)
                        self.tally.inputs += 1
                    await ws.close()
                    ws = await session.ws_connect(self.node.ws_url, max_msg_size=64 * 1024 * 1024)
                    continue
                self.classify("ws", 200, answer, body)
                if i % 500 == 0:
                    self.alive()
                    self.rss_kb()
            await ws.close()

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return None
            if message.type != aiohttp.WSMsgType.TEXT:
                return ConnectionError(f"WebSocket {message.type.name}")
            data = loads_bounded(message.data, max_bytes=None)
            if isinstance(data, dict) and "method" in data and "id" not in data:
                continue  # a subscription's notification
            return data


def seed_with_submit(rng: random.Random, extrinsic_hex: str) -> bytes:
    """author_submitExtrinsic of a mutated (so invalid) extrinsic."""
    raw = bytes.fromhex(extrinsic_hex[2:])
    mutated = raw
    while mutated == raw:
        mutated = mutate_msgpack(rng, raw)
    return json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "author_submitExtrinsic", "params": ["0x" + mutated.hex()]}
    ).encode()


def mutant_submission_ids(body: bytes, extrinsic_hex: str) -> set[Any]:
    """The (unique) ids of the requests in `body` that submit extrinsic bytes other than the valid seed."""
    try:
        parsed = loads_bounded(body, max_bytes=None)
    except ValueError:
        return set()
    requests = [r for r in (parsed if isinstance(parsed, list) else [parsed]) if isinstance(r, dict)]
    ids = collections.Counter(_hashable(r.get("id")) for r in requests)
    found = set()
    for request in requests:
        params = request.get("params")
        by_name = params.get("extrinsic") if isinstance(params, dict) else None
        submitted = params[0] if isinstance(params, list) and params else by_name
        if request.get("method") == "author_submitExtrinsic" and submitted != extrinsic_hex:
            key = _hashable(request.get("id"))
            if ids[key] == 1:
                found.add(key)
    return found


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True)


def expects_answer(body: bytes) -> bool:
    try:
        parsed = loads_bounded(body, max_bytes=None)
    except ValueError:
        return True
    if isinstance(parsed, dict):
        return "id" in parsed or parsed.get("jsonrpc") != "2.0" or not isinstance(parsed.get("method"), str)
    return True


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads_bounded(raw, max_bytes=None)
    except ValueError:
        return raw
