"""Training's view of a model kind: turn a contribution's on-chain features into the kind's fixed-point
row (dense: n_features Q.16 ints, through the model's scaling step when it has one; sparse: strictly
increasing distinct feature indices, each of value 1.0; text models: a document, featurized on chain),
predict its label with the current weights, and compute the kind's update."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from cmu import models
from pallets.model_registry.types import ModelInfo


class BadRow(ValueError):
    """The features or label do not fit the model (the message names what is wrong)."""


@dataclasses.dataclass(frozen=True)
class ModelView:
    """A model's kind, input spec and label count, as the training calls need them."""

    kind: Any
    spec: models.InputSpec
    n_labels: int
    inputs: Any = None
    """The model's models.inputs.ModelInput when it has an input step (text or scaling), else None."""

    @classmethod
    def of(cls, info: ModelInfo, kind: Any) -> ModelView:
        s = info.input_spec
        inputs = s.to_model_input() if s.text is not None or s.scaling is not None else None
        return cls(kind, s.to_models(), len(info.labels), inputs)

    def row(self, features: Sequence[int] | str, label: int) -> models.FixedRow:
        """The kind's canonical row of `features` (a document for a text model), or BadRow naming the
        problem (a document for a numeric model, or numbers for a text model, included)."""
        if not 0 <= label < self.n_labels:
            raise BadRow(f"label {label} is outside [0, {self.n_labels})")
        if self.inputs is not None or isinstance(features, str):
            return self._stepped_row(features)
        if self.spec.sparse:
            return self._sparse_row(features)
        try:
            row: models.FixedRow = models.validate_row(features, self.spec, counts=self.kind.counts)
        except models.ModelError as exc:
            raise BadRow(str(exc)) from exc
        return row

    def _stepped_row(self, features: Sequence[int] | str) -> models.FixedRow:
        """Through the model's input step: featurize a document, or scale a Q.16 row."""
        from cmu.models.inputs import ModelInput

        inputs = self.inputs if self.inputs is not None else ModelInput(self.spec)
        try:
            row: models.FixedRow = inputs.row(self.kind, features, fixed=True)
        except models.ModelError as exc:
            raise BadRow(f"{type(exc).__name__}: {exc}") from exc
        return row

    def _sparse_row(self, features: Sequence[int]) -> models.SparseRow:
        """Sorted distinct feature indices as the canonical SparseRow of 1.0s that validate_row makes of
        an index list, checked in bulk."""
        spec = self.spec
        idx = np.asarray(features, dtype=np.int64) if len(features) else np.zeros(0, dtype=np.int64)
        if idx.size and (idx[0] < 0 or idx[-1] >= spec.n_features or idx.min() < 0):
            raise BadRow(f"feature indices must lie in [0, {spec.n_features})")
        if idx.size > 1 and not bool(np.all(idx[1:] > idx[:-1])):
            raise BadRow("sparse features must be strictly increasing feature indices")
        if idx.size > spec.terms:
            raise BadRow(f"{idx.size} non-zero features, the spec allows {spec.terms}")
        if idx.size and not spec.min_value <= models.SCALE <= spec.max_value:
            raise BadRow("the model's value range does not include 1.0, the value of a listed feature")
        values = np.full(idx.size, models.SCALE, dtype=np.int64)
        idx.flags.writeable = False
        values.flags.writeable = False
        return models.SparseRow(idx, values)

    def predict(self, weights: models.Weights, row: models.FixedRow) -> int:
        """The label the weights predict for one canonical row."""
        rows: Any = (row,) if isinstance(row, models.SparseRow) else row.reshape(1, -1)
        labels, _ = self.kind.predict(weights, rows)
        return int(labels[0])

    def update(self, weights: models.Weights, row: models.FixedRow, label: int) -> models.UpdateResult:
        """One training step of the kind's own rule (bounds kept by construction). A sparse row is
        canonical already (see row), so it goes to the kind's step without a second check."""
        if isinstance(row, models.SparseRow):
            step = self.kind.delta(weights, row, label)
            return models.UpdateResult(weights, step.indices, step.values, step.predicted, step.saturated)
        result: models.UpdateResult = self.kind.update(weights, row, label)
        return result
