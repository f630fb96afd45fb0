"""How versions are stored and rebuilt: version 0 from the registry's artifact, full versions (a
referenced registry artifact), delta versions (parent + models' encode_delta bytes) and weights_at.

Pure helpers over a Versioning pallet: they read its storage and the registry's typed API; only
`ensure_genesis_version` and `append` write, and callers use them after every check (verify, then mutate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu import models
from cmu.models.weights import Weights, check_delta, with_flat
from pallets.model_registry.types import ModelInfo
from pallets.versioning.types import Cause, VersionRecord
from runtime.pallet import fail

if TYPE_CHECKING:
    from pallets.versioning.pallet import Versioning


def model_kind(pallet: Versioning, info: ModelInfo) -> Any:
    """The model kind of a model token."""
    return pallet.registry.kind(info.kind)


def decode_weights(pallet: Versioning, info: ModelInfo, data: bytes) -> Weights:
    """Weights of `data` for this model's kind, inputs and labels, or InvalidWeights."""
    try:
        spec = info.input_spec.to_models()
        weights: Weights = model_kind(pallet, info).decode(data, spec, len(info.labels))
    except models.ModelError as exc:
        fail(pallet.InvalidWeights, str(exc))
    return weights


def encode_weights(pallet: Versioning, info: ModelInfo, weights: Weights) -> bytes:
    """The canonical artifact bytes of `weights`."""
    data: bytes = model_kind(pallet, info).encode(weights)
    return data


def genesis_record(info: ModelInfo, model: int) -> VersionRecord:
    """Version 0 of a model that Versioning has not touched yet: the registry's current artifact."""
    return VersionRecord(
        model=model,
        number=0,
        parent=None,
        artifact=info.artifact,
        author=info.owner,
        block=info.created_at,
        extrinsic=None,
        cause=Cause.UPLOAD,
        notes_hash=None,
        metrics=(),
        tag=None,
        contributions=(),
        depth=0,
    )


def count(pallet: Versioning, model: int) -> int:
    """How many versions the model has (1 for an untouched model: its implicit version 0)."""
    pallet.registry.model(model)
    return pallet.version_count.get(model) or 1


def record(pallet: Versioning, model: int, number: int) -> VersionRecord | None:
    """A version's record (version 0 of an untouched model is built from the registry), or None.
    UnknownModel if the registry has no such model."""
    stored = pallet.versions.get(model, number)
    if stored is not None or number != 0 or model in pallet.version_count:
        return stored
    return genesis_record(pallet.registry.model(model), model)


def ensure_genesis_version(pallet: Versioning, model: int) -> None:
    """Store version 0 (the registry's current artifact, now referenced) unless versions exist."""
    if model in pallet.version_count:
        return
    info = pallet.registry.model(model)
    pallet.registry.reference_artifact(info.artifact)
    pallet.versions[model, 0] = genesis_record(info, model)
    pallet.version_count[model] = 1


def append(pallet: Versioning, version: VersionRecord, delta: bytes = b"") -> None:
    """Store a new version (after ensure_genesis_version): its delta, or a reference to its artifact."""
    if version.full:
        pallet.registry.reference_artifact(version.artifact)
    else:
        pallet.deltas[version.model, version.number] = delta
    pallet.versions[version.model, version.number] = version
    pallet.version_count[version.model] = version.number + 1


def weights_at(pallet: Versioning, model: int, number: int) -> Weights:
    """The full weights of a version: the nearest cached or full ancestor, plus the deltas after it
    (through the runtime's one weights cache, the registry's)."""
    info, spec = pallet.registry.model_entry(model)
    target = record(pallet, model, number)
    if target is None:
        fail(pallet.UnknownVersion, f"model {model} has no version {number}")
    cache, n_labels = pallet.registry.weights, len(info.labels)
    chain: list[int] = []  # delta versions to replay, newest first
    current = target
    weights = cache.get(current.artifact, info.kind, spec, n_labels)
    while weights is None and not current.full and current.parent is not None:
        chain.append(current.number)
        current = pallet.versions[model, current.parent]
        weights = cache.get(current.artifact, info.kind, spec, n_labels)
    if weights is None:
        weights = decode_weights(pallet, info, pallet.registry.artifact_bytes(current.artifact))
        cache.put(current.artifact, weights)
    if chain:
        weights = replay(weights, [pallet.deltas[model, n] for n in reversed(chain)])
        cache.put(target.artifact, weights)
    return weights


def replay(weights: Weights, deltas: list[bytes]) -> Weights:
    """`weights` with encode_delta deltas applied in order: one copy of the flat array, whatever their
    number (each delta sets absolute values, so a later one simply overwrites an earlier one)."""
    flat = weights.flat.copy()
    for data in deltas:
        indices, values = models.decode_delta(data)
        check_delta(weights, indices, values)
        flat[indices] = values
    return with_flat(weights, flat)


def remember(pallet: Versioning, root: bytes, weights: Weights) -> None:
    """Cache weights just computed whose canonical bytes have this root (a training version's)."""
    pallet.registry.weights.put(root, weights)
