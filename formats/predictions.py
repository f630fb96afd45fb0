"""The prediction format the node's `model_predict` answer and a client's local prediction share: rows in
(one row or a batch, real numbers or, with `fixed`, Q.16 integers; sparse rows as index lists or
{index: value} objects), `{label, name, scores}` per row out, with Q.16 integer scores.

Both sides run this same code, so a local prediction from downloaded weights equals the node's answer.
`QueryError` is the refusal both sides report: `error` is a stable name (BadRows, TooManyRows, or the
models package's error class name), the message says what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import ModelError
from models.spec import InputSpec

MAX_ROWS = 1_024
"""Most rows one prediction request may carry."""


class QueryError(ValueError):
    """A query the node refuses; `error` is a stable name for RPC clients."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def input_spec_json(spec: Any) -> dict[str, Any]:
    """The `inputSpec` object of a model_get answer, from any input spec with the models' field names."""
    return {
        "nFeatures": spec.n_features,
        "sparse": spec.sparse,
        "minValue": spec.min_value,
        "maxValue": spec.max_value,
        "maxNonzeros": spec.max_nonzeros,
    }


def input_spec_of_json(data: Mapping[str, Any]) -> InputSpec:
    """The models package's InputSpec of a model_get answer's `inputSpec` (models.ModelError if the
    kinds' bounds refuse it, KeyError if a field is missing)."""
    return InputSpec(
        n_features=data["nFeatures"],
        sparse=data["sparse"],
        min_value=data["minValue"],
        max_value=data["maxValue"],
        max_nonzeros=data["maxNonzeros"],
    )


def as_batch(rows: Any) -> list[Any]:
    """The rows of a request as a batch (one row becomes a batch of one); QueryError for none or too many."""
    if not isinstance(rows, list) or not rows:
        raise QueryError("BadRows", "rows must be a non-empty list (one row, or a list of rows)")
    batch = rows if isinstance(rows[0], list | dict) else [rows]
    if len(batch) > MAX_ROWS:
        raise QueryError("TooManyRows", f"{len(batch)} rows, at most {MAX_ROWS} per request")
    return batch


def predict_rows(
    kind: Any, weights: Any, spec: Any, names: Sequence[str], batch: list[Any], *, fixed: bool = False
) -> list[dict[str, Any]]:
    """{label, name, scores} per row of a batch, from decoded weights (QueryError naming a refused row)."""
    try:
        prepare = kind.prepare_rows if fixed else kind.quantize
        labels, scores = kind.predict(weights, prepare(batch, spec))
    except ModelError as exc:
        raise QueryError(type(exc).__name__, str(exc)) from exc
    return [
        {"label": label, "name": names[label], "scores": row}
        for label, row in zip(_ints(labels), _ints(scores), strict=True)
    ]


def _ints(values: Any) -> list[Any]:
    """Python ints from an int array (at once) or from a sequence of ints / rows of ints."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        out: list[Any] = values.tolist()
        return out
    return [[int(v) for v in x] if hasattr(x, "__iter__") else int(x) for x in values]
