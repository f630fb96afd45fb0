"""Automatic versions: a block's training updates to one model, accumulated in memory (pending.py), become
one version in on_finalize (or earlier, when an explicit version of the model is made in the block: see
settle), stored as a delta from the version they were applied to, or in full every CHECKPOINT_EVERY deltas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu import models
from cmu.formats import artifact as art
from cmu.models.weights import check_delta, with_flat
from pallets.model_registry.types import ModelInfo
from pallets.versioning import store
from pallets.versioning.pending import I64, PendingTraining, as_int64
from pallets.versioning.types import Cause
from runtime.pallet import ensure, fail

if TYPE_CHECKING:
    from pallets.versioning.pallet import Versioning


def record_update(
    pallet: Versioning, model: int, contribution_id: int, indices: Any, values: Any, *, trusted: bool = False
) -> None:
    """Apply one update to the model's running weights of this block (InvalidDelta if it doesn't fit).

    The delta's structure is always checked (O(changes)); its values against the kind's bounds only when
    not `trusted` (an O(flat) check; a caller that computed the delta with the kind's own update rule on
    current_weights may skip it: those rules keep the bounds by construction)."""
    info = pallet.registry.live_model(model)
    ensure(0 <= contribution_id < 1 << 64, pallet.InvalidDelta, "contribution ids are u64")
    idx, vals = as_int64(indices), as_int64(values)
    if idx is None or vals is None:
        fail(pallet.InvalidDelta, "indices and values must be 1-D integer sequences")
    pending = pallet.pending.get(model)
    fresh = pending is None
    if pending is None:
        pending = PendingTraining.start(*latest_weights(pallet, model))
    _check(pallet, info, pending, idx, vals, trusted)
    old = pending.apply(idx, vals)
    pending.contributions.append(contribution_id)
    if fresh:
        pallet.pending.set(model, pending)  # undone with the call's layer
    pallet.pending.on_rollback(lambda: _undo(pending, idx, old))


def _check(pallet: Versioning, info: ModelInfo, pending: PendingTraining, idx: I64, vals: I64,
           trusted: bool) -> None:
    try:
        check_delta(pending.weights, idx, vals)
        if not trusted:
            store.model_kind(pallet, info).validate(models.apply_delta(pending.weights, idx, vals))
    except models.ModelError as exc:
        fail(pallet.InvalidDelta, str(exc))


def _undo(pending: PendingTraining, idx: I64, old: I64) -> None:
    """Undo one recorded update inside the running weights (its call's layer was rolled back)."""
    pending.buffer[idx] = old
    pending.contributions.pop()


def latest_weights(pallet: Versioning, model: int) -> tuple[int, models.Weights]:
    """(latest version number, its full weights), decoded once per version (the registry's cache)."""
    number = pallet.latest(model)
    return number, pallet.weights_at(model, number)


def current_weights(pallet: Versioning, model: int) -> models.Weights:
    """The latest version's weights plus this block's training updates so far (a live read-only view:
    use it before the next update, or copy it)."""
    pending = pallet.pending.get(model)
    if pending is not None:
        return pending.weights
    return latest_weights(pallet, model)[1]


def settle(pallet: Versioning, model: int) -> None:
    """Mint the model's pending training version now (see Versioning.settle_training)."""
    pending = pallet.pending.get(model)
    if pending is None:
        return
    buffer = pending.buffer.copy()  # finalize freezes the running buffer; a rollback gets this copy
    kept = PendingTraining(
        pending.base, pending.base_weights, buffer, with_flat(pending.base_weights, buffer.view()),
        list(pending.contributions),
    )
    pallet.pending.pop(model, restore=kept)
    finalize(pallet, model, pending)


def finalize(pallet: Versioning, model: int, pending: PendingTraining) -> None:
    """Mint the training version of one model (nothing if it was retired during the block)."""
    info = pallet.registry.model(model)  # models are never deleted, only retired
    if info.retired:
        return
    data = store.encode_weights(pallet, info, pending.weights)
    root, delta = art.artifact_root(data), b""
    store.remember(pallet, root, pending.weights)
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
    pending.buffer.flags.writeable = False  # the block is over: these are the new version's weights
