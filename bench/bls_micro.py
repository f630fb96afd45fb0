"""Micro-benchmark of runtime.bls: ops/s of sign, verify, aggregate of 4 and fast_aggregate_verify of 4 keys.

Runs every available backend (py-ecc always, arkworks when the fast-bls extra is installed). Each figure is
the best of --runs timed batches, a batch lasting at least --min-seconds. Public keys are decoded once and
cached per backend, as for a validator set that verifies every block. The last line is machine-readable:
``pyecc_verify_ms=<n> fast_verify_ms=<n or none> fast_backend=<name or none>``.
Usage: ``python bench/bls_micro.py [--runs N] [--min-seconds S]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from runtime import bls

SIGNERS = 4
MESSAGE = b"finality|chain=dev|number=42|hash=" + bytes(32)


def ops_per_second(op: Callable[[], object], runs: int, min_seconds: float) -> float:
    """The best rate of `op` over `runs` batches, each repeating it for at least `min_seconds`."""
    best = 0.0
    for _ in range(runs):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < min_seconds or count == 0:
            op()
            count += 1
        best = max(best, count / elapsed)
    return best


def bench_backend(backend: bls.Backend, runs: int, min_seconds: float) -> dict[str, float]:
    """ops/s of the four operations on one backend."""
    sks = [bls.keygen(bytes([i + 1]) * 32) for i in range(SIGNERS)]
    pks = [backend.public_key(sk) for sk in sks]
    sigs = [backend.sign(sk, MESSAGE) for sk in sks]
    agg = backend.aggregate(sigs)
    ops: dict[str, Callable[[], object]] = {
        "sign": lambda: backend.sign(sks[0], MESSAGE),
        "verify": lambda: backend.verify(pks[0], MESSAGE, sigs[0]),
        f"aggregate_{SIGNERS}": lambda: backend.aggregate(sigs),
        f"fast_aggregate_verify_{SIGNERS}": lambda: backend.fast_aggregate_verify(pks, MESSAGE, agg),
    }
    return {name: ops_per_second(op, runs, min_seconds) for name, op in ops.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=0.5)
    args = parser.parse_args()
    verify_ms: dict[str, float] = {}
    for name in bls.available_backends():
        rates = bench_backend(bls.get_backend(name), args.runs, args.min_seconds)
        for op, rate in rates.items():
            print(f"{name:9s} {op:26s} {rate:10.1f} ops/s  {1000 / rate:9.3f} ms/op")
        verify_ms[name] = 1000 / rates["verify"]
    fast = next((name for name in verify_ms if name != bls.PY_ECC), None)
    fast_ms = f"{verify_ms[fast]:.3f}" if fast else "none"
    pyecc_ms = f"{verify_ms[bls.PY_ECC]:.1f}"
    print(f"pyecc_verify_ms={pyecc_ms} fast_verify_ms={fast_ms} fast_backend={fast or 'none'}")


if __name__ == "__main__":
    main()
