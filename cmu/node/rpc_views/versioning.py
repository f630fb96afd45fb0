"""Read-only queries behind `model_history`, `model_verify`, `model_diff` and predictions or downloads at a
version: version records as JSON, a version's full bytes (stored, or rebuilt from deltas), chunk diffs.

They run on a runtime with no block in progress and never write. Refusals are the registry's QueryError
(stable names for RPC clients: UnknownModel, UnknownVersion, UnknownChannel, NoVersioning, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu.formats import artifact as art
from cmu.models.weights import Weights
from cmu.node.rpc_views.model_registry import QueryError
from pallets.model_registry.types import ModelInfo
from pallets.versioning import store
from pallets.versioning.pallet import Versioning
from pallets.versioning.types import LATEST, STABLE, VersionRecord
from runtime.crypto import blake2_256
from runtime.errors import DispatchError

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAX_HISTORY = 100
"""Most records one history page holds."""
Selector = int | str | None
"""A version number, a channel name, or None for the default (stable when set, else latest)."""


def versioning(rt: Runtime) -> Versioning | None:
    """The chain's Versioning pallet, or None when the chain has none."""
    return rt.pallet(Versioning) if rt.has_pallet(Versioning.name) else None


def required(rt: Runtime) -> Versioning:
    """The chain's Versioning pallet (QueryError NoVersioning otherwise)."""
    pallet = versioning(rt)
    if pallet is None:
        raise QueryError("NoVersioning", "this chain has no Versioning pallet")
    return pallet


def refused(exc: DispatchError) -> QueryError:
    """A pallet's typed error as a query refusal (its class name is the stable name)."""
    return QueryError(type(exc).__name__, str(exc))


def resolve(rt: Runtime, model: int, selector: Selector) -> VersionRecord:
    """The record of the version `selector` names (the default: stable when set, else latest)."""
    pallet = required(rt)
    try:
        return pallet.version(model, pallet.resolve(model, None, selector))
    except DispatchError as exc:
        raise refused(exc) from exc


def resolve_known(rt: Runtime, model: int, info: ModelInfo, selector: Selector) -> VersionRecord:
    """resolve() for a model whose token the caller has already read (the prediction path): the same
    answer and refusals, without reading and decoding the token again."""
    pallet = required(rt)
    count = pallet.version_count.get(model) or 1
    number: int | None
    if selector is None:
        number = pallet.channels.get(model, STABLE)
        number = count - 1 if number is None else number
    elif isinstance(selector, int):
        number = selector
    else:
        number = count - 1 if selector == LATEST else pallet.channels.get(model, selector)
        if number is None:
            raise QueryError("UnknownChannel", f"model {model} has no channel {selector!r}")
    found = pallet.versions.get(model, number)
    if found is None and number == 0 and model not in pallet.version_count:
        return store.genesis_record(info, model)
    if found is None:
        raise QueryError("UnknownVersion", f"model {model} has no version {number}")
    return found


def weights(rt: Runtime, model: int, record: VersionRecord) -> Weights:
    """A version's full weights (cached by artifact root; deltas replayed from the nearest checkpoint)."""
    try:
        return required(rt).weights_at(model, record.number)
    except DispatchError as exc:
        raise refused(exc) from exc


def full_bytes(rt: Runtime, model: int, record: VersionRecord) -> bytes:
    """A version's full artifact bytes: the stored artifact, or its weights re-encoded."""
    pallet = required(rt)
    try:
        if record.full:
            return pallet.registry.artifact_bytes(record.artifact)
        return store.encode_weights(pallet, pallet.registry.model(model), weights(rt, model, record))
    except DispatchError as exc:
        raise refused(exc) from exc


def record_json(pallet: Versioning, record: VersionRecord) -> dict[str, Any]:
    """One version as the RPC shows it."""
    return {
        "model": record.model,
        "version": record.number,
        "parent": record.parent,
        "artifact": _hex(record.artifact),
        "author": None if record.author is None else _hex(record.author),
        "block": record.block,
        "extrinsic": record.extrinsic,
        "cause": record.cause.name.lower(),
        "tag": record.tag,
        "notesHash": None if record.notes_hash is None else _hex(record.notes_hash),
        "metrics": [{"name": m.name, "value": m.value} for m in record.metrics],
        "contributions": list(record.contributions),
        "full": record.full,
        "deprecated": (record.model, record.number) in pallet.deprecated,
    }


def history(rt: Runtime, model: int, first: int = 0, last: int | None = None) -> dict[str, Any]:
    """Versions `first`..`last` (inclusive, clipped to the existing ones), at most MAX_HISTORY of them:
    {"model", "latest", "stable", "versions": [...], "next": number to continue from, or null}."""
    pallet = required(rt)
    try:
        newest = pallet.latest(model)
        end = newest if last is None else min(last, newest)
        start = max(0, first)
        stop = min(end, start + MAX_HISTORY - 1)
        page = [record_json(pallet, pallet.version(model, n)) for n in range(start, stop + 1)]
    except DispatchError as exc:
        raise refused(exc) from exc
    return {
        "model": model,
        "latest": newest,
        "stable": pallet.channels.get(model, STABLE),
        "versions": page,
        "next": stop + 1 if stop < end else None,
    }


def verify(rt: Runtime, model: int, version: int, artifact_root: bytes) -> dict[str, Any]:
    """Whether `version` of `model` has this artifact root, both as recorded and as rebuilt from the
    state (stored chunks, or the checkpoint and deltas re-encoded): {"valid", "recorded", "rebuilt"}."""
    pallet = required(rt)
    try:
        record = pallet.version(model, version)
    except DispatchError as exc:
        raise refused(exc) from exc
    rebuilt = art.artifact_root(full_bytes(rt, model, record))
    return {
        "model": model,
        "version": version,
        "artifact": _hex(artifact_root),
        "recorded": _hex(record.artifact),
        "rebuilt": _hex(rebuilt),
        "valid": record.artifact == artifact_root == rebuilt,
    }


def chunk_hashes(rt: Runtime, model: int, version: int) -> list[bytes]:
    """The chunk hashes of a version's full artifact (rebuilt from deltas when it is not stored)."""
    pallet = required(rt)
    try:
        record = pallet.version(model, version)
        if record.full:
            manifest = pallet.registry.artifacts.get(record.artifact)
            if manifest is not None:
                return list(manifest.chunks)
    except DispatchError as exc:
        raise refused(exc) from exc
    return [blake2_256(chunk) for chunk in art.split_chunks(full_bytes(rt, model, record))]


def diff(rt: Runtime, model: int, v1: int, v2: int) -> dict[str, Any]:
    """Which chunks differ between two versions' full artifacts (a chunk only one of them has counts)."""
    a, b = chunk_hashes(rt, model, v1), chunk_hashes(rt, model, v2)
    changed = [i for i in range(max(len(a), len(b))) if i >= len(a) or i >= len(b) or a[i] != b[i]]
    return {"model": model, "from": v1, "to": v2, "chunks": [len(a), len(b)], "changed": changed}


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()
