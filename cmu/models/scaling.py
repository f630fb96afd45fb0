"""A per-feature affine input step stored with a model (scikit-learn's StandardScaler, MinMaxScaler and
MaxAbsScaler are all x' = x * m + a), in integer math: the kind sees

    x'_q16 = floor((x_q16 * mult_q32 + 2**31) / 2**32) + add_q16        (per feature, exact Python ints)

mult in Q.32 keeps a scale of 1/350 to a relative 1e-7 (Q.16 would lose 0.1 %), add in Q.16. The raw
input range is bounded by `raw_max_abs` (Q.16); the result is then checked against the model's own
InputSpec range like any row. Out-of-bound parameters raise BadSpec; clients build one from real
multipliers with client.sklearn_convert.scaling_from_real (rounding half to even).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from cmu.models.errors import BadSpec, WrongFeatureCount
from cmu.models.spec import MAX_ABS_VALUE

I64 = npt.NDArray[np.int64]
MULT_BITS: Final = 32
MAX_MULT: Final = 1 << 62
"""Largest |mult_q32| (a real multiplier below 2**30)."""


@dataclass(frozen=True)
class Scaling:
    """Per-feature multipliers (Q.32) and offsets (Q.16); equal lengths = the model's n_features."""

    mult_q32: tuple[int, ...]
    add_q16: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.mult_q32) != len(self.add_q16) or not self.mult_q32:
            raise BadSpec("scaling needs one multiplier and one offset per feature")
        for m, a in zip(self.mult_q32, self.add_q16, strict=True):
            if type(m) is not int or type(a) is not int:
                raise BadSpec("scaling parameters must be ints")
            if not -MAX_MULT <= m <= MAX_MULT or not -MAX_ABS_VALUE <= a <= MAX_ABS_VALUE:
                raise BadSpec("a scaling multiplier or offset is out of bounds")

    @property
    def n_features(self) -> int:
        return len(self.mult_q32)

    def apply(self, rows: I64) -> I64:
        """Scale a dense (n, n_features) block of Q.16 ints (|x| <= 2**47); exact, then int64."""
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise WrongFeatureCount(f"rows have {rows.shape[-1]} features, the scaling has {self.n_features}")
        half = 1 << (MULT_BITS - 1)
        out = [[((int(x) * m + half) >> MULT_BITS) + a
                 for x, m, a in zip(row, self.mult_q32, self.add_q16, strict=True)] for row in rows.tolist()]
        clipped = [[max(-MAX_ABS_VALUE - 1, min(MAX_ABS_VALUE + 1, v)) for v in row] for row in out]
        return np.array(clipped, dtype=np.int64).reshape(rows.shape)
