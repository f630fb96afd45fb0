"""Benchmark: a consortium network on loopback, 4 validator processes ordering through a 3-member etcd
cluster, finalizing with BLS certificates; transfers finalized per second and block-to-certificate latency.

A chain spec funds the benchmark senders; clients submit one pre-signed transfer per sender, spread over
the four nodes (JSON-RPC batches of author_submitExtrinsic over HTTP), while a WebSocket subscription to
chain_subscribeFinalizedHeads on one node records when each block became final there. Measured: transfers
in finalized blocks per second (from the first submission until the block holding the last one is final)
and, per block, the time from its timestamp (set by its author when it starts building) to its finality.
Last line: finalized_transfers_per_s=<n> finality_p50_ms=<n> finality_p99_ms=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
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
sys.path.insert(0, str(REPO / "tests" / "network"))

from etcd_cluster import EtcdCluster, etcd_unavailable_reason  # noqa: E402
from node_rpc import client, make_keys, rpc, write_spec  # noqa: E402  (bench/: the same JSON-RPC load helpers)

from cmu.node.keys import write_validator_key_file  # noqa: E402
from pallets.balances import Balances  # noqa: E402
from runtime.crypto import Keypair  # noqa: E402
from runtime.extrinsic import sign_extrinsic  # noqa: E402
from runtime.genesis import CONSORTIUM_VALIDATORS  # noqa: E402
from runtime.validators import dev_validator_keys  # noqa: E402


def start_node(args: argparse.Namespace, spec: Path, etcd: str, key_file: Path) -> tuple[Any, str]:
    """A validator process and its RPC URL."""
    command = [
        sys.executable, str(REPO / "node.py"),
        "--chain", str(spec), "--tmp",
        "--etcd", etcd, "--validator", "--key-file", str(key_file),
        "--turn-timeout-ms", str(args.turn_ms), "--block-gap-ms", str(args.gap_ms),
        "--max-block-txs", str(args.max_block_txs),
        "--rpc-port", "0", "--no-prometheus", "--log", "info" if args.log_dir else "warning",
    ]  # fmt: skip
    log = open(Path(args.log_dir) / f"{key_file.stem}.log", "w") if args.log_dir else None  # noqa: SIM115
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"RPC listening on (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("a node did not start")


def sign_all(keys: list[Keypair], genesis_hash: bytes, spec_version: int) -> list[str]:
    """One transfer per sender (nonce 0) to the next sender, as 0x-hex."""
    spec = Balances.call_specs["transfer"]
    out = []
    for i, key in enumerate(keys):
        call_wire = [spec.pallet_index, spec.index, [bytes(keys[(i + 1) % len(keys)].account), 1_000_000 + i]]
        xt = sign_extrinsic(key, call_wire, nonce=0, genesis_hash=genesis_hash, spec_version=spec_version)
        out.append("0x" + xt.hex())
    return out


async def watch_finality(ws_url: str, seen: dict[int, float], stop: asyncio.Event) -> None:
    """Record when each finalized head is announced (wall clock, ms)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeFinalizedHeads", "params": []}
        )
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.receive(), 0.5)
            except TimeoutError:
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            data = json.loads(message.data)
            if data.get("method") == "chain_finalizedHead":
                seen.setdefault(data["params"]["result"]["number"], time.time() * 1000)


async def finalized_blocks(url: str, upto: int) -> list[tuple[int, int, int]]:
    """(number, timestamp, transfers) of blocks 1..upto."""
    out = []
    async with aiohttp.ClientSession() as session:
        for number in range(1, upto + 1):
            block_hash = await rpc(session, url, "chain_getBlockHash", number)
            block = await rpc(session, url, "chain_getBlock", block_hash)
            header = block["block"]["header"]
            out.append((number, header["timestamp"], len(block["block"]["extrinsics"]) - 1))
    return out


Blocks = list[tuple[int, int, int]]


async def run(
    args: argparse.Namespace, urls: list[str], txs: list[str]
) -> tuple[float, Blocks, dict[int, float], int]:
    """Submit the load; (start ms, finalized blocks, finality times by number, refused count)."""
    seen: dict[int, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_finality(urls[0].replace("http://", "ws://"), seen, stop))
    await asyncio.sleep(0.5)
    started = time.time() * 1000
    shares = [txs[i :: args.clients] for i in range(args.clients)]
    refused = sum(
        await asyncio.gather(
            *(client(urls[i % len(urls)], share, args.batch) for i, share in enumerate(shares))
        )
    )
    print(f"submitted {len(txs)} transfers in {time.time() - started / 1000:.2f} s", flush=True)
    deadline = time.monotonic() + args.timeout
    blocks: list[tuple[int, int, int]] = []
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            final_hash = await rpc(session, urls[0], "chain_getFinalizedHead")
            final = (await rpc(session, urls[0], "chain_getHeader", final_hash))["number"]
            blocks = await finalized_blocks(urls[0], final)
            if sum(b[2] for b in blocks) >= len(txs) - refused:
                break
            await asyncio.sleep(1.0)
    stop.set()
    await watcher
    return started, blocks, seen, refused


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--senders", type=int, default=10_000, help="transfers (one per sender)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent RPC clients")
    parser.add_argument(
        "--batch", type=int, default=100, help="author_submitExtrinsic calls per JSON-RPC batch"
    )
    parser.add_argument("--etcd-members", type=int, default=3)
    parser.add_argument("--turn-ms", type=int, default=4_000, help="--turn-timeout-ms of the nodes")
    parser.add_argument("--gap-ms", type=int, default=100, help="least time between blocks")
    parser.add_argument("--max-block-txs", type=int, default=600, help="transactions per block")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--log-dir", default=None, help="keep each node's log (level info) in this directory")
    args = parser.parse_args()
    reason = etcd_unavailable_reason()
    if reason is not None:
        raise SystemExit(reason)
    keys = make_keys(args.senders, b"network-bench")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that `finally` stops the nodes and etcd members
    work = Path(tempfile.mkdtemp(prefix="cmu-bench-net-"))
    spec = work / "spec.json"
    write_spec(keys, spec, chain="consortium", chain_id="bench-network")
    etcd = EtcdCluster(args.etcd_members)
    procs = []
    try:
        etcd.start()
        urls = []
        for name in CONSORTIUM_VALIDATORS:
            key_file = work / f"{name}.json"
            write_validator_key_file(key_file, dev_validator_keys(name))
            proc, url = start_node(args, spec, etcd.url_list, key_file)
            procs.append(proc)
            urls.append(url)
        genesis_hash, spec_version = asyncio.run(chain_identity(urls[0]))
        txs = sign_all(keys, genesis_hash, spec_version)
        started, blocks, seen, refused = asyncio.run(run(args, urls, txs))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        etcd.close()
        shutil.rmtree(work, ignore_errors=True)
    report(args, started, blocks, seen, refused)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


async def chain_identity(url: str) -> tuple[bytes, int]:
    async with aiohttp.ClientSession() as session:
        genesis = bytes.fromhex((await rpc(session, url, "chain_getBlockHash", 0))[2:])
        version = (await rpc(session, url, "state_getRuntimeVersion"))["specVersion"]
    return genesis, version


def report(
    args: argparse.Namespace,
    started: float,
    blocks: list[tuple[int, int, int]],
    seen: dict[int, float],
    refused: int,
) -> None:
    loaded = [b for b in blocks if b[2] > 0]
    if not loaded:
        raise SystemExit("no transfer was finalized")
    total = sum(b[2] for b in loaded)

    def final_at(number: int) -> float:
        return min(t for n, t in seen.items() if n >= number)

    last = final_at(loaded[-1][0])
    latencies = [final_at(n) - timestamp for n, timestamp, _ in loaded]
    print(
        f"cpus={os.cpu_count()} validators=4 etcd_members={args.etcd_members} transfers={total} "
        f"refused={refused} turn_ms={args.turn_ms} gap_ms={args.gap_ms} max_block_txs={args.max_block_txs} "
        f"blocks={len(loaded)} mean_block_txs={statistics.mean(b[2] for b in loaded):.0f} "
        f"elapsed_s={(last - started) / 1000:.2f}"
    )
    print(
        f"finalized_transfers_per_s={total / ((last - started) / 1000):.0f} "
        f"finality_p50_ms={percentile(latencies, 0.5):.0f} finality_p99_ms={percentile(latencies, 0.99):.0f}"
    )


if __name__ == "__main__":
    main()
