"""Test harness for node processes: start `node.py` on free loopback ports, talk JSON-RPC over HTTP and
WebSocket, sign transfers. Real processes, real LevelDB, real signatures; no client library needed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import msgpack

from pallets.balances import Balances
from pallets.system import AccountInfo, System
from runtime import codec
from runtime.crypto import Keypair
from runtime.extrinsic import sign_extrinsic
from runtime.storage.items import item_prefix
from runtime.types import converter

REPO = Path(__file__).resolve().parents[2]
NODE = REPO / "node.py"
START_TIMEOUT = 60.0
CALL_TIMEOUT = 30.0
T = TypeVar("T")


class RpcCallError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.data: Any = error.get("data")
        self.error = error


def poll_until(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05) -> T:
    """Call `check` until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def run_cli(
    *args: str, timeout: float = 120.0, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `node.py ARGS` to completion."""
    return subprocess.run(
        [sys.executable, str(NODE), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        input=input_text,
        env=_env(),
    )


def _json_or_none(text: bytes) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text.decode(errors="replace")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class NodeProcess:
    """One node process on free ports."""

    def __init__(self, *args: str, prometheus: bool = False) -> None:
        self.args = list(args)
        self.prometheus = prometheus
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.ws_url = ""
        self.metrics_url = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._log = tempfile.NamedTemporaryFile(prefix="cmu-node-log-", suffix=".txt", delete=False)  # noqa: SIM115
        self._ids = itertools.count(1)

    def start(self) -> NodeProcess:
        """Start and wait for the RPC line."""
        ports = ["--rpc-port", "0"] + (["--prometheus-port", "0"] if self.prometheus else ["--no-prometheus"])
        self.proc = subprocess.Popen(
            [sys.executable, str(NODE), *self.args, *ports],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=REPO,
            env=_env(),
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.url or (self.prometheus and not self.metrics_url):
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                logs = self.logs()
                self.close()
                raise AssertionError(f"the node did not start:\n{logs}")
            self._parse(line)
        return self

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _parse(self, line: str) -> None:
        found = re.search(r"RPC listening on http://([\w.\-:\[\]]+):(\d+)", line)
        if found:
            self.url = f"http://{found.group(1)}:{found.group(2)}/"
            self.ws_url = f"ws://{found.group(1)}:{found.group(2)}/"
        metrics = re.search(r"Prometheus metrics on (http://\S+)", line)
        if metrics:
            self.metrics_url = metrics.group(1)

    def logs(self) -> str:
        """What the node logged so far."""
        return Path(self._log.name).read_text(errors="replace")

    # --- HTTP JSON-RPC ------------------------------------------------------------------------------

    def post(self, body: bytes | str, timeout: float = CALL_TIMEOUT) -> tuple[int, Any]:
        """POST a raw body; (status, decoded JSON or None)."""
        status, _headers, answer = self.request(body, timeout=timeout)
        return status, answer

    def request(
        self, body: bytes | str, headers: dict[str, str] | None = None, timeout: float = CALL_TIMEOUT
    ) -> tuple[int, dict[str, str], Any]:
        """POST a raw body with extra headers; (status, response headers, decoded JSON or None)."""
        data = body.encode() if isinstance(body, str) else body
        sent = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(self.url, data=data, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read()
                return response.status, dict(response.headers), _json_or_none(text)
        except urllib.error.HTTPError as exc:
            text = exc.read()
            return exc.code, dict(exc.headers), _json_or_none(text)

    def rpc(self, method: str, *params: Any) -> Any:
        """Call a method; RpcCallError for an error answer."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        _status, answer = self.post(json.dumps(request))
        if "error" in answer:
            raise RpcCallError(answer["error"])
        return answer["result"]

    def best_number(self) -> int:
        """The best block number."""
        number: int = self.rpc("chain_getHeader")["number"]
        return number

    # --- lifecycle ----------------------------------------------------------------------------------

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the node and wait for it; its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL."""
        self.stop(signal.SIGKILL)

    def close(self) -> None:
        """Kill if still running and remove the log."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self._log.close()
        os.unlink(self._log.name)


class WsClient:
    """A JSON-RPC WebSocket client with per-subscription notification queues."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subs: dict[str, asyncio.Queue[Any]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WsClient:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url, max_msg_size=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._ws is not None and self._session is not None
        await self._ws.close()
        await self._session.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            data = json.loads(message.data)
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item)

    def _dispatch(self, item: dict[str, Any]) -> None:
        if "id" in item and item["id"] in self._pending:
            self._pending.pop(item["id"]).set_result(item)
        elif "params" in item:
            sub = item["params"]["subscription"]
            self._subs.setdefault(sub, asyncio.Queue()).put_nowait(item["params"]["result"])

    async def call(self, method: str, *params: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """Call a method; RpcCallError for an error answer."""
        assert self._ws is not None
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._ws.send_str(
            json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        )
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            raise RpcCallError(answer["error"])
        return answer["result"]

    async def subscribe(self, method: str, *params: Any) -> asyncio.Queue[Any]:
        """Subscribe; the queue of its notification results."""
        sub_id = await self.call(method, *params)
        return self._subs.setdefault(sub_id, asyncio.Queue())

    async def next(self, notifications: asyncio.Queue[Any], timeout: float = CALL_TIMEOUT) -> Any:
        """The next notification of a subscription."""
        return await asyncio.wait_for(notifications.get(), timeout)


# --- transactions -----------------------------------------------------------------------------------


class Signer:
    """Signs transfers for one chain (genesis hash and spec version read from the node)."""

    def __init__(self, genesis_hash: bytes, spec_version: int) -> None:
        self.genesis_hash = genesis_hash
        self.spec_version = spec_version

    @classmethod
    def for_node(cls, node: NodeProcess) -> Signer:
        """Read the chain's identity from a node."""
        genesis = bytes.fromhex(node.rpc("chain_getBlockHash", 0)[2:])
        return cls(genesis, node.rpc("state_getRuntimeVersion")["specVersion"])

    def transfer(self, keypair: Keypair, dest: bytes, amount: int, nonce: int, tip: int = 0) -> bytes:
        """A signed Balances.transfer."""
        spec = Balances.call_specs["transfer"]
        call_wire = [spec.pallet_index, spec.index, [bytes(dest), amount]]
        return sign_extrinsic(
            keypair,
            call_wire,
            nonce=nonce,
            genesis_hash=self.genesis_hash,
            spec_version=self.spec_version,
            tip=tip,
        )


def hexed(data: bytes) -> str:
    """0x-hex."""
    return "0x" + data.hex()


def account_key(who: bytes) -> bytes:
    """The raw state key of System.account[who]."""
    encoded: bytes = msgpack.packb(bytes(who), use_bin_type=True)
    return item_prefix(System.name, "account") + encoded


def account_info(node: NodeProcess, who: bytes, at: str | None = None) -> tuple[int, int]:
    """(nonce, free) of an account, from raw storage at the best block or `at`."""
    params: list[Any] = [hexed(account_key(who))] + ([at] if at else [])
    raw = node.rpc("state_getStorage", *params)
    if raw is None:
        return 0, 0
    info = converter(AccountInfo).from_wire(codec.unpack(bytes.fromhex(raw[2:])))
    return info.nonce, info.free
