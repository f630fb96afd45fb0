"""The model-kind interface (`ModelKind`) and the machinery every kind shares: parameter resolution,
canonical encode/decode, input checks, predict (argmax of exact Q.32 scores) and incremental training.

Scale: SCALE = 2**16 (Q.16) for inputs, weights and reported scores; see models.fixed for the rounding
rules and models.<kind> for each kind's layout, bounds and tolerance against its float formula.
A kind implements five methods (`resolve_params`, `flat_size`, `check_flat`, `scores_q32`, `delta`);
everything else, including the overflow-safe training loop, is here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from cmu.models.codec import encode_weights, read_flat, read_header
from cmu.models.errors import (
    BadLabel,
    BadParams,
    BadSpec,
    MalformedWeights,
    ModelError,
    NotTrainable,
    WrongType,
)
from cmu.models.fixed import SCALE, argmax_lowest, floor_to_q16
from cmu.models.rows import quantize, validate_fixed, validate_row
from cmu.models.spec import MAX_FLAT, FixedRows, InputSpec, SparseRow, check_labels
from cmu.models.weights import UpdateResult, Weights, frozen, with_flat

__all__ = ["SCALE", "Delta", "InputSpec", "ModelError", "ModelKind", "SparseRow", "UpdateResult", "Weights",
           "quantize"]

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Delta:
    """What a kind's `delta` returns: sorted changed flat indices, their new values, and step facts."""

    indices: I64
    values: I64
    predicted: int | None = None
    saturated: bool = False


class ModelKind(ABC):
    """A model kind: how weights are laid out, scored and trained. Instances hold no state."""

    name: ClassVar[str]
    trainable: ClassVar[bool]
    counts: ClassVar[bool] = False
    """True when inputs are non-negative counts (refused otherwise with NegativeCount)."""
    dense_ok: ClassVar[bool] = True
    sparse_ok: ClassVar[bool] = True
    param_names: ClassVar[tuple[str, ...]] = ()

    # -- what a kind implements -------------------------------------------------------------------

    @abstractmethod
    def resolve_params(self, spec: InputSpec, n_labels: int, given: Mapping[str, int]) -> dict[str, int]:
        """All parameters with defaults filled in; BadParams or BadSpec when the bounds cannot hold."""

    @abstractmethod
    def flat_size(self, spec: InputSpec, n_labels: int) -> int:
        """Number of int64 weights."""

    @abstractmethod
    def check_flat(self, w: Weights) -> None:
        """Raise MalformedWeights unless every weight is within the kind's documented bounds."""

    @abstractmethod
    def scores_q32(self, w: Weights, rows: FixedRows) -> I64:
        """Exact per-class scores, shape (n_rows, n_labels), each strictly inside +/-2**62."""

    def delta(self, w: Weights, row: SparseRow, label: int) -> Delta:
        """One training step as a delta, in O(row non-zeros x labels). Trainable kinds override this."""
        raise NotTrainable(f"model kind {self.name!r} is not trainable")

    def initial_flat(self, spec: InputSpec, n_labels: int, params: Mapping[str, int]) -> I64:
        """Weights of a fresh model (zeros unless a kind overrides it)."""
        return np.zeros(self.flat_size(spec, n_labels), dtype=np.int64)

    # -- shared machinery ---------------------------------------------------------------------------

    def init_weights(self, spec: InputSpec, n_labels: int,
                     params: Mapping[str, int] | None = None) -> Weights:
        """Fresh weights; `params` override the kind's defaults (unknown names raise BadParams)."""
        resolved = self._params(spec, n_labels, params or {})
        flat = self.initial_flat(spec, n_labels, dict(resolved))
        w = Weights(self.name, spec, n_labels, resolved, frozen(flat.astype(np.int64)))
        return self.validate(w)

    def encode(self, w: Weights) -> bytes:
        """The canonical artifact (models.codec); decode(encode(w)) == w."""
        self._own(w)
        return encode_weights(w)

    def decode(self, data: bytes, spec: InputSpec, n_labels: int) -> Weights:
        """Parse and fully check an artifact made for this kind, spec and label count."""
        header = read_header(data)
        if (header.kind, header.spec, header.n_labels) != (self.name, spec, n_labels):
            raise MalformedWeights(f"artifact is {header.kind!r} {header.spec} with {header.n_labels} "
                                   f"labels; expected {self.name!r} {spec} with {n_labels}")
        if len(header.param_values) != len(self.param_names):
            raise MalformedWeights(f"artifact has {len(header.param_values)} parameters, "
                                   f"{self.name!r} has {len(self.param_names)}")
        given = dict(zip(self.param_names, header.param_values, strict=True))
        try:
            params = self._params(spec, n_labels, given)
        except (BadParams, BadSpec) as exc:
            raise MalformedWeights(f"artifact parameters: {exc}") from exc
        return self.validate(Weights(self.name, spec, n_labels, params, read_flat(data, header)))

    def validate(self, w: Weights) -> Weights:
        """Check length and bounds of `w` (e.g. after applying an untrusted delta) and return it."""
        self._own(w)
        if w.flat.size != self.flat_size(w.spec, w.n_labels):
            raise MalformedWeights(f"{w.flat.size} weights; {self.name!r} needs "
                                   f"{self.flat_size(w.spec, w.n_labels)}")
        self.check_flat(w)
        return w

    def quantize(self, rows: object, spec: InputSpec) -> FixedRows:
        """Real-valued rows -> fixed point for this kind (counts kinds refuse negatives)."""
        return quantize(rows, spec, counts=self.counts)

    def prepare_rows(self, rows: object, spec: InputSpec) -> FixedRows:
        """Fixed-point (Q.16 int) rows in any form `validate_fixed` takes -> canonical rows for `predict`."""
        return validate_fixed(rows, spec, counts=self.counts)

    def predict(self, w: Weights, rows: object) -> tuple[I64, I64]:
        """Labels (int64, argmax of the exact score, ties to the lowest label) and Q.16 scores
        (floor of the exact Q.32 score), one row per input. `rows` are fixed point (see validate_fixed)."""
        self._own(w)
        exact = self.scores_q32(w, validate_fixed(rows, w.spec, counts=self.counts))
        return argmax_lowest(exact), floor_to_q16(exact)

    def update(self, w: Weights, row: object, label: int) -> UpdateResult:
        """One training step on one fixed-point row; `w` is not modified (see UpdateResult)."""
        self._trainable(w)
        lab = _label(label, w.n_labels)
        d = self.delta(w, _as_sparse(validate_row(row, w.spec, counts=self.counts)), lab)
        return UpdateResult(w, d.indices, d.values, d.predicted, d.saturated)

    def train(self, w: Weights, rows: object, labels: object) -> Weights:
        """Train on a stream in order: the same result as chained `update`s, with one copy in total."""
        self._trainable(w)
        batch = validate_fixed(rows, w.spec, counts=self.counts)
        labs = _labels(labels, w.n_labels, len(batch))
        buf = w.flat.copy()
        view = buf.view()
        cur = with_flat(w, view)
        for row, lab in zip(batch, labs, strict=True):
            d = self.delta(cur, _as_sparse(row), lab)
            buf[d.indices] = d.values
        return with_flat(w, buf)

    def _params(self, spec: InputSpec, n_labels: int,
                given: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
        self._check_spec(spec, n_labels)
        unknown = sorted(set(given) - set(self.param_names))
        if unknown:
            raise BadParams(f"{self.name!r} has no parameter(s) {unknown}; it has {list(self.param_names)}")
        for key, value in given.items():
            if type(value) is not int:
                raise BadParams(f"parameter {key!r} must be an int, got {type(value).__name__}")
        resolved = self.resolve_params(spec, n_labels, given)
        return tuple((key, resolved[key]) for key in self.param_names)

    def _check_spec(self, spec: InputSpec, n_labels: int) -> None:
        if not isinstance(spec, InputSpec):
            raise WrongType(f"spec must be an InputSpec, got {type(spec).__name__}")
        check_labels(n_labels)
        if n_labels * spec.n_features > MAX_FLAT:
            raise BadSpec(f"n_labels * n_features = {n_labels * spec.n_features} exceeds {MAX_FLAT}")
        if not (self.sparse_ok if spec.sparse else self.dense_ok):
            raise BadSpec(f"{self.name!r} does not take {'sparse' if spec.sparse else 'dense'} inputs")
        if self.counts and spec.min_value < 0:
            raise BadSpec(f"{self.name!r} takes counts: min_value must be >= 0")

    def _own(self, w: Weights) -> None:
        if not isinstance(w, Weights) or w.kind != self.name:
            raise WrongType(f"expected {self.name!r} weights, got {getattr(w, 'kind', type(w).__name__)!r}")

    def _trainable(self, w: Weights) -> None:
        self._own(w)
        if not self.trainable:
            raise NotTrainable(f"model kind {self.name!r} is not trainable")


def _as_sparse(row: I64 | SparseRow) -> SparseRow:
    """A dense fixed row as its non-zero entries (what every update touches)."""
    if isinstance(row, SparseRow):
        return row
    idx = np.flatnonzero(row).astype(np.int64)
    return SparseRow(frozen(idx), frozen(row[idx]))


def _label(label: object, n_labels: int) -> int:
    if isinstance(label, bool | np.bool_) or not isinstance(label, int | np.integer):
        raise BadLabel(f"a label must be an int, got {type(label).__name__}")
    if not 0 <= int(label) < n_labels:
        raise BadLabel(f"label {int(label)} is outside [0, {n_labels})")
    return int(label)


def _labels(labels: object, n_labels: int, n_rows: int) -> list[int]:
    if isinstance(labels, str | bytes) or not isinstance(labels, Sequence | np.ndarray):
        raise BadLabel(f"labels must be a sequence of ints, got {type(labels).__name__}")
    if len(labels) != n_rows:
        raise BadLabel(f"{len(labels)} labels for {n_rows} rows")
    return [_label(x, n_labels) for x in labels]


def __getattr__(name: str) -> Any:
    """`KINDS`, `get_kind`, `register_kind` and `BUILTIN_KINDS` live in models.registry (which imports
    the built-in kinds, which import this module); they are importable from here too, lazily."""
    if name in {"KINDS", "get_kind", "register_kind", "BUILTIN_KINDS"}:
        from cmu.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
