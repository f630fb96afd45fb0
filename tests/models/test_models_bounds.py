"""Overflow safety: weights at their documented bounds with inputs at the spec's extremes score exactly,
and training saturates (perceptrons clamp; count kinds skip the step) instead of wrapping."""

from __future__ import annotations

import math

import numpy as np

from cmu.models import SCALE, InputSpec, Weights, apply_delta, get_kind

I64 = np.int64


def filled(name: str, spec: InputSpec, n_labels: int, values: list[int], **params: int) -> Weights:
    kind = get_kind(name)
    w = kind.init_weights(spec, n_labels, params)
    return kind.validate(apply_delta(w, np.arange(len(values), dtype=I64), np.array(values, dtype=I64)))


def test_perceptron_scores_exactly_at_its_bounds() -> None:
    spec = InputSpec(8, False, -(2**47), 2**47)
    kind = get_kind("dense_perceptron")
    bound = kind.init_weights(spec, 2).param("weight_bound")
    assert (8 * 2**47 + SCALE) * bound < 2**62 <= (8 * 2**47 + SCALE) * (bound + 1)
    w = filled("dense_perceptron", spec, 2, [bound, -bound] + [bound] * 8 + [-bound] * 8)
    rows = [[2**47] * 8, [-(2**47)] * 8]
    labels, scores = kind.predict(w, rows)
    for r, row in enumerate(rows):
        exact = [sum(wi * x for wi, x in zip(w.flat[2 + 8 * c: 10 + 8 * c].tolist(), row, strict=True))
                 + int(w.flat[c]) * SCALE for c in range(2)]
        assert scores[r].tolist() == [e >> 16 for e in exact]
        assert labels[r] == max(range(2), key=lambda c: (exact[c], -c))


def test_perceptron_training_saturates_at_weight_bound() -> None:
    spec = InputSpec(3, False, -SCALE, SCALE)
    kind = get_kind("dense_perceptron")
    bound = SCALE // 2  # below one step: the first mistake already saturates
    w = kind.init_weights(spec, 3, {"weight_bound": bound})
    saturated = 0
    for step in range(30):
        result = kind.update(w, [SCALE, SCALE // 3, -SCALE], [1, 2, 1, 0, 2][step % 5])
        saturated += result.saturated
        assert np.array_equal(result.indices, np.flatnonzero(result.weights.flat != w.flat))
        w = result.weights
        assert np.all(np.abs(w.flat) <= bound)
    assert saturated > 0 and np.abs(w.flat).max() == bound


def test_naive_bayes_scores_within_tolerance_at_its_bounds() -> None:
    spec = InputSpec(4, False, 0, 2**38)
    kind = get_kind("naive_bayes")
    w0 = kind.init_weights(spec, 2)
    cb, eb = w0.param("count_bound"), w0.param("example_bound")
    quarter = cb // 4
    layout = [eb, 1, 4 * quarter, 1, quarter, quarter, quarter, quarter, 1, 0, 0, 0]  # n, totals, counts
    w = filled("naive_bayes", spec, 2, layout)
    x = [2**38, 2**38, 0, 2**38]
    labels, scores = kind.predict(w, [x])
    for c in range(2):
        n, tot = int(w.flat[c]), int(w.flat[2 + c])
        feats = w.flat[4 + 4 * c: 8 + 4 * c].tolist()
        log_theta = [math.log(fi + SCALE) - math.log(tot + 4 * SCALE) for fi in feats]
        ref = math.log(n / (eb + 1)) + sum(xi / SCALE * lt for xi, lt in zip(x, log_theta, strict=True))
        assert abs(scores[0, c] / SCALE - ref) <= 2**-16 * (1 + 0.51 * (1 + sum(x) / SCALE)) + 1e-6 * abs(ref)
    assert labels.tolist() == [1]


def test_naive_bayes_skips_updates_past_its_bounds() -> None:
    spec = InputSpec(3, False, 0, 4 * SCALE)
    kind = get_kind("naive_bayes")
    w = kind.init_weights(spec, 2, {"count_bound": 10 * SCALE, "example_bound": 3})
    flags = []
    for _ in range(5):
        result = kind.update(w, [2 * SCALE, SCALE, 0], 1)
        flags.append(result.saturated)
        assert result.changed != result.saturated
        w = result.weights
    assert flags == [False, False, False, True, True]
    assert w.flat.tolist()[:4] == [0, 3, 0, 9 * SCALE]


def test_nearest_centroid_scores_exactly_at_its_bounds() -> None:
    spec = InputSpec(4, False, -(2**28), 2**28)
    kind = get_kind("nearest_centroid")
    cb = kind.init_weights(spec, 2).param("count_bound")
    assert cb * (2 * 2**28 + 1) <= 2**62
    w = filled("nearest_centroid", spec, 2, [cb, cb] + [cb * 2**28] * 4 + [cb * -(2**28)] * 4)
    labels, scores = kind.predict(w, [[-(2**28)] * 4, [2**28 - 1] * 4])
    assert scores.tolist() == [[-(4 * 2**58) >> 16, 0], [-4 >> 16, -(4 * (2**29 - 1) ** 2) >> 16]]
    assert labels.tolist() == [1, 0]


def test_nearest_centroid_rounds_half_up_and_skips_past_count_bound() -> None:
    spec = InputSpec(1, False, -4, 4)
    kind = get_kind("nearest_centroid")
    w = kind.init_weights(spec, 2, {"count_bound": 2})
    w = kind.train(w, [[1], [2], [-3], [-2]], [0, 0, 1, 1])
    result = kind.update(w, [[4]][0], 0)
    assert result.saturated and not result.changed
    from cmu.models.centroid import centroids

    assert centroids(w).tolist() == [[2], [-2]]  # 3/2 -> 2 and -5/2 -> -2 (half up)
