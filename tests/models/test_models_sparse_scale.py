"""The sparse kinds at 100,000 features with 200 non-zeros: a step touches O(nnz x labels) weights.

Timing lives in bench/models_micro.py; here the changed-index sets are asserted exactly.
"""

from __future__ import annotations

import numpy as np

from cmu.models import SCALE, InputSpec, SparseRow, get_kind

F, NNZ, C = 100_000, 200, 10
SPEC = InputSpec(F, True, 0, 255 * SCALE, max_nonzeros=NNZ)


def row(seed: int) -> SparseRow:
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(F, NNZ, replace=False)).astype(np.int64)
    vals = rng.integers(1, 256, NNZ).astype(np.int64) * SCALE
    return SparseRow(idx, vals)


def test_sparse_perceptron_update_changes_only_two_rows_of_nonzeros() -> None:
    kind = get_kind("sparse_perceptron")
    w = kind.init_weights(SPEC, C)
    x = row(1)
    result = kind.update(w, x, 7)
    assert result.predicted == 0
    expected = np.sort(np.concatenate([[0, 7], C + 0 * F + x.indices, C + 7 * F + x.indices]))
    assert result.indices.size == 2 * NNZ + 2
    assert np.array_equal(result.indices, expected)
    labels, scores = kind.predict(result.weights, [x, row(2)])
    assert labels[0] == 7
    assert scores[0, 7] == (int((x.values * x.values).sum()) >> 16) + SCALE


def test_sparse_perceptron_scores_match_float_on_touched_columns() -> None:
    kind = get_kind("sparse_perceptron")
    w = kind.train(kind.init_weights(SPEC, C), [row(s) for s in range(30)], [s % C for s in range(30)])
    probe = row(99)
    _, scores = kind.predict(w, [probe])
    mat = w.flat[C:].reshape(C, F)
    ref = (mat[:, probe.indices] / SCALE) @ (probe.values / SCALE) + w.flat[:C] / SCALE
    assert np.all(np.abs(scores[0] / SCALE - ref) <= 2**-16 + 1e-9 * np.abs(ref))


def test_sparse_naive_bayes_update_changes_only_the_row_and_two_counters() -> None:
    kind = get_kind("naive_bayes")
    w = kind.init_weights(SPEC, C)
    x = row(3)
    result = kind.update(w, x, 4)
    assert result.indices.size == NNZ + 2
    assert np.array_equal(result.indices, np.concatenate([[4, C + 4], 2 * C + 4 * F + x.indices]))
    labels, _ = kind.predict(result.weights, [x])
    assert labels.tolist() == [4]
