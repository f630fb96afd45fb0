"""Benchmark: versions share what did not change. 1,000 consecutive automatic versions of a 100,000-feature
sparse perceptron, each made by one block whose single contribution (a 200-feature row the model got wrong)
changed the weights, authored, sealed and committed on LevelDB like the node does; the state bytes of the
versions and artifacts, read back from the database, against 1,000 full copies; then predicting at an old
version (500, cold: weights cache emptied) through the node's query code.
Last line: versions=<n> stored_bytes=<n> full_copy_bytes=<n> ratio=<stored/full> old_version_predict_ms=<n>
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cmu.models import SCALE  # noqa: E402
from cmu.node import version_api  # noqa: E402
from cmu.node.chaindb import ChainDb  # noqa: E402
from pallets.model_registry import ModelRegistry  # noqa: E402
from pallets.model_registry.types import InputSpec  # noqa: E402
from pallets.versioning import Versioning  # noqa: E402
from runtime.crypto import dev_keypair  # noqa: E402
from runtime.executive import Runtime  # noqa: E402
from runtime.extrinsic import sign_extrinsic  # noqa: E402
from runtime.genesis import dev_spec  # noqa: E402
from runtime.pallet import Origin, Pallet, call  # noqa: E402
from runtime.storage.backend import LevelDBBackend  # noqa: E402
from runtime.storage.items import item_prefix  # noqa: E402
from runtime.storage.overlay import STATE_PREFIX  # noqa: E402
from runtime.types import I64, U32, ByteLength  # noqa: E402

FEATURES, NONZEROS, LABELS = 100_000, 200, ("spam", "ham")
Row = Annotated[list[U32], ByteLength(most=NONZEROS)]
RowValues = Annotated[list[I64], ByteLength(most=NONZEROS)]


class BenchTrainer(Pallet):
    """A minimal training pallet: one signed call trains the model on one row and hands the changed
    weights to Versioning.record_training_update, as the training pallet does."""

    name, index = "BenchTrainer", 252

    @call(index=0, weight=5_000_000)
    def train(self, origin: Origin, model: U32, features: Row, values: RowValues, label: U32) -> None:
        """One perceptron step on (features, values) with this label; the changed weights become this
        block's training version."""
        origin.ensure_signed()
        versioning = self.runtime.pallet(Versioning)
        registry = self.runtime.pallet(ModelRegistry)
        weights = versioning.weights_at(model, versioning.latest(model))
        step = registry.kind(registry.model(model).kind).update(weights, (features, values), label)
        versioning.record_training_update(model, self.block_number(), step.indices, step.values)


@dataclasses.dataclass
class Bench:
    """A LevelDB chain authored by alice, and a reader runtime that follows its head (as the node's)."""

    runtime: Runtime
    reader: Runtime
    chaindb: ChainDb
    backend: LevelDBBackend

    @classmethod
    def open(cls, path: Path) -> Bench:
        spec = dev_spec(["BenchTrainer"])
        backend = LevelDBBackend(str(path), create=True)
        runtime = Runtime(spec, backend, extra_pallets=[BenchTrainer], autoload=False)
        chaindb = ChainDb(backend)
        chaindb.open(runtime.head)
        reader = Runtime(spec, backend, extra_pallets=[BenchTrainer], autoload=False)
        return cls(runtime, reader, chaindb, backend)

    def block(self, name: str, /, **kwargs: Any) -> None:
        """Author, seal and commit a block holding one of alice's extrinsics (it must succeed)."""
        rt, alice = self.runtime, dev_keypair("alice")
        wire = rt.make_call(name, **kwargs).to_wire()
        data = sign_extrinsic(alice, wire, nonce=rt.system.next_nonce(alice.account),
                              genesis_hash=rt.genesis_hash, spec_version=rt.VERSION.spec_version)
        builder = rt.new_block(rt.head.timestamp + 6_000, alice.account)
        result = builder.push(data)
        if result.error is not None:
            raise SystemExit(f"{name} failed: {result.error}: {result.message}")
        pending = builder.finish(alice)
        rt.commit(pending, extra_puts=self.chaindb.block_records(pending, finalize=True))
        self.chaindb.advance(pending.header, finalize=True)
        self.reader.view(pending.header)


def register(bench: Bench) -> None:
    spec = InputSpec(FEATURES, True, 0, 4 * SCALE, NONZEROS)
    bench.block("ModelRegistry.register", name="bench", description="", task="spam", kind="sparse_perceptron",
                input_spec=spec, labels=LABELS, license="MIT", artifact=None)


def wrong_row(bench: Bench, rng: np.random.Generator) -> dict[str, Any]:
    """A 200-feature row and a label the latest weights get wrong (so the step changes them)."""
    features = np.sort(rng.choice(FEATURES, size=NONZEROS, replace=False))
    values = rng.integers(1, 4 * SCALE, size=NONZEROS)
    row = {int(f): int(v) for f, v in zip(features, values, strict=True)}
    answer = version_api.predict(bench.reader, 0, [row], True, "latest")
    label = 1 - int(answer["predictions"][0]["label"])
    return {"model": 0, "features": features.tolist(), "values": values.tolist(), "label": label}


def stored_bytes(backend: LevelDBBackend) -> tuple[int, int]:
    """(bytes of state keys and values of Versioning's items and the registry's artifacts, chunks and
    chunk refs, read from LevelDB; bytes of all state)."""
    prefixes = [item_prefix("Versioning", item.name) for item in Versioning.storage_items.values()]
    prefixes += [item_prefix("ModelRegistry", n) for n in ("artifacts", "chunks", "chunk_refs")]
    mine = total = 0
    for key, value in backend.iterate(STATE_PREFIX):
        size = len(key) + len(value)
        total += size
        if any(key[len(STATE_PREFIX):].startswith(p) for p in prefixes):
            mine += size
    return mine, total


def time_predict(bench: Bench, version: int, rng: np.random.Generator, *, cold: bool) -> float:
    row = {int(f): int(SCALE) for f in rng.choice(FEATURES, size=NONZEROS, replace=False)}
    if cold:
        bench.reader.pallet(ModelRegistry).weights.clear()
    started = time.perf_counter()
    answer = version_api.predict(bench.reader, 0, [row], True, version)
    elapsed = (time.perf_counter() - started) * 1000
    if answer["version"] != version:
        raise SystemExit("predicted at the wrong version")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=1_000)
    parser.add_argument("--old", type=int, default=500, help="the old version predictions are timed at")
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory(prefix="cmu-bench-versions-") as tmp:
        bench = Bench.open(Path(tmp) / "db")
        try:
            register(bench)
            started = time.perf_counter()
            for done in range(1, args.versions + 1):
                bench.block("BenchTrainer.train", **wrong_row(bench, rng))
                if done % 100 == 0:
                    per_block = (time.perf_counter() - started) / done * 1000
                    print(f"{done} versions, {per_block:.1f} ms per block", flush=True)
            report(bench, args, rng)
        finally:
            bench.backend.close()


def report(bench: Bench, args: argparse.Namespace, rng: np.random.Generator) -> None:
    pallet = bench.reader.pallet(Versioning)
    versions = pallet.latest(0)  # version 0 is the registration; 1.. are the training versions
    if versions != args.versions:
        raise SystemExit(f"expected {args.versions} training versions, found {versions}")
    full_size = bench.reader.pallet(ModelRegistry).artifacts[pallet.version(0, 0).artifact].size
    mine, total = stored_bytes(bench.backend)
    full = full_size * versions
    checkpoints = sum(1 for n in range(1, versions + 1) if pallet.version(0, n).full)
    old = min(args.old, versions)
    cold = [time_predict(bench, old, rng, cold=True) for _ in range(5)]
    warm = [time_predict(bench, old, rng, cold=False) for _ in range(20)]
    disk = sum(f.stat().st_size for f in Path(bench.backend.path).iterdir() if f.is_file())
    print(f"artifact {full_size} bytes; {checkpoints} checkpoints; all state {total} bytes; whole database "
          f"on disk (blocks, trie nodes, history index, compressed) {disk} bytes; "
          f"predict at version {old}: cold median {statistics.median(cold):.1f} ms, "
          f"warm median {statistics.median(warm):.2f} ms")
    print(f"versions={versions} stored_bytes={mine} full_copy_bytes={full} ratio={mine / full:.4f} "
          f"old_version_predict_ms={statistics.median(cold):.1f}")


if __name__ == "__main__":
    main()
