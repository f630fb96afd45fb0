"""`nearest_centroid`: class centroids as running means in fixed point (dense rows only).

Layout: flat = [n_0 .. n_{C-1} (examples per class), S[0, 0..F-1], .., S[C-1, 0..F-1] (Q.16 sums)].
Centroid: mu_ci = floor((2 * S_ci + n_c) / (2 * n_c)), i.e. S_ci / n_c rounded half up, within 1/2 ulp
of the exact mean and inside [min_value, max_value]. Exact score (Q.32) = -sum_i (x_i - mu_ci)**2, so
the label is the nearest centroid (squared Euclidean, ties to the lowest label); classes without
examples score EMPTY_SCORE. Update = n_y += 1, S_y += x (O(nnz)); an update past count_bound is skipped
and reported as saturated.
Bounds: F * (max_value - min_value)**2 < 2**62 (every distance sum) and
count_bound * (2 * max_abs + 1) <= 2**62 (the rounding numerator), checked on create and decode.
Tolerance against the float formula on the same weights (mean = S / n / SCALE, exact):
|d_fixed - d_float| <= 2**-16 * sum_i |x_i - mean_ci| + F * 2**-34 per class, and the reported score
floor(-d / 2**16) adds at most 2**-16; labels equal the float argmin unless the float top two distances
differ by less than the sum of their two bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt

from cmu.models.base import Delta, ModelKind
from cmu.models.errors import BadParams, BadSpec, MalformedWeights
from cmu.models.fixed import EMPTY_SCORE_Q32, SCORE_BOUND
from cmu.models.spec import FixedRows, InputSpec, SparseRow
from cmu.models.weights import Weights

I64 = npt.NDArray[np.int64]
EMPTY = np.zeros(0, dtype=np.int64)
MAX_COUNT: Final = 1 << 40
CHUNK: Final = 1 << 20
"""Rows x labels x features held at once while computing distances."""


class NearestCentroid(ModelKind):
    """Nearest class mean (squared Euclidean), trained by adding to per-class sums and counts."""

    name = "nearest_centroid"
    trainable = True
    sparse_ok = False
    param_names: ClassVar[tuple[str, ...]] = ("count_bound",)

    def resolve_params(self, spec: InputSpec, n_labels: int, given: Mapping[str, int]) -> dict[str, int]:
        if spec.n_features * (spec.max_value - spec.min_value) ** 2 >= SCORE_BOUND:
            raise BadSpec("n_features * (max_value - min_value)**2 must stay below 2**62")
        top = min(MAX_COUNT, SCORE_BOUND // (2 * spec.max_abs + 1))
        bound = given.get("count_bound", top)
        if not 1 <= bound <= top:
            raise BadParams(f"count_bound must be in [1, {top}] for this spec, got {bound}")
        return {"count_bound": bound}

    def flat_size(self, spec: InputSpec, n_labels: int) -> int:
        return n_labels * (spec.n_features + 1)

    def check_flat(self, w: Weights) -> None:
        n, sums = _split(w)
        if np.any((n < 0) | (n > w.param("count_bound"))):
            raise MalformedWeights("a centroid count is negative or above count_bound")
        lo, hi = n[:, None] * w.spec.min_value, n[:, None] * w.spec.max_value
        if np.any((sums < lo) | (sums > hi)):
            raise MalformedWeights("a centroid sum is outside count * [min_value, max_value]")

    def scores_q32(self, w: Weights, rows: FixedRows) -> I64:
        if not isinstance(rows, np.ndarray):
            raise BadSpec("nearest_centroid takes dense rows only")
        n, _ = _split(w)
        mu = centroids(w)
        step = max(1, CHUNK // max(1, mu.size))
        parts = [_neg_sq_dist(rows[i:i + step], mu) for i in range(0, rows.shape[0], step)]
        scores = np.concatenate(parts) if parts else np.zeros((0, w.n_labels), dtype=np.int64)
        scores[:, n == 0] = EMPTY_SCORE_Q32
        return scores

    def delta(self, w: Weights, row: SparseRow, label: int) -> Delta:
        n, sums = _split(w)
        if n[label] + 1 > w.param("count_bound"):
            return Delta(EMPTY, EMPTY, None, True)
        n_lab, n_feat = sums.shape
        idx = np.concatenate(([label], n_lab + label * n_feat + row.indices)).astype(np.int64)
        new = np.concatenate(([n[label] + 1], sums[label, row.indices] + row.values)).astype(np.int64)
        return Delta(idx, new, None, False)


def centroids(w: Weights) -> I64:
    """The (C, F) Q.16 centroids, rounded half up; rows of empty classes are 0."""
    n, sums = _split(w)
    safe = np.maximum(n, 1)[:, None]
    out: I64 = (2 * sums + safe) // (2 * safe)
    return out


def _split(w: Weights) -> tuple[I64, I64]:
    """Views of the counts (C,) and the sums (C, F)."""
    c = w.n_labels
    return w.flat[:c], w.flat[c:].reshape(c, w.spec.n_features)


def _neg_sq_dist(rows: I64, mu: I64) -> I64:
    diff = rows[:, None, :] - mu[None, :, :]
    out: I64 = -np.einsum("rcf,rcf->rc", diff, diff)
    return out
