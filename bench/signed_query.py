"""Benchmark: what signed queries cost. model_predict over HTTP keep-alive on a real node (16 clients in 2
processes, the 1,000-feature model of bench/predict.py): signed by bob (every request a fresh signature,
so none is a replay; the node checks a signature given on a public model too) against unsigned, on the
same public weights (a permissioned model's weights are encrypted: the node does not predict with them,
its readers predict locally); and the node's signed-query check alone (QueryAuth.verify) in-process.
Last line: signed_predict_per_s=<n> signed_p99_ms=<n> unsigned_predict_per_s=<n> verify_per_s=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from predict import _request, register, start_node, trained_model  # noqa: E402

from cmu.client.chain import Chain, from_hex  # noqa: E402
from cmu.client.models import _watch  # noqa: E402
from cmu.client.rpc import Client  # noqa: E402
from cmu.formats.signed_query import named_params, sign_query  # noqa: E402
from cmu.node.query_auth import QueryAuth  # noqa: E402
from runtime.crypto import dev_keypair  # noqa: E402

BOB = dev_keypair("bob")


def grant_reader(url: str, model: int) -> bytes:
    """Grant bob Reader on the model; the chain's genesis hash."""
    alice = dev_keypair("alice")
    with Client(url) as client:
        chain = Chain(client)
        grant = {"model": model, "who": "0x" + bytes(BOB.account).hex(), "role": "Reader", "expires_at": None}
        _watch(chain, alice, "Access.grant", grant, 60.0)
        return from_hex(client.request("chain_getBlockHash", [0]), "genesis")


def bodies(model: int, rows: list[list[float]], count: int, genesis: bytes | None, start: int) -> list[bytes]:
    """`count` request bodies; signed by bob with distinct timestamps when `genesis` is given."""
    out = []
    for i in range(count):
        row = rows[i % len(rows)]
        params: list[Any] = [model, [row], None, False, None]
        if genesis is not None:
            named = named_params("model_predict", params)
            params.append(sign_query(BOB, "model_predict", named, model, genesis, start + i))
        out.append(
            json.dumps({"jsonrpc": "2.0", "id": i, "method": "model_predict", "params": params}).encode()
        )
    return out


async def _client(host: str, port: int, payloads: list[bytes], until: float, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    while time.perf_counter() < until and done < len(payloads):
        started = time.perf_counter()
        writer.write(_request(host, port, payloads[done]))
        await writer.drain()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answer = await reader.readexactly(length)
        if b'"result"' not in answer[:64]:
            raise SystemExit(f"prediction failed: {answer[:200]!r}")
        lat.append(time.perf_counter() - started)
        done += 1
    writer.close()
    return done


def _load(url: str, slices: list[list[bytes]], seconds: float, out: Any) -> None:
    host, port = url.removeprefix("http://").split(":")
    lat: list[float] = []

    async def run() -> int:
        until = time.perf_counter() + seconds
        return sum(await asyncio.gather(*[_client(host, int(port), s, until, lat) for s in slices]))

    started = time.perf_counter()
    total = asyncio.run(run())
    out.put((total, lat, time.perf_counter() - started))


def load(url: str, per_client: list[list[bytes]], seconds: float) -> tuple[float, list[float]]:
    """Answers per second and latencies, the clients split over 2 processes (a client stops after
    `seconds` or when its prepared requests run out)."""
    queue: Any = multiprocessing.Queue()
    half = len(per_client) // 2
    procs = [
        multiprocessing.Process(target=_load, args=(url, part, seconds, queue))
        for part in (per_client[:half], per_client[half:])
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = max(r[2] for r in results)
    return sum(r[0] for r in results) / elapsed, [x for r in results for x in r[1]]


def verify_rate(model: int, rows: list[list[float]]) -> float:
    """QueryAuth.verify calls per second on pre-signed queries (ed25519 verify, hashing, replay cache)."""
    genesis, now = b"\x01" * 32, int(time.time() * 1000)
    auth = QueryAuth(genesis)
    queries = []
    for i in range(3_000):
        named = named_params("model_predict", [model, [rows[i % len(rows)]], None, False, None])
        queries.append((named, sign_query(BOB, "model_predict", named, model, genesis, now + i)))
    started = time.perf_counter()
    for named, signed in queries:
        auth.verify("model_predict", named, model, signed)
    return len(queries) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--per-client", type=int, default=300, help="signed requests prepared per client")
    args = parser.parse_args()
    kind, weights, x = trained_model()
    rows = x[:64].round(4).tolist()
    node, url = start_node()
    try:
        public = register(url, kind, weights)
        signed_model = register(url, kind, weights)
        genesis = grant_reader(url, signed_model)
        now = int(time.time() * 1000)
        signed = [bodies(signed_model, rows, args.per_client, genesis, now + c * args.per_client)
                  for c in range(args.clients)]  # fmt: skip
        plain = [bodies(public, rows, args.per_client, None, 0) for _ in range(args.clients)]
        signed_rate, signed_lat = load(url, signed, args.seconds)
        plain_rate, _ = load(url, plain, args.seconds)
    finally:
        node.terminate()
        node.wait(timeout=20)
    ms = sorted(lat * 1000 for lat in signed_lat)
    print(
        f"signed_predict_per_s={signed_rate:.0f} signed_p99_ms={ms[int(len(ms) * 0.99)]:.2f} "
        f"unsigned_predict_per_s={plain_rate:.0f} verify_per_s={verify_rate(signed_model, rows):.0f}"
    )


if __name__ == "__main__":
    main()
