"""What a model takes as input: `InputSpec` (feature count, dense or sparse, value range in Q.16) and the
canonical fixed-point row types. Limits are explicit so every product the kinds form has a known bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

from cmu.models.errors import BadSpec
from cmu.models.fixed import SCALE

I64 = npt.NDArray[np.int64]

MAX_FEATURES: Final = 1 << 24
MAX_LABELS: Final = 1 << 16
MAX_ABS_VALUE: Final = 1 << 47
"""Largest |min_value| / |max_value| in Q.16 (2**31 in real units); exact in float64 as well."""
MAX_FLAT: Final = 1 << 28
"""Largest n_labels * n_features a model may have (2 GiB of int64 weights)."""


@dataclass(frozen=True)
class InputSpec:
    """The inputs a model accepts. `min_value` and `max_value` are in fixed point (Q.16): a real bound r
    is written round(r * SCALE), e.g. ``InputSpec(4, False, 0, 8 * SCALE)`` accepts reals in [0, 8].

    Sparse rows list (index, value) pairs; `max_nonzeros` bounds how many (0 means `n_features`), and the
    overflow checks use it instead of `n_features`, so a sparse model may have many features. Dense
    specs must leave `max_nonzeros` at 0.
    """

    n_features: int
    sparse: bool
    min_value: int
    max_value: int
    max_nonzeros: int = 0

    def __post_init__(self) -> None:
        for name in ("n_features", "min_value", "max_value", "max_nonzeros"):
            if type(getattr(self, name)) is not int:
                raise BadSpec(f"InputSpec.{name} must be an int")
        if type(self.sparse) is not bool:
            raise BadSpec("InputSpec.sparse must be a bool")
        if not 1 <= self.n_features <= MAX_FEATURES:
            raise BadSpec(f"n_features must be in [1, {MAX_FEATURES}], got {self.n_features}")
        if not -MAX_ABS_VALUE <= self.min_value < self.max_value <= MAX_ABS_VALUE:
            raise BadSpec(f"need -2**47 <= min_value < max_value <= 2**47, got {self.min_value}, "
                          f"{self.max_value}")
        if not 0 <= self.max_nonzeros <= self.n_features:
            raise BadSpec(f"max_nonzeros must be in [0, n_features], got {self.max_nonzeros}")
        if not self.sparse and self.max_nonzeros:
            raise BadSpec("a dense spec must leave max_nonzeros at 0")

    @property
    def terms(self) -> int:
        """The most non-zero terms one row can contribute to a sum (bounds every dot product)."""
        return self.max_nonzeros or self.n_features

    @property
    def max_abs(self) -> int:
        """The largest |value| (Q.16) an input can hold."""
        return max(abs(self.min_value), abs(self.max_value))

    @property
    def real_range(self) -> tuple[Fraction, Fraction]:
        """The accepted range in real units, exactly (for messages and clients)."""
        return Fraction(self.min_value, SCALE), Fraction(self.max_value, SCALE)


@dataclass(frozen=True, eq=False)
class SparseRow:
    """One canonical sparse row: strictly increasing int64 `indices` and their non-zero Q.16 `values`."""

    indices: I64
    values: I64

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SparseRow):
            return NotImplemented
        return bool(np.array_equal(self.indices, other.indices) and np.array_equal(self.values, other.values))

    __hash__ = None  # type: ignore[assignment]


FixedRows = I64 | tuple[SparseRow, ...]
"""A validated batch: an (n, n_features) int64 array for dense specs, a tuple of SparseRow for sparse."""

FixedRow = I64 | SparseRow
"""One validated row: a (n_features,) int64 array (dense) or a SparseRow."""


def check_labels(n_labels: object) -> int:
    """Validate a label count: an int in [2, MAX_LABELS]."""
    if type(n_labels) is not int or not 2 <= n_labels <= MAX_LABELS:
        raise BadSpec(f"n_labels must be an int in [2, {MAX_LABELS}], got {n_labels!r}")
    return n_labels
