"""Micro-benchmark of the state trie: one block's update + commit on a small and a large state.

Builds a LevelDB state of 10^4 and one of 10^6 keys (batches of 100k through StateTrie.update), then times
update() + backend.write(node writes + value puts) for 3,000 random existing keys given new 40-byte values
(plus, with --inserts N, N new keys: ``--changes 1000 --inserts 1000`` is the shape of a block of 1,000
transfers to new accounts), median of 5 runs with different keys. Each size also prints the update's cost
per written node. The last line is machine-readable:
``update_commit_ms_small=<n> update_commit_ms_large=<n> ratio=<large/small>``.
Usage: ``python bench/trie_micro.py [--small N] [--large N] [--changes N] [--inserts N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from runtime.storage.backend import LevelDBBackend
from runtime.trie import StateTrie

NODE_PREFIX = b"\x01trie/"
STATE_PREFIX = b"\x02state/"
BUILD_BATCH = 100_000
VALUE_LEN = 40


def storage_key(i: int) -> bytes:
    """A storage key shaped like a map entry: pallet/item prefix + an 8-byte id."""
    return b"Bench/Items/" + i.to_bytes(8, "big")


def fmt_ms(ns: int) -> str:
    """Nanoseconds as milliseconds with one decimal, without floats."""
    tenths = ns // 100_000
    return f"{tenths // 10}.{tenths % 10}"


def commit(db: LevelDBBackend, trie: StateTrie, changes: dict[bytes, bytes | None]) -> None:
    """One block: trie update + one atomic write of node writes and flat-state value puts."""
    _, writes = trie.update(changes)
    puts = [(STATE_PREFIX + k, v) for k, v in changes.items() if v is not None]
    db.write(writes + puts)


def build(db: LevelDBBackend, n: int, rng: random.Random) -> StateTrie:
    """Insert n keys in batches of BUILD_BATCH, committing each batch."""
    trie = StateTrie(db, NODE_PREFIX)
    start = time.perf_counter_ns()
    for lo in range(0, n, BUILD_BATCH):
        hi = min(n, lo + BUILD_BATCH)
        commit(db, trie, {storage_key(i): rng.randbytes(VALUE_LEN) for i in range(lo, hi)})
    print(f"build n={n}: {fmt_ms(time.perf_counter_ns() - start)} ms")
    return trie


def time_blocks(db: LevelDBBackend, trie: StateTrie, n: int, changes: int, inserts: int, runs: int) -> int:
    """Median ns of update + commit over `runs` blocks of `changes` distinct random existing keys and
    `inserts` new keys."""
    rng = random.Random(n)
    samples: list[int] = []
    update_ns: list[int] = []
    per_node: list[int] = []
    fresh = n
    for _ in range(runs):
        block: dict[bytes, bytes | None] = {
            storage_key(i): rng.randbytes(VALUE_LEN) for i in rng.sample(range(n), changes)
        }
        block.update({storage_key(i): rng.randbytes(VALUE_LEN) for i in range(fresh, fresh + inserts)})
        fresh += inserts
        start = time.perf_counter_ns()
        _, writes = trie.update(block)
        mid = time.perf_counter_ns()
        puts = [(STATE_PREFIX + k, v) for k, v in block.items() if v is not None]
        db.write(writes + puts)
        end = time.perf_counter_ns()
        samples.append(end - start)
        update_ns.append(mid - start)
        nodes, node_bytes = len(writes), sum(len(v) for _, v in writes)
        per_node.append((mid - start) // max(1, nodes))
    median = int(statistics.median_low(samples))
    print(
        f"n={n}: update+commit median {fmt_ms(median)} ms (update alone "
        f"{fmt_ms(int(statistics.median_low(update_ns)))} ms, {statistics.median_low(per_node)} ns "
        f"per node; last block {nodes} nodes, {node_bytes} bytes)"
    )
    return median


def measure(n: int, changes: int, inserts: int, runs: int) -> int:
    """Build a state of n keys in a temp LevelDB and time blocks on it."""
    with tempfile.TemporaryDirectory(prefix="trie-bench-") as path:
        db = LevelDBBackend(path)
        try:
            trie = build(db, n, random.Random(0))
            return time_blocks(db, trie, n, changes, inserts, runs)
        finally:
            db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=3_000)
    parser.add_argument("--inserts", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    small = measure(args.small, args.changes, args.inserts, args.runs)
    large = measure(args.large, args.changes, args.inserts, args.runs)
    ratio = large * 100 // small
    print(
        f"update_commit_ms_small={fmt_ms(small)} update_commit_ms_large={fmt_ms(large)} "
        f"ratio={ratio // 100}.{ratio % 100:02d}"
    )


if __name__ == "__main__":
    main()
