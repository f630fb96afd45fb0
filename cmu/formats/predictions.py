"""The prediction format the node's `model_predict` answer and a client's local prediction share: rows in
(one row or a batch, real numbers or, with `fixed`, Q.16 integers; sparse rows as index lists or
{index: value} objects), `{label, name, scores}` per row out, with Q.16 integer scores.

Both sides run this same code, so a local prediction from downloaded weights equals the node's answer.
`QueryError` is the refusal both sides report: `error` is a stable name (BadRows, TooManyRows, or the
models package's error class name), the message says what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cmu.models.errors import ModelError
from cmu.models.inputs import TextForNumericModel
from cmu.models.spec import InputSpec

MAX_ROWS = 1_024
"""Most rows one prediction request may carry."""
LOGISTIC_TASK = "classification/logistic"
"""The task of models imported from a LogisticRegression: predictions carry softmax probabilities."""


class QueryError(ValueError):
    """A query the node refuses; `error` is a stable name for RPC clients."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def input_spec_json(spec: Any) -> dict[str, Any]:
    """The `inputSpec` object of a model_get answer, from any input spec with the models' field names
    (with `text` or `scaling` when the chain's spec has that input step)."""
    return {
        "nFeatures": spec.n_features,
        "sparse": spec.sparse,
        "minValue": spec.min_value,
        "maxValue": spec.max_value,
        "maxNonzeros": spec.max_nonzeros,
        **_input_step_json(spec),
    }


def _input_step_json(spec: Any) -> dict[str, Any]:
    """The optional input step of a chain spec (no keys for models without one)."""
    out: dict[str, Any] = {}
    text, scaling = getattr(spec, "text", None), getattr(spec, "scaling", None)
    if text is not None:
        out["text"] = {"tokenPattern": text.token_pattern, "lowercase": text.lowercase,
                       "ngramMin": text.ngram_min, "ngramMax": text.ngram_max,
                       "alternateSign": text.alternate_sign, "binary": text.binary, "norm": text.norm.value}
    if scaling is not None:
        out["scaling"] = {"multQ32": list(scaling.mult_q32), "addQ16": list(scaling.add_q16)}
    return out


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
    """The rows of a request as a batch (one row or one document, a string, becomes a batch of one);
    QueryError for none or too many."""
    if isinstance(rows, str):
        rows = [rows]
    if not isinstance(rows, list) or not rows:
        raise QueryError("BadRows", "rows must be a non-empty list (one row, or a list of rows)")
    batch = rows if isinstance(rows[0], list | dict | str) else [rows]
    if len(batch) > MAX_ROWS:
        raise QueryError("TooManyRows", f"{len(batch)} rows, at most {MAX_ROWS} per request")
    return batch


def predict_rows(
    kind: Any,
    weights: Any,
    spec: Any,
    names: Sequence[str],
    batch: list[Any],
    *,
    fixed: bool = False,
    inputs: Any = None,
    logistic: bool = False,
) -> list[dict[str, Any]]:
    """{label, name, scores, scoresReal[, probabilities]} per row of a batch, from decoded weights
    (documents for a text model, whose `inputs`, a models.inputs.ModelInput, carries the featurizer;
    QueryError naming a refused row). `scores` are the chain's Q.16 ints; `scoresReal` the same divided
    by 2**16 and, for a logistic model, `probabilities` their softmax (sklearn's predict_proba), both
    computed off chain."""
    try:
        if inputs is not None:
            rows = inputs.rows(kind, batch, fixed=fixed)
        elif any(isinstance(row, str) for row in batch):
            raise TextForNumericModel("this model takes numeric rows, not text (it has no text featurizer)")
        else:
            rows = (kind.prepare_rows if fixed else kind.quantize)(batch, spec)
        labels, scores = kind.predict(weights, rows)
    except ModelError as exc:
        raise QueryError(type(exc).__name__, str(exc)) from exc
    out = []
    for label, row in zip(_ints(labels), _ints(scores), strict=True):
        real = [v / 65536 for v in row]
        item = {"label": label, "name": names[label], "scores": row, "scoresReal": real}
        if logistic:
            item["probabilities"] = softmax(real)
        out.append(item)
    return out


def softmax(scores: Sequence[float]) -> list[float]:
    """exp(s_i) / sum exp(s_j), computed stably (off chain: floats only in the RPC answer)."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def _ints(values: Any) -> list[Any]:
    """Python ints from an int array (at once) or from a sequence of ints / rows of ints."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        out: list[Any] = values.tolist()
        return out
    return [[int(v) for v in x] if hasattr(x, "__iter__") else int(x) for x in values]
