"""Training's view of a model kind: turn a contribution's on-chain features into the kind's fixed-point
row (dense: n_features Q.16 ints; sparse: strictly increasing distinct feature indices, each of value 1.0),
predict its label with the current weights, and compute the kind's update."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import models
from pallets.model_registry.types import ModelInfo


class BadRow(ValueError):
    """The features or label do not fit the model (the message names what is wrong)."""


@dataclasses.dataclass(frozen=True)
class ModelView:
    """A model's kind, input spec and label count, as the training calls need them."""

    kind: Any
    spec: models.InputSpec
    n_labels: int

    @classmethod
    def of(cls, info: ModelInfo, kind: Any) -> ModelView:
        s = info.input_spec
        spec = models.InputSpec(s.n_features, s.sparse, s.min_value, s.max_value, s.max_nonzeros)
        return cls(kind, spec, len(info.labels))

    def row(self, features: Sequence[int], label: int) -> models.FixedRow:
        """The kind's canonical row of `features`, or BadRow naming the problem."""
        if not 0 <= label < self.n_labels:
            raise BadRow(f"label {label} is outside [0, {self.n_labels})")
        if self.spec.sparse and any(b <= a for a, b in itertools.pairwise(features)):
            raise BadRow("sparse features must be strictly increasing feature indices")
        try:
            row: models.FixedRow = models.validate_row(features, self.spec, counts=self.kind.counts)
        except models.ModelError as exc:
            raise BadRow(str(exc)) from exc
        return row

    def predict(self, weights: models.Weights, row: models.FixedRow) -> int:
        """The label the weights predict for one canonical row."""
        rows: Any = (row,) if isinstance(row, models.SparseRow) else row.reshape(1, -1)
        labels, _ = self.kind.predict(weights, rows)
        return int(labels[0])

    def update(self, weights: models.Weights, row: models.FixedRow, label: int) -> models.UpdateResult:
        """One training step of the kind's own rule (bounds kept by construction)."""
        result: models.UpdateResult = self.kind.update(weights, row, label)
        return result
