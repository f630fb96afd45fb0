"""The weights value: kind name, input spec, label count, kind parameters and one flat int64 array.

Weights are immutable values: `flat` is a read-only, C-contiguous int64 array (a kind's layout is given in
its module docstring, e.g. "biases then a row-major [label, feature] matrix"). Anything that changes
weights returns new ones or a delta (flat indices + new values) that `apply_delta` (below) applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from cmu.models.errors import IncompatibleWeights, MalformedDelta, WrongType
from cmu.models.spec import InputSpec

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Weights:
    """A model's weights. Compare with ==; `flat` must never be written (it is flagged read-only)."""

    kind: str
    spec: InputSpec
    n_labels: int
    params: tuple[tuple[str, int], ...]
    flat: I64

    def __post_init__(self) -> None:
        f = self.flat
        if not isinstance(f, np.ndarray) or f.dtype != np.int64 or f.ndim != 1:
            raise WrongType("Weights.flat must be a 1-D int64 numpy array")
        if f.flags.writeable:
            raise WrongType("Weights.flat must be read-only (set flags.writeable = False)")

    def param(self, name: str) -> int:
        """The value of a kind parameter (KeyError if the kind has no such parameter)."""
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    def same_shape(self, other: Weights) -> bool:
        """True when both weights share kind, spec, label count, parameters and flat length."""
        return (self.kind, self.spec, self.n_labels, self.params, self.flat.shape) == (
            other.kind, other.spec, other.n_labels, other.params, other.flat.shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Weights):
            return NotImplemented
        return self.same_shape(other) and bool(np.array_equal(self.flat, other.flat))

    __hash__ = None  # type: ignore[assignment]


def frozen(a: I64) -> I64:
    """Flag an array read-only (in place) and return it; used for every array a Weights holds."""
    a.flags.writeable = False
    return a


def with_flat(w: Weights, flat: I64) -> Weights:
    """The same weights header around another (read-only) flat array."""
    return Weights(w.kind, w.spec, w.n_labels, w.params, frozen(flat))


def check_delta(w: Weights, indices: I64, values: I64) -> None:
    """Delta structure: int64 1-D arrays of equal length, indices strictly increasing within the flat."""
    for name, a in (("indices", indices), ("values", values)):
        if not isinstance(a, np.ndarray) or a.dtype != np.int64 or a.ndim != 1:
            raise MalformedDelta(f"delta {name} must be a 1-D int64 array")
    if indices.shape != values.shape:
        raise MalformedDelta(f"delta has {indices.size} indices but {values.size} values")
    if indices.size and (indices[0] < 0 or indices[-1] >= w.flat.size or np.any(np.diff(indices) <= 0)):
        raise MalformedDelta(f"delta indices must be strictly increasing within [0, {w.flat.size})")


def apply_delta(w: Weights, indices: I64, values: I64) -> Weights:
    """New weights with flat[indices] = values (exact; O(flat) copy). Structure is checked here;
    the kind's value bounds are not: call `kind.validate(...)` on the result for untrusted deltas."""
    check_delta(w, indices, values)
    flat = w.flat.copy()
    flat[indices] = values
    return with_flat(w, flat)


@dataclass(frozen=True, eq=False)
class UpdateResult:
    """One training step: the flat `indices` that changed (sorted), their new `values`, the label the
    model predicted before the step (None for kinds that do not predict to train) and whether a bound
    was hit (`saturated`). `weights` builds the new weights lazily (one O(flat) copy, then cached), so
    the step itself costs O(non-zeros x labels)."""

    previous: Weights
    indices: I64
    values: I64
    predicted: int | None = None
    saturated: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.indices.size)

    @cached_property
    def weights(self) -> Weights:
        """The weights after this step."""
        return self.previous if not self.changed else apply_delta(self.previous, self.indices, self.values)


def diff(old: Weights, new: Weights) -> tuple[I64, I64]:
    """The delta (sorted flat indices, new values) with apply_delta(old, *diff(old, new)) == new."""
    if not old.same_shape(new):
        raise IncompatibleWeights("diff needs weights of the same kind, spec, labels and parameters")
    indices = np.flatnonzero(old.flat != new.flat).astype(np.int64)
    return frozen(indices), frozen(new.flat[indices])
