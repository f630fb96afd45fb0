"""Versioning.settle_training: an explicit version (rollback, publish, set_artifact) made in a block that
already has training updates of the model mints those updates first, so the explicit version is `latest`
after the block and later training in the block starts from it."""

from __future__ import annotations

from versioning_helpers import (
    encode,
    initial_weights,
    publish,
    register,
    trained,
    training_step,
    upload,
    versioning,
)

from pallets.versioning.types import Cause
from runtime.testing import assert_ok


def train(rt, model, weights, contribution):
    """One real training step recorded in the open block; the weights after it."""
    step = training_step(weights, contribution)
    versioning(rt).record_training_update(model, contribution, step.indices, step.values)
    return step.weights


def test_rollback_works_after_training_in_the_same_block(rt):
    model = register(rt)
    bad = train(rt, model, initial_weights(), 0)
    rt.next_block()
    pallet = versioning(rt)
    assert pallet.weights_at(model, 1) == bad
    later = train(rt, model, bad, 1)  # someone's contribution gets in ahead of the rollback
    assert_ok(rt.call("alice", "Versioning.rollback", model=model, version=0, notes_hash=None))
    rt.next_block()
    causes = [pallet.version(model, n).cause for n in range(pallet.latest(model) + 1)]
    assert causes == [Cause.UPLOAD, Cause.TRAINING, Cause.TRAINING, Cause.ROLLBACK]
    assert pallet.weights_at(model, 2) == later  # the contribution is kept, in order
    assert pallet.latest(model) == 3 and pallet.weights_at(model, 3) == initial_weights()


def test_publish_version_works_after_training_in_the_same_block_and_training_goes_on_from_it(rt):
    model = register(rt)
    train(rt, model, initial_weights(), 0)
    root = upload(rt, "alice", encode(trained(4)))
    assert_ok(publish(rt, "alice", model, root))
    after = train(rt, model, trained(4), 1)  # later in the block: starts from the published weights
    rt.next_block()
    pallet = versioning(rt)
    assert [pallet.version(model, n).cause for n in (1, 2, 3)] == [Cause.TRAINING, Cause.UPLOAD,
                                                                   Cause.TRAINING]
    assert pallet.version(model, 3).parent == 2 and pallet.weights_at(model, 3) == after


def test_settle_training_is_undone_with_the_storage_layer_it_ran_in(rt):
    model = register(rt)
    kept = train(rt, model, initial_weights(), 0)
    pallet, overlay = versioning(rt), rt.runtime.overlay
    overlay.begin()  # the layer of a call that settles, then fails
    pallet.settle_training(model)
    assert pallet.latest(model) == 1 and model not in pallet.pending
    overlay.rollback()
    assert pallet.latest(model) == 0 and pallet.pending[model].weights == kept
    more = train(rt, model, kept, 1)  # the restored updates are writable again
    rt.next_block()
    assert pallet.latest(model) == 1 and pallet.weights_at(model, 1) == more
    assert pallet.version(model, 1).contributions == (0, 1)
