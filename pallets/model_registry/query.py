"""Read-only queries behind the `model_*` RPC methods: model info, paged listing, free predictions and
downloads with state proofs. They run on a runtime with no block in progress (a node's read view) and
never write. Decoded weights are cached by artifact root (a pure function of the bytes).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pallets.model_registry.pallet import ModelRegistry
from pallets.model_registry.types import ModelInfo
from runtime.errors import DispatchError

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAX_ROWS = 1_024
MAX_PAGE = 100
MAX_DOWNLOAD_CHUNKS = 64
_WEIGHTS_CACHE_SIZE = 32


class QueryError(ValueError):
    """A query the node refuses; `error` is a stable name for RPC clients."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


class _WeightsCache:
    """Decoded weights by (kind, artifact root), least recently used evicted; safe across threads."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, bytes]) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, bytes], weights: Any) -> None:
        with self._lock:
            self._items[key] = weights
            while len(self._items) > self._size:
                self._items.popitem(last=False)


WEIGHTS = _WeightsCache(_WEIGHTS_CACHE_SIZE)
_INFO_CACHE_SIZE = 256
# decoded model tokens by their stored bytes (with the models package's InputSpec): the bytes are read
# from the state on every query, only their decoding is cached
_INFOS: OrderedDict[bytes, tuple[ModelInfo, Any]] = OrderedDict()
_INFOS_LOCK = threading.Lock()
_MODEL_INPUTS: OrderedDict[Any, Any] = OrderedDict()
LOGISTIC_TASK = "classification/logistic"
"""The task of models imported from a LogisticRegression: predictions carry softmax probabilities."""


def registry(rt: Runtime) -> ModelRegistry:
    """The runtime's registry pallet (QueryError when the chain has none)."""
    if not rt.has_pallet(ModelRegistry.name):
        raise QueryError("NoRegistry", "this chain has no ModelRegistry pallet")
    return rt.pallet(ModelRegistry)


def model_info(rt: Runtime, model: int) -> ModelInfo:
    """A model token or QueryError UnknownModel."""
    return _model_entry(rt, model)[0]


def model_entry(rt: Runtime, model: int) -> tuple[ModelInfo, Any]:
    """(model token, its models-package InputSpec), decoded once per stored value; QueryError UnknownModel."""
    return _model_entry(rt, model)


def _model_entry(rt: Runtime, model: int) -> tuple[ModelInfo, Any]:
    """(model token, its models-package InputSpec), the decoding cached by the stored bytes."""
    reg = registry(rt)
    raw = reg.models.overlay.get(reg.models.key(model)) if isinstance(model, int) else None
    if raw is not None:
        with _INFOS_LOCK:
            found = _INFOS.get(raw)
            if found is not None:
                _INFOS.move_to_end(raw)
                return found
    try:
        info = reg.model(model)
    except DispatchError as exc:
        raise QueryError(type(exc).__name__, str(exc)) from exc
    entry = (info, _spec(info))
    if raw is not None:
        with _INFOS_LOCK:
            _INFOS[raw] = entry
            while len(_INFOS) > _INFO_CACHE_SIZE:
                _INFOS.popitem(last=False)
    return entry


def model_json(model: int, info: ModelInfo) -> dict[str, Any]:
    """The public description of a model (what an unauthorized caller may see too)."""
    return {
        "id": model,
        "owner": "0x" + bytes(info.owner).hex(),
        "approved": None if info.approved is None else "0x" + bytes(info.approved).hex(),
        "name": info.metadata.name,
        "description": info.metadata.description,
        "task": info.metadata.task,
        "license": info.metadata.license,
        "kind": info.kind,
        "inputSpec": {
            "nFeatures": info.input_spec.n_features,
            "sparse": info.input_spec.sparse,
            "minValue": info.input_spec.min_value,
            "maxValue": info.input_spec.max_value,
            "maxNonzeros": info.input_spec.max_nonzeros,
            **_input_step_json(info),
        },
        "labels": list(info.labels),
        "artifact": "0x" + info.artifact.hex(),
        "retired": info.retired,
        "createdAt": info.created_at,
    }


def _input_step_json(info: ModelInfo) -> dict[str, Any]:
    """The optional input step of a model's spec (absent keys for models without one)."""
    spec, out = info.input_spec, dict[str, Any]()
    if spec.text is not None:
        t = spec.text
        out["text"] = {"tokenPattern": t.token_pattern, "lowercase": t.lowercase, "ngramMin": t.ngram_min,
                       "ngramMax": t.ngram_max, "alternateSign": t.alternate_sign, "binary": t.binary,
                       "norm": t.norm.value}
    if spec.scaling is not None:
        out["scaling"] = {"multQ32": list(spec.scaling.mult_q32), "addQ16": list(spec.scaling.add_q16)}
    return out


def list_models(rt: Runtime, owner: bytes | None, start: int, limit: int) -> dict[str, Any]:
    """Models in id order from `start` (all, or one owner's), at most `limit`; `next` continues."""
    reg = registry(rt)
    start, limit = max(0, start), max(1, min(limit, MAX_PAGE))
    ids = _owned_ids(reg, owner, start, limit + 1) if owner is not None else _all_ids(reg, start, limit + 1)
    page = ids[:limit]
    return {
        "models": [model_json(m, reg.models[m]) for m in page],
        "next": ids[limit] if len(ids) > limit else None,
    }


def _all_ids(reg: ModelRegistry, start: int, count: int) -> list[int]:
    end = min(reg.next_model.get(), start + count)
    return [m for m in range(max(0, start), end) if m in reg.models]


def _owned_ids(reg: ModelRegistry, owner: bytes, start: int, count: int) -> list[int]:
    from runtime.types import AccountId

    ids: list[int] = []
    for model, _ in reg.owned.iter_prefix(AccountId(owner)):
        if model >= start:
            ids.append(model)
            if len(ids) == count:
                break
    return ids


def load_weights(
    rt: Runtime, info: ModelInfo, root: bytes | None = None, spec: Any = None
) -> tuple[Any, Any]:
    """(kind, decoded weights) of a model's artifact (its current one unless `root` is given);
    `spec` is `info`'s InputSpec for the models package when the caller has it."""
    reg = registry(rt)
    artifact = info.artifact if root is None else root
    kind = reg.kind(info.kind)
    spec, n_labels = spec if spec is not None else _spec(info), len(info.labels)
    weights = WEIGHTS.get((info.kind, artifact))
    # a hit must be for this model's spec and labels too: `root` may name another model's artifact
    if weights is None or weights.spec != spec or weights.n_labels != n_labels:
        weights = kind.decode(reg.artifact_bytes(artifact), spec, n_labels)
        WEIGHTS.put((info.kind, artifact), weights)
    return kind, weights


def predict(
    rt: Runtime,
    model: int,
    rows: Any,
    *,
    root: bytes | None = None,
    fixed: bool = False,
    weights: Any = None,
) -> dict[str, Any]:
    """Labels and scores for one row or a batch, computed from the state, with no transaction or fee.

    Rows are real numbers (quantized here to Q.16, refusing NaN, infinities and out-of-range values) or,
    with `fixed`, Q.16 integers as the chain stores them. Sparse rows are lists of feature indices or
    {index: value} objects (keys may be decimal strings, as in JSON). Scores are Q.16 integers.
    `weights`: already decoded weights whose artifact root is `root` (a version's, from Versioning).
    """
    from models.errors import ModelError

    info, spec = _model_entry(rt, model)
    batch = as_batch(rows)
    try:
        if weights is None:
            kind, weights = load_weights(rt, info, root, spec)
        else:
            kind = registry(rt).kind(info.kind)
    except (ModelError, DispatchError) as exc:  # DispatchError: an unknown `root` or kind
        raise QueryError(type(exc).__name__, str(exc)) from exc
    inputs = _inputs(info)
    return {
        "model": model,
        "artifact": "0x" + (root or info.artifact).hex(),
        "predictions": predict_rows(kind, weights, spec, info.labels, batch, fixed=fixed, inputs=inputs,
                                    logistic=info.metadata.task == LOGISTIC_TASK),
    }


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
    """{label, name, scores, scoresReal[, probabilities]} per row of a batch, from decoded weights: the
    node's and a client's local predictions run this same code (rows as in `predict`; documents for a
    text model, whose `inputs` (models.inputs.ModelInput) carries the featurizer; QueryError naming a
    refused row). `scores` are the chain's Q.16 ints; `scoresReal` the same divided by 2**16 and, for a
    logistic model, `probabilities` their softmax (sklearn's predict_proba), both computed off chain."""
    from models.errors import ModelError

    try:
        if inputs is not None:
            rows = inputs.rows(kind, batch, fixed=fixed)
        elif isinstance(batch[0], str) or any(isinstance(row, str) for row in batch):
            from models.inputs import TextForNumericModel

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


def _inputs(info: ModelInfo) -> Any:
    """The ModelInput of a model with an input step (text or scaling), else None (the plain path)."""
    spec = info.input_spec
    if spec.text is None and spec.scaling is None:
        return None
    key = (spec.text, spec.scaling, spec.n_features, spec.min_value, spec.max_value, spec.max_nonzeros)
    with _INFOS_LOCK:
        found = _MODEL_INPUTS.get(key)
    if found is None:
        from pallets.model_registry.pallet import model_input

        found = model_input(spec)
        with _INFOS_LOCK:
            _MODEL_INPUTS[key] = found
            while len(_MODEL_INPUTS) > _INFO_CACHE_SIZE:
                _MODEL_INPUTS.popitem(last=False)
    return found


def _spec(info: ModelInfo) -> Any:
    from pallets.model_registry.pallet import _kind_spec

    return _kind_spec(info.input_spec)


def as_batch(rows: Any) -> list[Any]:
    """A batch from one row, one document (a string), or a list of rows or documents."""
    if isinstance(rows, str):
        rows = [rows]
    if not isinstance(rows, list) or not rows:
        raise QueryError("BadRows", "rows must be a non-empty list (one row, or a list of rows)")
    batch = rows if isinstance(rows[0], list | dict | str) else [rows]
    if len(batch) > MAX_ROWS:
        raise QueryError("TooManyRows", f"{len(batch)} rows, at most {MAX_ROWS} per request")
    return batch


def download(rt: Runtime, root: bytes, start: int, count: int) -> dict[str, Any]:
    """Chunks [start, start+count) of an artifact with one read proof covering the manifest and them."""
    reg = registry(rt)
    manifest = reg.artifacts.get(root)
    if manifest is None:
        raise QueryError("UnknownArtifact", f"no artifact 0x{root.hex()}")
    start, count = max(0, start), max(0, min(count, MAX_DOWNLOAD_CHUNKS))
    hashes = manifest.chunks[start : start + count]
    keys = [reg.artifacts.key(root)] + [reg.chunks.key(h) for h in hashes]
    proof = rt.prove(keys)
    return {
        "root": "0x" + root.hex(),
        "size": manifest.size,
        "chunkCount": len(manifest.chunks),
        "chunkHashes": ["0x" + h.hex() for h in manifest.chunks],
        "start": start,
        "chunks": ["0x" + (reg.chunks.get(h) or b"").hex() for h in hashes],
        "at": "0x" + rt.head.hash().hex(),
        "stateRoot": "0x" + rt.head.state_root.hex(),
        "manifestKey": "0x" + keys[0].hex(),
        "chunkKeys": ["0x" + k.hex() for k in keys[1:]],
        "proof": ["0x" + node.hex() for node in proof],
    }
