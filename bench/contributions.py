"""Benchmark: training contributions imported per second through the full state-transition function.

A producer runtime builds blocks of signed `Training.add_data` extrinsics to one sparse perceptron (100,000
features, 200 non-zero per row, 2 labels) from many contributors; a second runtime on a fresh LevelDB
imports them (decode, signature, nonce, fee, access check, deposit hold, record, fixed-point update,
Versioning's per-block version, events, state root, one write batch per block): the path every node
takes. The same stream is then trained by a bare float numpy perceptron loop, for comparison. Each rate
is the best of --repeat runs (a fresh LevelDB each time), as timeit does, because the machine is shared.
Last line: contributions_per_s=<n> bare_numpy_per_s=<n> ratio=<contributions/bare>
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cmu.node.runner import tune_gc
from pallets.model_registry.types import InputSpec
from pallets.training.types import Mechanism
from runtime.crypto import Keypair, address, blake2_256, dev_keypair
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import TOKEN, ChainSpec, dev_spec
from runtime.storage.backend import LevelDBBackend, MemoryBackend

N_FEATURES, NNZ = 100_000, 200
SCALE = 1 << 16


def funded_spec(keys: list[Keypair]) -> ChainSpec:
    """The dev spec with every contributor funded."""
    spec = dev_spec()
    funded = [[address(k.account), 1_000 * TOKEN] for k in keys]
    balances = list(spec.genesis["Balances"]["balances"]) + funded
    return spec.with_pallets(genesis={"Balances": {"balances": balances}})


def stream(count: int, seed: int = 7) -> tuple[list[list[int]], list[int]]:
    """Sparse binary rows (sorted distinct indices) labelled by a hidden linear rule."""
    gen = np.random.default_rng(seed)
    hidden = gen.standard_normal(N_FEATURES)
    rows, labels = [], []
    for _ in range(count):
        idx = np.sort(gen.choice(N_FEATURES, NNZ, replace=False))
        rows.append(idx.tolist())
        labels.append(int(hidden[idx].sum() > 0))
    return rows, labels


class Producer:
    """Builds the benchmark's blocks on an in-memory runtime."""

    def __init__(self, spec: ChainSpec) -> None:
        self.rt = Runtime(spec, MemoryBackend(), autoload=False)
        self.alice = dev_keypair("alice")
        self.nonces: dict[bytes, int] = {}
        self.blocks: list[Any] = []

    def block(self, extrinsics: list[tuple[Keypair, str, str, list[Any]]]) -> None:
        """One block of (signer, pallet, call, wire args) extrinsics, 2 s after the previous one."""
        rt = self.rt
        builder = rt.new_block(rt.head.timestamp + 2_000, self.alice.account)
        for key, pallet, name, args in extrinsics:
            spec = rt.pallet_by_name(pallet).call_specs[name]
            nonce = self.nonces.get(bytes(key.account), 0)
            xt = sign_extrinsic(key, [spec.pallet_index, spec.index, args], nonce=nonce,
                                genesis_hash=rt.genesis_hash, spec_version=rt.VERSION.spec_version)
            result = builder.push(xt)
            if result.error:
                raise SystemExit(f"{pallet}.{name} failed while producing: {result.error} {result.message}")
            self.nonces[bytes(key.account)] = nonce + 1
        pending = builder.finish(self.alice)
        rt.commit(pending)
        self.blocks.append(pending.block)


def produce(keys: list[Keypair], rows: list[list[int]], labels: list[int], per_block: int) -> tuple[
        ChainSpec, list[Any], int]:
    """Setup blocks (register, configure) and the contribution blocks; returns (spec, blocks, n_setup)."""
    spec = funded_spec(keys)
    producer = Producer(spec)
    alice = producer.alice
    input_spec = InputSpec(N_FEATURES, True, 0, SCALE, NNZ)
    register = ["bench", "", "classification", "sparse_perceptron",
                [input_spec.n_features, True, 0, SCALE, NNZ], ["neg", "pos"], "MIT", None]
    producer.block([(alice, "ModelRegistry", "register", register)])
    config = [0, True, Mechanism.STAKE.value, 3_600, 86_400, 864_000, 1_000, 64]
    producer.block([(alice, "Training", "set_config", config)])
    for start in range(0, len(rows), per_block):
        batch = [(keys[i % len(keys)], "Training", "add_data", [0, rows[i], labels[i]])
                 for i in range(start, min(start + per_block, len(rows)))]
        producer.block(batch)
    return spec, producer.blocks, 2


def import_rate(spec: ChainSpec, blocks: list[Any], setup: int, path: str) -> float:
    """Contributions per second imported by a fresh LevelDB-backed runtime (commit included)."""
    backend = LevelDBBackend(path)
    importer = Runtime(spec, backend, autoload=False)
    for block in blocks[:setup]:
        importer.commit(importer.import_block(block))
    tune_gc()  # the node's garbage-collector settings (service.runner), applied after its start-up
    count = 0
    started = time.perf_counter()
    for block in blocks[setup:]:
        importer.commit(importer.import_block(block))
        count += len(block.extrinsics) - 1
    elapsed = time.perf_counter() - started
    backend.close()
    return count / elapsed


def bare_numpy_rate(rows: list[list[int]], labels: list[int]) -> float:
    """The same stream through a float perceptron in a plain numpy loop (no chain at all)."""
    weights = np.zeros((2, N_FEATURES))
    bias = np.zeros(2)
    arrays = [np.asarray(r, dtype=np.int64) for r in rows]
    started = time.perf_counter()
    for idx, label in zip(arrays, labels, strict=True):
        predicted = int(np.argmax(weights[:, idx].sum(axis=1) + bias))
        if predicted != label:
            weights[label, idx] += 1.0
            weights[predicted, idx] -= 1.0
            bias[label] += 1.0
            bias[predicted] -= 1.0
    return len(rows) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contributions", type=int, default=10_000)
    parser.add_argument("--contributors", type=int, default=1_000)
    parser.add_argument("--per-block", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keys = [Keypair.from_seed(blake2_256(b"bench-contributor-%d" % i)) for i in range(args.contributors)]
    rows, labels = stream(args.contributions)
    spec, blocks, setup = produce(keys, rows, labels, args.per_block)
    rates = []
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            rates.append(import_rate(spec, blocks, setup, os.path.join(tmp, f"db{run}")))
    rate = max(rates)
    bare = max(bare_numpy_rate(rows, labels) for _ in range(args.repeat))
    print(f"imported {len(blocks) - setup} blocks of {args.per_block} contributions "
          f"({NNZ} of {N_FEATURES} features) from {args.contributors} contributors; "
          f"runs: {', '.join(f'{r:.0f}' for r in rates)} per s")
    print(f"contributions_per_s={rate:.0f} bare_numpy_per_s={bare:.0f} ratio={rate / bare:.3f}")


if __name__ == "__main__":
    main()
