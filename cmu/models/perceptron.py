"""Multiclass perceptrons: `dense_perceptron` (dense rows) and `sparse_perceptron` (index rows).

Layout: flat = [bias_0 .. bias_{C-1}, W[0, 0..F-1], .., W[C-1, 0..F-1]] (row-major), all Q.16.
Score (exact Q.32): s_c = sum_i W[c, i] * x_i + bias_c * SCALE; label = argmax, ties to the lowest label.
Update on a mistake (predicted p != label y): W[y] += x, W[p] -= x, bias_y += SCALE, bias_p -= SCALE
(learning rate 1, bias input 1.0); each weight saturates at +/-weight_bound (UpdateResult.saturated).
Overflow: (spec.terms * spec.max_abs + SCALE) * weight_bound < 2**62 is checked when weights are created
or decoded, so no partial sum can reach 2**62; the default weight_bound is the largest value meeting it.
Cost: a sparse row costs O(nnz x labels) to score and to update; no step is O(n_features).
Tolerance against the float formula on the same weights (W / SCALE, x / SCALE): the label is the exact
argmax, so it equals the float argmax except when float64 rounding (relative ~1e-15 of the summed
magnitudes) reorders two scores; a reported score is floor(s / 2**16), within [-2**-16, 0] of the
exact real score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from cmu.models.base import Delta, ModelKind
from cmu.models.errors import BadParams, BadSpec, MalformedWeights
from cmu.models.fixed import SCALE, SCORE_BOUND
from cmu.models.spec import FixedRows, InputSpec, SparseRow
from cmu.models.weights import Weights

I64 = npt.NDArray[np.int64]
EMPTY = np.zeros(0, dtype=np.int64)


class _Perceptron(ModelKind):
    trainable = True
    param_names: ClassVar[tuple[str, ...]] = ("weight_bound",)

    def resolve_params(self, spec: InputSpec, n_labels: int, given: Mapping[str, int]) -> dict[str, int]:
        top = (SCORE_BOUND - 1) // (spec.terms * spec.max_abs + SCALE)
        if top < 1:
            raise BadSpec("terms * max_abs is too large for any perceptron weight bound below 2**62")
        bound = given.get("weight_bound", top)
        if not 1 <= bound <= top:
            raise BadParams(f"weight_bound must be in [1, {top}] for this spec, got {bound}")
        return {"weight_bound": bound}

    def flat_size(self, spec: InputSpec, n_labels: int) -> int:
        return n_labels * (spec.n_features + 1)

    def check_flat(self, w: Weights) -> None:
        bound = w.param("weight_bound")
        if np.any((w.flat < -bound) | (w.flat > bound)):
            raise MalformedWeights(f"a perceptron weight lies outside +/-{bound}")

    def scores_q32(self, w: Weights, rows: FixedRows) -> I64:
        bias, mat = _split(w)
        if isinstance(rows, np.ndarray):
            out: I64 = rows @ mat.T + bias * SCALE
            return out
        scores = np.empty((len(rows), w.n_labels), dtype=np.int64)
        for r, row in enumerate(rows):
            scores[r] = _row_scores(bias, mat, row)
        return scores

    def delta(self, w: Weights, row: SparseRow, label: int) -> Delta:
        bias, mat = _split(w)
        pred = int(np.argmax(_row_scores(bias, mat, row)))
        if pred == label:
            return Delta(EMPTY, EMPTY, pred)
        n_lab, n_feat = mat.shape
        bound = w.param("weight_bound")
        idx = np.concatenate(([label, pred], n_lab + label * n_feat + row.indices,
                              n_lab + pred * n_feat + row.indices)).astype(np.int64)
        step = np.concatenate(([SCALE, -SCALE], row.values, -row.values)).astype(np.int64)
        old = w.flat[idx]
        raw = old + step
        new = np.clip(raw, -bound, bound)
        keep = new != old
        order = np.argsort(idx[keep], kind="stable")
        return Delta(idx[keep][order], new[keep][order], pred, bool(np.any(new != raw)))


def _split(w: Weights) -> tuple[I64, I64]:
    """Views of the biases (C,) and the weight matrix (C, F)."""
    n_lab = w.n_labels
    return w.flat[:n_lab], w.flat[n_lab:].reshape(n_lab, w.spec.n_features)


def _row_scores(bias: I64, mat: I64, row: SparseRow) -> I64:
    out: I64 = mat[:, row.indices] @ row.values + bias * SCALE
    return out


class DensePerceptron(_Perceptron):
    """Multiclass (n_labels >= 2; binary is n_labels = 2) perceptron on dense rows."""

    name = "dense_perceptron"
    sparse_ok = False


class SparsePerceptron(_Perceptron):
    """Multiclass perceptron on sparse rows (feature indices, optionally with counts)."""

    name = "sparse_perceptron"
    dense_ok = False
