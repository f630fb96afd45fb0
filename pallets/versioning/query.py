"""Read-only queries for the future `model_history`, `model_verify` and `model_diff` RPC methods:
a model's version records, whether a version has a given artifact root, and which chunks differ."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pallets.model_registry import artifact as art
from pallets.versioning import store
from pallets.versioning.pallet import Versioning
from pallets.versioning.types import VersionRecord
from runtime.crypto import blake2_256
from runtime.errors import DispatchError

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAX_HISTORY = 1_000
"""Most records one history query returns."""


def history(runtime: Runtime, model: int, first: int = 0, last: int | None = None) -> list[VersionRecord]:
    """Version records `first`..`last` (inclusive, clipped to the existing ones and to MAX_HISTORY)."""
    pallet = runtime.pallet(Versioning)
    newest = pallet.latest(model)
    end = newest if last is None else min(last, newest)
    end = min(end, first + MAX_HISTORY - 1)
    return [pallet.version(model, number) for number in range(max(0, first), end + 1)]


def verify(runtime: Runtime, model: int, version: int, artifact_root: bytes) -> bool:
    """Whether `version` of `model` exists and its full weights have this artifact root."""
    try:
        found = store.record(runtime.pallet(Versioning), model, version)
    except DispatchError:  # no such model
        return False
    return found is not None and found.artifact == artifact_root


def chunk_hashes(runtime: Runtime, model: int, version: int) -> list[bytes]:
    """The chunk hashes of a version's full artifact (rebuilt from deltas when it is not stored)."""
    pallet = runtime.pallet(Versioning)
    record = pallet.version(model, version)
    if record.full:
        data = pallet.registry.artifact_bytes(record.artifact)
    else:
        info = pallet.registry.model(model)
        data = store.encode_weights(pallet, info, pallet.weights_at(model, version))
    return [blake2_256(chunk) for chunk in art.split_chunks(data)]


def diff(runtime: Runtime, model: int, v1: int, v2: int) -> list[int]:
    """Indices of the chunks that differ between two versions' full artifacts (extra chunks count)."""
    a, b = chunk_hashes(runtime, model, v1), chunk_hashes(runtime, model, v2)
    return [i for i in range(max(len(a), len(b))) if i >= len(a) or i >= len(b) or a[i] != b[i]]
