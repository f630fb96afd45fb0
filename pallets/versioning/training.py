"""Automatic versions: a block's training updates to one model, accumulated in memory (pending.py), become
one version in on_finalize, stored as a delta from the version they were applied to, or in full every
CHECKPOINT_EVERY deltas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import models
from pallets.model_registry import artifact as art
from pallets.model_registry.types import ModelInfo
from pallets.versioning import store
from pallets.versioning.pending import PendingTraining, as_int64
from pallets.versioning.types import Cause
from runtime.pallet import ensure, fail

if TYPE_CHECKING:
    from pallets.versioning.pallet import Versioning


def record_update(pallet: Versioning, model: int, contribution_id: int, indices: Any, values: Any) -> None:
    """Apply one update to the model's running weights of this block (InvalidDelta if it doesn't fit)."""
    info = pallet.registry.live_model(model)
    ensure(0 <= contribution_id < 1 << 64, pallet.InvalidDelta, "contribution ids are u64")
    before = pallet.pending.get(model)
    if before is None:
        base = pallet.latest(model)
        weights = pallet.weights_at(model, base)
        before = PendingTraining(base, weights, weights)
    after = PendingTraining(
        before.base,
        before.base_weights,
        applied(pallet, info, before.weights, indices, values),
        [*before.contributions, contribution_id],
    )
    previous = pallet.pending.get(model)
    pallet.pending[model] = after
    pallet.runtime.overlay.on_rollback(lambda: _restore(pallet, model, previous))


def _restore(pallet: Versioning, model: int, previous: PendingTraining | None) -> None:
    """Undo one recorded update (its call's storage layer was rolled back)."""
    if previous is None:
        pallet.pending.pop(model, None)
    else:
        pallet.pending[model] = previous


def applied(pallet: Versioning, info: ModelInfo, weights: models.Weights, indices: Any, values: Any) -> Any:
    """`weights` with flat[indices] = values, checked against the kind's bounds."""
    idx, vals = as_int64(indices), as_int64(values)
    if idx is None or vals is None:
        fail(pallet.InvalidDelta, "indices and values must be 1-D integer sequences")
    try:
        return store.model_kind(pallet, info).validate(models.apply_delta(weights, idx, vals))
    except models.ModelError as exc:
        fail(pallet.InvalidDelta, str(exc))


def finalize(pallet: Versioning, model: int, pending: PendingTraining) -> None:
    """Mint the training version of one model (nothing if it was retired during the block)."""
    info = pallet.registry.model(model)  # models are never deleted, only retired
    if info.retired:
        return
    data = store.encode_weights(pallet, info, pending.weights)
    root, delta = art.artifact_root(data), b""
    store.remember(root, pending.weights)
    depth = pallet.version(model, pending.base).depth + 1
    if depth >= pallet.CHECKPOINT_EVERY:
        pallet.registry.store_artifact(info.owner, data, 0)
        depth = 0
    else:
        delta = models.encode_delta(*models.diff(pending.base_weights, pending.weights))
    version = pallet.new_record(
        model, pending.base, root, author=None, cause=Cause.TRAINING, depth=depth,
        contributions=tuple(pending.contributions),
    )
    pallet.mint(version, delta)
