"""ModelRegistry's RPC view: the read-only queries behind the `model_*` RPC methods (model info, paged
listing, free predictions and downloads with state proofs). They run on a runtime with no block in
progress (a node's read view) and never write. The JSON shapes of the answers are made here, on the
node side, not in the pallet. Decoded weights come from the runtime's one weights cache (the
ModelRegistry pallet's, by artifact root).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu.formats.predictions import (
    LOGISTIC_TASK,
    MAX_ROWS,
    QueryError,
    as_batch,
    input_spec_json,
    predict_rows,
)
from pallets.model_registry.pallet import ModelRegistry
from pallets.model_registry.types import ModelInfo
from runtime.errors import DispatchError

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAX_PAGE = 100
MAX_DOWNLOAD_CHUNKS = 64


def registry(rt: Runtime) -> ModelRegistry:
    """The runtime's registry pallet (QueryError when the chain has none)."""
    if not rt.has_pallet(ModelRegistry.name):
        raise QueryError("NoRegistry", "this chain has no ModelRegistry pallet")
    return rt.pallet(ModelRegistry)


def model_info(rt: Runtime, model: int) -> ModelInfo:
    """A model token or QueryError UnknownModel."""
    return model_entry(rt, model)[0]


def model_entry(rt: Runtime, model: int) -> tuple[ModelInfo, Any]:
    """(model token, its models-package InputSpec), decoded once per stored value; QueryError UnknownModel."""
    try:
        return registry(rt).model_entry(model)
    except DispatchError as exc:
        raise QueryError(type(exc).__name__, str(exc)) from exc


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
        "inputSpec": input_spec_json(info.input_spec),
        "labels": list(info.labels),
        "artifact": "0x" + info.artifact.hex(),
        "retired": info.retired,
        "createdAt": info.created_at,
    }


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
    spec, n_labels = spec if spec is not None else info.input_spec.to_models(), len(info.labels)
    # a hit must be for this model's spec and labels too: `root` may name another model's artifact
    weights = reg.weights.get(artifact, info.kind, spec, n_labels)
    if weights is None:
        weights = kind.decode(reg.artifact_bytes(artifact), spec, n_labels)
        reg.weights.put(artifact, weights)
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
    from cmu.models.errors import ModelError

    info, spec = model_entry(rt, model)
    batch = as_batch(rows)
    try:
        if weights is None:
            kind, weights = load_weights(rt, info, root, spec)
        else:
            kind = registry(rt).kind(info.kind)
    except (ModelError, DispatchError) as exc:  # DispatchError: an unknown `root` or kind
        raise QueryError(type(exc).__name__, str(exc)) from exc
    steps = info.input_spec
    inputs = steps.to_model_input() if steps.text is not None or steps.scaling is not None else None
    return {
        "model": model,
        "artifact": "0x" + (root or info.artifact).hex(),
        "predictions": predict_rows(kind, weights, spec, info.labels, batch, fixed=fixed, inputs=inputs,
                                    logistic=info.metadata.task == LOGISTIC_TASK),
    }


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


__all__ = [
    "MAX_DOWNLOAD_CHUNKS", "MAX_PAGE", "MAX_ROWS", "QueryError", "as_batch", "download", "list_models",
    "load_weights", "model_entry", "model_info", "model_json", "predict", "predict_rows", "registry",
]
