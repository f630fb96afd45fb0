"""Benchmark: signed transfers through a real node process over JSON-RPC, and header latency under load.

A `--seal interval:MS` node runs on a custom chain spec (build-spec output plus funded benchmark
senders); 8 concurrent clients submit pre-signed transfers from distinct senders (JSON-RPC batches of
author_submitExtrinsic over HTTP) while a separate process calls chain_getHeader in a loop. Measured:
transfers included per second (counted from the blocks once the load is over, from the first submission
to the timestamp of the block holding the last one) and the p50/p99 latency of chain_getHeader from the
first submission until every client's last transfer is included.
Last line: included_per_s=<n> header_p50_ms=<n> header_p99_ms=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import multiprocessing.synchronize
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import msgpack  # noqa: E402

from pallets.balances import Balances  # noqa: E402
from pallets.system import AccountInfo, System  # noqa: E402
from runtime import codec  # noqa: E402
from runtime.crypto import Keypair, address, blake2_256  # noqa: E402
from runtime.extrinsic import sign_extrinsic  # noqa: E402
from runtime.genesis import TOKEN  # noqa: E402
from runtime.storage.items import item_prefix  # noqa: E402
from runtime.types import converter  # noqa: E402


def make_keys(count: int, tag: bytes = b"node-rpc-bench") -> list[Keypair]:
    """Deterministic benchmark senders."""
    return [Keypair.from_seed(blake2_256(b"%s-%d" % (tag, i))) for i in range(count)]


def write_spec(keys: list[Keypair], path: Path, chain: str = "dev", chain_id: str = "bench") -> None:
    """The `chain` spec from `build-spec` with every sender funded."""
    out = subprocess.run(
        [sys.executable, str(REPO / "node.py"), "build-spec", "--chain", chain],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    spec = json.loads(out.stdout)
    spec["id"] = chain_id
    spec["genesis"]["Balances"]["balances"] += [[address(k.account), 10 * TOKEN] for k in keys]
    path.write_text(json.dumps(spec))


def start_node(spec: Path, seal: str, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    """A node process and its RPC URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "node.py"),
            "--chain",
            str(spec),
            "--tmp",
            "--author",
            "alice",
            "--seal",
            seal,
            "--rpc-port",
            "0",
            "--no-prometheus",
            "--log",
            "warning",
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"RPC listening on (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("the node did not start")


def sign_all(keys: list[Keypair], genesis_hash: bytes, spec_version: int) -> list[str]:
    """One transfer per sender (nonce 0) to the next sender, as 0x-hex."""
    spec = Balances.call_specs["transfer"]
    out = []
    for i, key in enumerate(keys):
        dest = keys[(i + 1) % len(keys)].account
        call_wire = [spec.pallet_index, spec.index, [bytes(dest), 1_000_000 + i]]
        xt = sign_extrinsic(key, call_wire, nonce=0, genesis_hash=genesis_hash, spec_version=spec_version)
        out.append("0x" + xt.hex())
    return out


# --- the header prober (its own process, so its timing is not the load generator's) -----------------


def probe_headers(
    url: str,
    start: multiprocessing.synchronize.Event,
    stop: multiprocessing.synchronize.Event,
    results: Any,
    pause_s: float,
) -> None:
    """Call chain_getHeader in a loop between `start` and `stop`; put the latencies (s) on `results`."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []})
    latencies = []
    start.wait()
    while not stop.is_set():
        began = time.perf_counter()
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        latencies.append(time.perf_counter() - began)
        if "result" not in answer:
            raise SystemExit(f"chain_getHeader failed: {answer}")
        time.sleep(pause_s)
    results.put(latencies)


# --- the load --------------------------------------------------------------------------------------


async def rpc(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    """One call."""
    async with session.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    ) as r:
        answer = await r.json()
    if "error" in answer:
        raise SystemExit(f"{method} failed: {answer['error']}")
    return answer["result"]


async def client(url: str, txs: list[str], batch: int) -> int:
    """Submit `txs` in JSON-RPC batches; returns how many were refused."""
    refused = 0
    async with aiohttp.ClientSession() as session:
        for first in range(0, len(txs), batch):
            calls = [
                {"jsonrpc": "2.0", "id": first + i, "method": "author_submitExtrinsic", "params": [xt]}
                for i, xt in enumerate(txs[first : first + batch])
            ]
            async with session.post(url, json=calls) as response:
                answers = await response.json()
            refused += sum(1 for a in answers if "error" in a)
    return refused


def account_key(who: Keypair) -> str:
    """The state key of System.account[who], as 0x-hex."""
    encoded: bytes = msgpack.packb(bytes(who.account), use_bin_type=True)
    return "0x" + (item_prefix(System.name, "account") + encoded).hex()


async def committed_nonce(session: aiohttp.ClientSession, url: str, key: str) -> int:
    """An account's nonce in the best block's state (not counting the pool)."""
    raw = await rpc(session, url, "state_getStorage", key)
    if raw is None:
        return 0
    info: AccountInfo = converter(AccountInfo).from_wire(codec.unpack(bytes.fromhex(raw[2:])))
    return info.nonce


async def wait_included(url: str, lasts: list[str], timeout: float) -> None:
    """Poll until the last sender of every client has nonce 1 in a block (each client's last transfer)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            nonces = [await committed_nonce(session, url, key) for key in lasts]
            if all(n >= 1 for n in nonces):
                return
            await asyncio.sleep(0.1)
    raise SystemExit("the transfers were not all included in time")


async def count_included(url: str, since: int) -> tuple[int, int]:
    """Transfers in the blocks after `since`, and the timestamp of the last block holding any."""
    included, last_ts = 0, 0
    async with aiohttp.ClientSession() as session:
        best = (await rpc(session, url, "chain_getHeader"))["number"]
        for number in range(since + 1, best + 1):
            block_hash = await rpc(session, url, "chain_getBlockHash", number)
            block = (await rpc(session, url, "chain_getBlock", block_hash))["block"]
            if len(block["extrinsics"]) > 1:
                included += len(block["extrinsics"]) - 1
                last_ts = block["header"]["timestamp"]
    return included, last_ts


async def run_load(url: str, txs: list[str], lasts: list[str], batch: int) -> tuple[int, float]:
    """Submit with len(lasts) clients until everything is included: (refused, start time in ms)."""
    clients = len(lasts)
    share = [txs[i::clients] for i in range(clients)]
    started_ms = time.time() * 1000
    refused = sum(await asyncio.gather(*(client(url, part, batch) for part in share)))
    await wait_included(url, lasts, timeout=120)
    return refused, started_ms


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=16_000, help="total transfers (one per sender)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--batch", type=int, default=100, help="author_submitExtrinsic calls per JSON-RPC batch"
    )
    parser.add_argument("--seal", default="interval:500")
    parser.add_argument("--probe-pause-ms", type=float, default=10.0)
    args = parser.parse_args()
    keys = make_keys(args.transfers)
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        write_spec(keys, spec_path)
        proc, url = start_node(spec_path, args.seal, ["--pool-limit", str(max(20_000, args.transfers))])
        try:
            start, stop, results = context.Event(), context.Event(), context.Queue()
            prober = context.Process(
                target=probe_headers, args=(url, start, stop, results, args.probe_pause_ms / 1000)
            )
            prober.start()
            genesis, version, since = asyncio.run(chain_identity(url))
            txs = sign_all(keys, genesis, version)
            lasts = [account_key(keys[i :: args.clients][-1]) for i in range(args.clients)]
            start.set()
            refused, started_ms = asyncio.run(run_load(url, txs, lasts, args.batch))
            stop.set()
            latencies = results.get(timeout=60)
            prober.join(timeout=10)
            included, last_ts = asyncio.run(count_included(url, since))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    report(args, included, refused, started_ms, last_ts, latencies)


async def chain_identity(url: str) -> tuple[bytes, int, int]:
    """(genesis hash, spec version, best block number) from the node."""
    async with aiohttp.ClientSession() as session:
        genesis = await rpc(session, url, "chain_getBlockHash", 0)
        version = await rpc(session, url, "state_getRuntimeVersion")
        best = (await rpc(session, url, "chain_getHeader"))["number"]
    return bytes.fromhex(genesis[2:]), version["specVersion"], best


def report(
    args: argparse.Namespace,
    included: int,
    refused: int,
    started_ms: float,
    last_ts: int,
    latencies: list[float],
) -> None:
    """Print the figures; the last line is the machine-readable one."""
    seconds = max(1e-3, (last_ts - started_ms) / 1000)
    rate = included / seconds
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f"cpus={os.cpu_count()} seal={args.seal} clients={args.clients} batch={args.batch}")
    print(f"submitted={args.transfers} refused={refused} included={included} in {seconds:.2f} s")
    mean_ms, max_ms = statistics.mean(latencies) * 1000, max(latencies) * 1000
    print(f"chain_getHeader calls={len(latencies)} mean_ms={mean_ms:.2f} max_ms={max_ms:.1f}")
    print(f"included_per_s={rate:.0f} header_p50_ms={p50:.1f} header_p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
