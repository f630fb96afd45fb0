"""Benchmark: free predictions. model_predict over HTTP keep-alive on a real node (16 concurrent
clients, a 1,000-feature dense perceptron with 10 labels), the same prediction in-process through the
same query code, and batch rows per second (1,024 rows per request).
Last line: rpc_predict_per_s=<n> p50_ms=<n> p99_ms=<n> inprocess_per_s=<n> batch_rows_per_s=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cmu.client.chain import Chain  # noqa: E402
from cmu.client.models import _event_field, _watch, upload_artifact  # noqa: E402
from cmu.client.rpc import Client  # noqa: E402
from cmu.models import SCALE, InputSpec, get_kind  # noqa: E402
from cmu.node.rpc_views import model_registry as query  # noqa: E402
from runtime.crypto import dev_keypair  # noqa: E402
from runtime.testing import build_runtime  # noqa: E402

FEATURES, LABELS = 1_000, 10


def trained_model() -> tuple[Any, Any, np.ndarray]:
    """A dense perceptron trained on synthetic clusters; returns (kind, weights, test rows)."""
    rng = np.random.default_rng(0)
    centers = rng.uniform(-0.5, 0.5, size=(LABELS, FEATURES))
    y = rng.integers(0, LABELS, size=600)
    x = np.clip(centers[y] + rng.normal(0, 0.2, size=(600, FEATURES)), -1, 1)
    kind = get_kind("dense_perceptron")
    spec = InputSpec(FEATURES, False, -SCALE, SCALE)
    weights = kind.train(kind.init_weights(spec, LABELS), kind.quantize(x, spec), y)
    return kind, weights, x


def start_node() -> tuple[subprocess.Popen[str], str]:
    """A dev node on a free port (instant seal)."""
    command = [
        sys.executable,
        str(REPO / "node.py"),
        "--dev",
        "--tmp",
        "--rpc-port",
        "0",
        "--seal",
        "instant",
    ]
    node = subprocess.Popen(
        [*command, "--no-prometheus"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and node.stdout is not None:
        line = node.stdout.readline()
        found = re.search(r"RPC listening on (http://[\d.]+:\d+)", line)
        if found:
            return node, found.group(1)
    node.kill()
    raise SystemExit("the node did not start")


def register(url: str, kind: Any, weights: Any) -> int:
    """Upload the weights and register the model; its id."""
    alice = dev_keypair("alice")
    with Client(url) as client:
        chain = Chain(client)
        root = upload_artifact(chain, alice, kind.encode(weights))
        args = {
            "name": "bench",
            "description": "",
            "task": "classification",
            "kind": "dense_perceptron",
            "input_spec": {
                "n_features": FEATURES,
                "sparse": False,
                "min_value": -SCALE,
                "max_value": SCALE,
                "max_nonzeros": 0,
            },
            "labels": [f"c{i}" for i in range(LABELS)],
            "license": "",
            "artifact": "0x" + root.hex(),
        }
        receipt = _watch(chain, alice, "ModelRegistry.register", args, 60.0)
        return int(_event_field(receipt, "ModelRegistered", "model"))


def _request(host: str, port: int, body: bytes) -> bytes:
    head = f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _client(host: str, port: int, bodies: list[bytes], until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    while time.perf_counter() < until:
        started = time.perf_counter()
        writer.write(_request(host, port, bodies[done % len(bodies)]))
        await writer.drain()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        payload = await reader.readexactly(length)
        if b'"result"' not in payload[:64]:
            raise SystemExit(f"prediction failed: {payload[:200]!r}")
        latencies.append(time.perf_counter() - started)
        done += 1
    writer.close()
    return done


def _load_process(url: str, bodies: list[bytes], clients: int, seconds: float, out: Any) -> None:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []

    async def run() -> int:
        until = time.perf_counter() + seconds
        counts = await asyncio.gather(
            *[_client(host, int(port), bodies, until, latencies) for _ in range(clients)]
        )
        return sum(counts)

    total = asyncio.run(run())
    out.put((total, latencies))


def rpc_load(
    url: str, model: int, rows: np.ndarray, clients: int, seconds: float
) -> tuple[float, list[float]]:
    """Predictions per second and latencies with `clients` keep-alive connections in 2 processes."""
    bodies = [
        json.dumps(
            {"jsonrpc": "2.0", "id": i, "method": "model_predict", "params": [model, [list(row)]]}
        ).encode()
        for i, row in enumerate(rows[:64].round(4).tolist())
    ]
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_load_process, args=(url, bodies, clients // 2, seconds, queue))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    total = sum(r[0] for r in results)
    return total / seconds, [lat for r in results for lat in r[1]]


def batch_rate(url: str, model: int, rows: np.ndarray) -> float:
    """Rows per second the node predicts in 1,024-row requests (bodies encoded once, before timing, so
    the figure is the node's: parse, quantize, predict, answer)."""
    batch = rows[:1024].round(4).tolist()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "model_predict", "params": [model, batch]})
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 3:
        conn.request("POST", "/", body=body.encode(), headers={"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        count += len(answer["result"]["predictions"])
    conn.close()
    return count / (time.perf_counter() - started)


def inprocess_rate(kind: Any, weights: Any, rows: np.ndarray) -> float:
    """The same single-row prediction through query.predict on an in-memory runtime."""
    rt = build_runtime()
    reg = rt.runtime.pallet_by_name("ModelRegistry")
    root = reg.store_artifact(rt.account("alice"), kind.encode(weights), 0)
    from pallets.model_registry.types import InputSpec as ChainSpec

    spec = ChainSpec(FEATURES, False, -SCALE, SCALE)
    labels = tuple(f"c{i}" for i in range(LABELS))
    args = {
        "name": "b",
        "description": "",
        "task": "t",
        "kind": "dense_perceptron",
        "input_spec": spec,
        "labels": labels,
        "license": "",
        "artifact": root,
    }
    rt.call("alice", "ModelRegistry.register", **args)
    rt.next_block()
    samples = [[list(row)] for row in rows[:64].round(4).tolist()]
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 2:
        query.predict(rt.runtime, 0, samples[count % 64])
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    kind, weights, rows = trained_model()
    node, url = start_node()
    try:
        model = register(url, kind, weights)
        rate, latencies = rpc_load(url, model, rows, args.clients, args.seconds)
        batch = batch_rate(url, model, rows)
    finally:
        node.terminate()
        node.wait(timeout=20)
    local = inprocess_rate(kind, weights, rows)
    ms = sorted(lat * 1000 for lat in latencies)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99)]
    print(
        f"rpc_predict_per_s={rate:.0f} p50_ms={p50:.2f} p99_ms={p99:.2f} inprocess_per_s={local:.0f} "
        f"batch_rows_per_s={batch:.0f}"
    )


if __name__ == "__main__":
    main()
