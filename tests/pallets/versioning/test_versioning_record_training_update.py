"""Versioning.record_training_update and on_finalize: all training updates of one model in one block make
exactly one version at the end of the block, stored as a delta (a full checkpoint every CHECKPOINT_EVERY)."""

from __future__ import annotations

import numpy as np
import pytest
from versioning_helpers import encode, initial_weights, register, training_step, versioning

from cmu import models
from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from pallets.versioning.types import Cause


def train_block(rt, model, weights, steps, first_id=0):
    """Record `steps` real training steps in the open block; returns the weights after them."""
    pallet = versioning(rt)
    for step in range(steps):
        result = training_step(weights, first_id + step)
        pallet.record_training_update(model, first_id + step, result.indices, result.values)
        weights = result.weights
    return weights


def test_record_training_update_works(rt):
    model = register(rt)
    expected = train_block(rt, model, initial_weights(), 3, first_id=10)
    assert expected != initial_weights()
    pallet = versioning(rt)
    assert pallet.latest(model) == 0  # nothing until the block ends
    rt.next_block()
    assert pallet.latest(model) == 1  # exactly one version for three updates
    record = pallet.version(model, 1)
    assert (record.parent, record.cause, record.author) == (0, Cause.TRAINING, None)
    assert record.contributions == (10, 11, 12)
    assert record.depth == 1 and not record.full
    assert record.artifact == art.artifact_root(encode(expected))
    assert pallet.weights_at(model, 1) == expected
    assert (model, 1) in pallet.deltas


def test_record_training_update_works_over_many_blocks(rt):
    model = register(rt)
    pallet = versioning(rt)
    weights = initial_weights()
    for block in range(4):
        weights = train_block(rt, model, weights, 2, first_id=2 * block)
        rt.next_block()
        assert pallet.weights_at(model, block + 1) == weights
        assert pallet.version(model, block + 1).artifact == art.artifact_root(encode(weights))
    assert pallet.latest(model) == 4


def test_record_training_update_works_for_two_models_in_one_block(rt):
    first, second = register(rt), register(rt, "bob")
    train_block(rt, second, initial_weights(), 1)
    train_block(rt, first, initial_weights(), 2)
    rt.next_block()
    pallet = versioning(rt)
    assert (pallet.latest(first), pallet.latest(second)) == (1, 1)
    created = [e for e in rt.runtime.pallet(Versioning).versions.items()]
    assert len(created) == 4


def test_record_training_update_works_taking_checkpoints(rt, monkeypatch):
    monkeypatch.setattr(Versioning, "CHECKPOINT_EVERY", 3)
    model = register(rt)
    pallet = versioning(rt)
    weights = initial_weights()
    for block in range(7):
        weights = train_block(rt, model, weights, 1, first_id=block)
        rt.next_block()
    depths = [pallet.version(model, n).depth for n in range(8)]
    assert depths == [0, 1, 2, 0, 1, 2, 0, 1]
    checkpoint = pallet.version(model, 6)
    reg = rt.pallet(ModelRegistry)
    assert reg.artifacts[checkpoint.artifact].refs == 1
    assert (model, 6) not in pallet.deltas
    assert pallet.weights_at(model, 7) == weights


def test_record_training_update_works_with_the_real_checkpoint_interval(rt):
    model = register(rt)
    pallet = versioning(rt)
    weights = initial_weights()
    for block in range(Versioning.CHECKPOINT_EVERY):
        weights = train_block(rt, model, weights, 1, first_id=block)
        rt.next_block()
    every = Versioning.CHECKPOINT_EVERY
    assert [n for n in range(every + 1) if pallet.version(model, n).full] == [0, every]
    assert pallet.weights_at(model, every) == weights


def test_record_training_update_works_forgetting_an_unfinished_block(rt):
    model = register(rt)
    train_block(rt, model, initial_weights(), 1)
    pallet = versioning(rt)
    pallet.on_initialize(rt.block_number)  # a new block starts without finishing the old one
    rt.next_block()
    assert pallet.latest(model) == 0


def test_record_training_update_works_skipping_a_model_retired_in_the_block(rt):
    model = register(rt)
    train_block(rt, model, initial_weights(), 1)
    rt.call("alice", "ModelRegistry.retire", model=model)
    rt.next_block()
    assert versioning(rt).latest(model) == 0


def test_record_training_update_fails_when_the_model_is_retired(rt):
    model = register(rt)
    rt.call("alice", "ModelRegistry.retire", model=model)
    with pytest.raises(ModelRegistry.Retired):
        versioning(rt).record_training_update(model, 1, np.array([0]), np.array([1]))


def test_record_training_update_fails_when_an_index_is_out_of_range(rt):
    model = register(rt)
    size = initial_weights().flat.size
    with pytest.raises(Versioning.InvalidDelta):
        versioning(rt).record_training_update(model, 1, np.array([size]), np.array([1]))


def test_record_training_update_fails_when_the_values_are_floats(rt):
    model = register(rt)
    with pytest.raises(Versioning.InvalidDelta):
        versioning(rt).record_training_update(model, 1, [0], [0.5])


def test_record_training_update_fails_when_the_indices_are_unsorted(rt):
    model = register(rt)
    with pytest.raises(Versioning.InvalidDelta):
        versioning(rt).record_training_update(model, 1, [3, 1], [1, 1])
    rt.next_block()
    assert versioning(rt).latest(model) == 0


def test_weights_at_works_against_the_models_package(rt):
    model = register(rt)
    weights = train_block(rt, model, initial_weights(), 5)
    rt.next_block()
    indices, values = models.diff(initial_weights(), weights)
    assert versioning(rt).weights_at(model, 1) == models.apply_delta(initial_weights(), indices, values)
    assert versioning(rt).weights_at(model, 0) == initial_weights()


def test_weights_at_fails_when_the_version_is_unknown(rt):
    model = register(rt)
    with pytest.raises(Versioning.UnknownVersion):
        versioning(rt).weights_at(model, 1)



def test_record_training_update_works_undone_with_a_failed_call(rt):
    """An update recorded by a call that then fails is rolled back with that call's storage layer."""
    model = register(rt)
    pallet = versioning(rt)
    kept = train_block(rt, model, initial_weights(), 1, first_id=1)
    overlay = rt.runtime.overlay
    overlay.begin()  # the failing call's layer
    dropped = training_step(kept, 2)
    pallet.record_training_update(model, 2, dropped.indices, dropped.values)
    overlay.rollback()
    rt.next_block()
    assert pallet.latest(model) == 1
    assert pallet.version(model, 1).contributions == (1,)
    assert pallet.weights_at(model, 1) == kept


def test_record_training_update_works_kept_when_an_outer_layer_commits(rt):
    model = register(rt)
    pallet = versioning(rt)
    overlay = rt.runtime.overlay
    overlay.begin()
    overlay.begin()
    step = training_step(initial_weights(), 5)
    pallet.record_training_update(model, 5, step.indices, step.values)
    overlay.commit()
    overlay.commit()
    rt.next_block()
    assert pallet.version(model, 1).contributions == (5,)
