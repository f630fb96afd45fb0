"""Micro-benchmark of the fixed-point model kinds: sparse predict/update cost must not grow with features.

For the sparse perceptron and sparse naive Bayes at 10,000 and 100,000 features (10 labels, 200 non-zeros
per row, counts up to 255) it times one-row predict, one-row update (the delta only, as the chain uses it)
and per-example cost inside `train`, medians over runs. The last line is machine-readable:
``sp_predict_us_100k=<n> sp_update_us_100k=<n> nb_predict_us_100k=<n> nb_update_us_100k=<n>
ratio_100k_10k=<sparse perceptron update 100k / 10k>``.
Usage: ``python bench/models_micro.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from cmu.models import SCALE, InputSpec, SparseRow, get_kind

NNZ, LABELS = 200, 10


def rows(n_features: int, count: int, seed: int = 0) -> list[SparseRow]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        idx = np.sort(rng.choice(n_features, NNZ, replace=False)).astype(np.int64)
        out.append(SparseRow(idx, rng.integers(1, 256, NNZ).astype(np.int64) * SCALE))
    return out


def median_us(fn: Callable[[int], object], runs: int) -> float:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def bench_kind(name: str, n_features: int, runs: int) -> dict[str, float]:
    kind = get_kind(name)
    spec = InputSpec(n_features, True, 0, 255 * SCALE, max_nonzeros=NNZ)
    data = rows(n_features, max(runs, 200))
    labels = [i % LABELS for i in range(len(data))]
    w = kind.train(kind.init_weights(spec, LABELS), data[:100], labels[:100])
    out = {
        "predict": median_us(lambda i: kind.predict(w, [data[i]]), runs),
        "update": median_us(lambda i: kind.update(w, data[i], labels[i]), runs),
    }
    t0 = time.perf_counter()
    kind.train(w, data, labels)
    out["train_per_row"] = (time.perf_counter() - t0) / len(data) * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    results: dict[tuple[str, int], dict[str, float]] = {}
    for name in ("sparse_perceptron", "naive_bayes"):
        for n_features in (10_000, 100_000):
            r = bench_kind(name, n_features, args.runs)
            results[(name, n_features)] = r
            print(f"{name:18s} features={n_features:>7d} nnz={NNZ} labels={LABELS}: "
                  f"predict {r['predict']:8.1f} us  update {r['update']:8.1f} us  "
                  f"train {r['train_per_row']:8.1f} us/row")
    sp, nb = results[("sparse_perceptron", 100_000)], results[("naive_bayes", 100_000)]
    ratio = sp["update"] / results[("sparse_perceptron", 10_000)]["update"]
    print(f"sp_predict_us_100k={sp['predict']:.1f} sp_update_us_100k={sp['update']:.1f} "
          f"nb_predict_us_100k={nb['predict']:.1f} nb_update_us_100k={nb['update']:.1f} "
          f"ratio_100k_10k={ratio:.2f}")


if __name__ == "__main__":
    main()
