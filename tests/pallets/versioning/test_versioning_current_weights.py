"""Versioning.current_weights (the latest version plus this block's training updates) and the in-place
running weights behind record_training_update: a rolled-back call's update is undone, `trusted` skips
only the kind's bounds check, never the delta's structure."""

from __future__ import annotations

import numpy as np
import pytest
from versioning_helpers import initial_weights, publish_trained, register, trained, training_step, versioning

from pallets.versioning import Versioning


def test_current_weights_works_before_any_update(rt):
    model = register(rt)
    assert versioning(rt).current_weights(model) == initial_weights()
    version = publish_trained(rt, model, 2)
    assert versioning(rt).current_weights(model) == versioning(rt).weights_at(model, version)


def test_current_weights_works_with_this_blocks_updates(rt):
    model = register(rt)
    pallet = versioning(rt)
    first = training_step(pallet.current_weights(model), 0)
    pallet.record_training_update(model, 1, first.indices, first.values, trusted=True)
    assert pallet.current_weights(model) == first.weights
    second = training_step(pallet.current_weights(model), 1)
    pallet.record_training_update(model, 2, second.indices, second.values)
    assert pallet.current_weights(model) == trained(2)
    assert pallet.latest(model) == 0
    rt.next_block()
    assert pallet.latest(model) == 1 and pallet.weights_at(model, 1) == trained(2)
    assert pallet.current_weights(model) == trained(2)


def test_record_training_update_is_undone_when_its_layer_rolls_back(rt):
    model = register(rt)
    pallet = versioning(rt)
    overlay = rt.runtime.overlay
    first = training_step(pallet.current_weights(model), 0)
    overlay.begin()
    pallet.record_training_update(model, 1, first.indices, first.values, trusted=True)
    overlay.commit()
    kept = pallet.current_weights(model).flat.copy()
    second = training_step(pallet.current_weights(model), 1)
    overlay.begin()
    pallet.record_training_update(model, 2, second.indices, second.values, trusted=True)
    assert not np.array_equal(pallet.current_weights(model).flat, kept)
    overlay.rollback()
    assert np.array_equal(pallet.current_weights(model).flat, kept)
    assert pallet.pending[model].contributions == [1]
    rt.next_block()
    assert pallet.version(model, 1).contributions == (1,)


def test_record_training_update_leaves_no_pending_model_when_its_only_update_rolls_back(rt):
    model = register(rt)
    pallet = versioning(rt)
    step = training_step(pallet.current_weights(model), 0)
    rt.runtime.overlay.begin()
    pallet.record_training_update(model, 1, step.indices, step.values, trusted=True)
    rt.runtime.overlay.rollback()
    assert model not in pallet.pending and pallet.current_weights(model) == initial_weights()
    rt.next_block()
    assert pallet.latest(model) == 0


def test_record_training_update_fails_when_a_trusted_delta_is_malformed(rt):
    model = register(rt)
    with pytest.raises(Versioning.InvalidDelta):
        versioning(rt).record_training_update(model, 1, [5, 3], [1, 2], trusted=True)  # not increasing


def test_record_training_update_fails_when_an_untrusted_delta_breaks_the_bounds(rt):
    model = register(rt)
    bound = initial_weights().param("weight_bound")
    with pytest.raises(Versioning.InvalidDelta):
        versioning(rt).record_training_update(model, 1, [0], [bound + 1])
    assert model not in versioning(rt).pending
