"""`naive_bayes`: multinomial naive Bayes on non-negative counts (dense rows or sparse index rows).

Layout: flat = [n_0 .. n_{C-1} (examples seen per class, plain ints), T_0 .. T_{C-1} (Q.16 sum of all
counts of the class), N[0, 0..F-1], .., N[C-1, 0..F-1] (Q.16 count sum per class and feature)].
Smoothing alpha = alpha_num / alpha_den (ints in [1, 2**16], default 1/1, a rational so no float):
    theta_ci = (N_ci + alpha * SCALE) / (T_c + alpha * SCALE * F)       (SCALE cancels: real counts)
    prior_c = n_c / sum(n)                                               (as sklearn's fit_prior=True)
    score_c = ln(prior_c) + sum_i x_i * ln(theta_ci)                     (x in real units)
Both logs come from models.fixed.ln_ratio_q16 (|error| <= 0.51 * 2**-16 each). The exact Q.32 score is
prior_q16 * SCALE + sum_i x_q16 * ln_q16, so |exact / 2**32 - score| <= 0.51 * 2**-16 * (1 + sum_i x_i)
and the reported floor(exact / 2**16) adds at most 2**-16 more. Labels equal the float argmax unless
the float top two differ by less than 2 * 0.51 * 2**-16 * (1 + sum_i x_i). Classes without examples
score EMPTY_SCORE (sklearn: -inf). Update = add counts (O(nnz)). Bounds: T_c <= count_bound with
T_c * alpha_den + alpha_num * SCALE * F < 2**62 (so every log argument fits int64), n_c <= example_bound
<= 2**46, and (terms * max_abs + SCALE) * 44 * SCALE < 2**62 (every score sum); an update that would
pass a bound is skipped and reported as saturated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt

from cmu.models.base import Delta, ModelKind
from cmu.models.errors import BadParams, BadSpec, MalformedWeights
from cmu.models.fixed import EMPTY_SCORE_Q32, LN_BOUND, SCALE, SCORE_BOUND, exact_row_sums, ln_ratio_q16
from cmu.models.spec import FixedRows, InputSpec, SparseRow
from cmu.models.weights import Weights

I64 = npt.NDArray[np.int64]
EMPTY = np.zeros(0, dtype=np.int64)
MAX_ALPHA_PART: Final = 1 << 16
MAX_EXAMPLES: Final = 1 << 46


class NaiveBayes(ModelKind):
    """Multinomial naive Bayes with rational Laplace/Lidstone smoothing, trained by adding counts."""

    name = "naive_bayes"
    trainable = True
    counts = True
    param_names: ClassVar[tuple[str, ...]] = ("alpha_num", "alpha_den", "count_bound", "example_bound")

    def resolve_params(self, spec: InputSpec, n_labels: int, given: Mapping[str, int]) -> dict[str, int]:
        if (spec.terms * spec.max_abs + SCALE) * LN_BOUND >= SCORE_BOUND:
            raise BadSpec("terms * max_abs is too large: naive Bayes scores could reach 2**62")
        a_num, a_den = given.get("alpha_num", 1), given.get("alpha_den", 1)
        if not (1 <= a_num <= MAX_ALPHA_PART and 1 <= a_den <= MAX_ALPHA_PART):
            raise BadParams(f"alpha_num and alpha_den must be in [1, 2**16], got {a_num}, {a_den}")
        top = (SCORE_BOUND - 1 - a_num * SCALE * spec.n_features) // a_den
        out = {"alpha_num": a_num, "alpha_den": a_den,
               "count_bound": given.get("count_bound", top),
               "example_bound": given.get("example_bound", MAX_EXAMPLES)}
        if not 1 <= out["count_bound"] <= top:
            raise BadParams(f"count_bound must be in [1, {top}] for this spec and alpha")
        if not 1 <= out["example_bound"] <= MAX_EXAMPLES:
            raise BadParams(f"example_bound must be in [1, 2**46], got {out['example_bound']}")
        return out

    def flat_size(self, spec: InputSpec, n_labels: int) -> int:
        return n_labels * (spec.n_features + 2)

    def check_flat(self, w: Weights) -> None:
        n, tot, mat = _split(w)
        cb, eb = w.param("count_bound"), w.param("example_bound")
        if np.any((n < 0) | (n > eb)) or np.any((tot < 0) | (tot > cb)) or np.any((mat < 0) | (mat > cb)):
            raise MalformedWeights("a naive Bayes count is negative or above its bound")
        if exact_row_sums(mat) != [int(t) for t in tot]:
            raise MalformedWeights("a naive Bayes class total is not the sum of its feature counts")
        if np.any((n == 0) & (tot != 0)):
            raise MalformedWeights("a naive Bayes class has counts but no examples")

    def scores_q32(self, w: Weights, rows: FixedRows) -> I64:
        n, tot, mat = _split(w)
        a_num, a_den = w.param("alpha_num"), w.param("alpha_den")
        den = (tot * a_den + a_num * SCALE * w.spec.n_features)[:, None]
        prior = _log_prior(n) * SCALE
        if isinstance(rows, np.ndarray):
            log_theta = ln_ratio_q16(mat * a_den + a_num * SCALE, den)
            scores: I64 = rows @ log_theta.T + prior
        else:
            scores = np.empty((len(rows), w.n_labels), dtype=np.int64)
            for r, row in enumerate(rows):
                log_theta = ln_ratio_q16(mat[:, row.indices] * a_den + a_num * SCALE, den)
                scores[r] = log_theta @ row.values + prior
        scores[:, n == 0] = EMPTY_SCORE_Q32
        return scores

    def delta(self, w: Weights, row: SparseRow, label: int) -> Delta:
        n, tot, mat = _split(w)
        added = int(row.values.sum())
        if n[label] + 1 > w.param("example_bound") or int(tot[label]) + added > w.param("count_bound"):
            return Delta(EMPTY, EMPTY, None, True)
        n_lab, n_feat = mat.shape
        idx = np.concatenate(([label, n_lab + label], 2 * n_lab + label * n_feat + row.indices))
        new = np.concatenate(([n[label] + 1, tot[label] + added], mat[label, row.indices] + row.values))
        keep = new != w.flat[idx]
        return Delta(idx[keep].astype(np.int64), new[keep].astype(np.int64), None, False)


def _split(w: Weights) -> tuple[I64, I64, I64]:
    """Views of the example counts (C,), class totals (C,) and feature counts (C, F)."""
    c = w.n_labels
    return w.flat[:c], w.flat[c:2 * c], w.flat[2 * c:].reshape(c, w.spec.n_features)


def _log_prior(n: I64) -> I64:
    """ln(n_c / sum n) in Q.16 for classes with examples (0 for empty ones; they are masked later)."""
    total = int(n.sum())
    if total == 0:
        return np.zeros_like(n)
    out: I64 = ln_ratio_q16(np.maximum(n, 1), np.full_like(n, total))
    return out
