"""Training updates of the block being built, kept in block-scoped memory (runtime.blockscoped) until
on_finalize turns each model's updates into one version: on_initialize empties it, so a discarded block
leaves nothing behind, and every change registers its undo with the storage layers, so a failed call
takes its updates with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cmu.models.weights import Weights, with_flat

I64 = npt.NDArray[np.int64]


@dataclasses.dataclass
class PendingTraining:
    """One model's updates in this block: the version they apply to, its weights, and the running
    weights (`weights` is a read-only view of the writable `buffer`; updates write it in place)."""

    base: int
    base_weights: Weights
    buffer: I64
    weights: Weights
    contributions: list[int] = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, base: int, base_weights: Weights) -> PendingTraining:
        """The first update of a block: one O(flat) copy of the base weights."""
        buffer = base_weights.flat.copy()
        return cls(base, base_weights, buffer, with_flat(base_weights, buffer.view()))

    def apply(self, indices: I64, values: I64) -> I64:
        """Write `values` at `indices`; returns the values they replace (for undo)."""
        old = self.buffer[indices].copy()
        self.buffer[indices] = values
        return old


def as_int64(values: Sequence[int] | I64) -> I64 | None:
    """A 1-D int64 array of integer input (numpy integers or Python ints), or None for anything else."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        return None
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        return None
    try:
        return np.asarray(array, dtype=np.int64) if array.size else np.zeros(0, dtype=np.int64)
    except (OverflowError, ValueError):
        return None
