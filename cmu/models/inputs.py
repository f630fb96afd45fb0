"""A model's whole input path: an optional input step stored with the model (a text featurizer or a
per-feature scaling) in front of the kind's `InputSpec`. `ModelInput.rows` turns what a caller sends
(documents for text models; real or Q.16 rows otherwise) into the kind's canonical fixed-point rows.
Consensus-safe: ints and strings only once the rows are fixed point; no float after `quantize`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cmu.models.base import ModelKind
from cmu.models.errors import BadSpec, WrongType
from cmu.models.rows import quantize, validate_fixed
from cmu.models.scaling import Scaling
from cmu.models.spec import MAX_ABS_VALUE, FixedRow, FixedRows, InputSpec
from cmu.models.text import NotText, TextFeaturizer


class TextForNumericModel(WrongType):
    """A string was given to a model without a text featurizer (it takes numeric rows)."""


@dataclass(frozen=True)
class ModelInput:
    """The kind's spec plus the optional input step (at most one of `text` and `scaling`)."""

    spec: InputSpec
    text: TextFeaturizer | None = None
    scaling: Scaling | None = None

    def __post_init__(self) -> None:
        if self.text is not None and self.scaling is not None:
            raise BadSpec("a model takes text or a scaling step, not both")
        if self.text is not None and (not self.spec.sparse or self.text.n_features != self.spec.n_features):
            raise BadSpec("a text featurizer needs a sparse spec with the featurizer's n_features")
        if self.scaling is not None and (self.spec.sparse or self.scaling.n_features != self.spec.n_features):
            raise BadSpec("a scaling step needs a dense spec with one multiplier per feature")

    @property
    def takes_text(self) -> bool:
        return self.text is not None

    def rows(self, kind: ModelKind, batch: Sequence[object], *, fixed: bool) -> FixedRows:
        """Canonical rows for `kind.predict` from a batch: documents for a text model, else real rows
        (`fixed`: Q.16 ints). Typed ModelErrors name the refused row."""
        if self.text is not None:
            text = self.text
            return validate_fixed([text.featurize(doc) for doc in _documents(batch)], self.spec,
                                  counts=kind.counts)
        if any(isinstance(row, str) for row in batch):
            raise TextForNumericModel("this model takes numeric rows, not text (it has no text featurizer)")
        if self.scaling is None:
            return validate_fixed(batch, self.spec, counts=kind.counts) if fixed else kind.quantize(
                batch, self.spec)
        wide = InputSpec(self.spec.n_features, False, -MAX_ABS_VALUE, MAX_ABS_VALUE)
        raw = validate_fixed(batch, wide) if fixed else quantize(batch, wide)
        if not isinstance(raw, np.ndarray):  # dense specs give arrays; kept for mypy's sake
            raise WrongType("a scaled model takes dense rows")
        return validate_fixed(self.scaling.apply(raw), self.spec, counts=kind.counts)

    def row(self, kind: ModelKind, item: object, *, fixed: bool = True) -> FixedRow:
        """One canonical row (training): a document, or a Q.16 row."""
        rows = self.rows(kind, [item], fixed=fixed)
        return rows[0]


def _documents(batch: Sequence[object]) -> list[str]:
    docs = []
    for i, doc in enumerate(batch):
        if not isinstance(doc, str):
            raise NotText(f"row {i}: a text model takes strings (documents), got {type(doc).__name__}")
        docs.append(doc)
    return docs
