"""History checks shared by the Versioning block tests: the history in state (model_history pages), the
history rebuilt from block events alone, and the integrity of every version (root recomputed from its
bytes, parent links forming one tree)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cmu.formats import artifact as art
from cmu.node.rpc_views import versioning as versions
from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from runtime.executive import PHASE_FINALIZATION
from runtime.pallet import Event


def state_history(rt: Any, model: int) -> list[dict[str, Any]]:
    """Every version of `model` as model_history shows it (all pages)."""
    out: list[dict[str, Any]] = []
    start: int | None = 0
    while start is not None:
        page = versions.history(rt, model, start)
        out.extend(page["versions"])
        start = page["next"]
    return out


def _hex(data: bytes | None) -> str | None:
    return None if data is None else "0x" + bytes(data).hex()


def events_history(blocks: Iterable[tuple[int, list[tuple[int, Event]]]], model: int) -> list[dict[str, Any]]:
    """The history of `model` rebuilt from (block number, event records) alone: ModelRegistered makes
    version 0, VersionCreated every other (its phase is the extrinsic), VersionDeprecated marks one."""
    found: dict[int, dict[str, Any]] = {}
    for number, records in blocks:
        for phase, event in records:
            if isinstance(event, ModelRegistry.ModelRegistered) and event.model == model:
                found[0] = _entry(model, 0, None, event.artifact, event.owner, number, None, "upload")
            elif isinstance(event, Versioning.VersionCreated) and event.model == model:
                extrinsic = None if phase == PHASE_FINALIZATION else phase
                entry = _entry(model, event.version, event.parent, event.artifact, event.author, number,
                               extrinsic, event.cause.name.lower())
                entry.update(tag=event.tag, notesHash=_hex(event.notes_hash), full=event.full,
                             metrics=[{"name": m.name, "value": m.value} for m in event.metrics],
                             contributions=list(event.contributions))
                found[event.version] = entry
            elif isinstance(event, Versioning.VersionDeprecated) and event.model == model:
                found[event.version]["deprecated"] = True
    return [found[n] for n in sorted(found)]


def _entry(model: int, number: int, parent: int | None, artifact: bytes, author: bytes | None, block: int,
           extrinsic: int | None, cause: str) -> dict[str, Any]:
    return {"model": model, "version": number, "parent": parent, "artifact": _hex(artifact),
            "author": _hex(author), "block": block, "extrinsic": extrinsic, "cause": cause, "tag": None,
            "notesHash": None, "metrics": [], "contributions": [], "full": True, "deprecated": False}


def check_integrity(rt: Any, model: int) -> list[dict[str, Any]]:
    """Every version's root equals the root of its bytes rebuilt from state with a cold cache (stored
    chunks, or the checkpoint's weights plus the deltas, re-encoded); parents form one tree rooted at 0."""
    history = state_history(rt, model)
    rt.pallet(ModelRegistry).weights.clear()
    for entry in history:
        record = versions.resolve(rt, model, entry["version"])
        data = versions.full_bytes(rt, model, record)
        if art.artifact_root(data) != record.artifact:
            raise AssertionError(f"version {record.number}: bytes do not hash to the recorded root")
    numbers = [e["version"] for e in history]
    if numbers != list(range(len(history))):
        raise AssertionError(f"version numbers are not 0..n-1: {numbers}")
    roots = [e for e in history if e["parent"] is None]
    if [e["version"] for e in roots] != [0]:
        raise AssertionError("the history must have exactly one root, version 0")
    for entry in history[1:]:  # parents come before children, so every chain ends at version 0
        if not 0 <= entry["parent"] < entry["version"]:
            raise AssertionError(f"version {entry['version']} has parent {entry['parent']}")
    return history
