"""Access.record_good_contribution: the typed API training calls for each good (refunded) contribution."""

from __future__ import annotations

import pytest
from access_helpers import access, register_model

from pallets.access import Access
from pallets.model_registry import ModelRegistry


def test_record_good_contribution_works(rt):
    model = register_model(rt)
    pallet, bob, eve = access(rt), rt.account("bob"), rt.account("eve")
    assert pallet.record_good_contribution(model, bob)
    assert pallet.record_good_contribution(model, bob)
    assert pallet.record_good_contribution(model, eve)
    assert pallet.good_counts[model, bob] == 2
    assert pallet.good_counts[model, eve] == 1
    assert pallet.contributors[model] == 2
    assert rt.last_event() == Access.GoodContributionRecorded(model=model, contributor=eve, count=1)


def test_record_good_contribution_works_per_model(rt):
    first, second = register_model(rt), register_model(rt)
    pallet, bob = access(rt), rt.account("bob")
    pallet.record_good_contribution(first, bob)
    assert pallet.good_counts.get(second, bob) is None
    assert pallet.contributors[second] == 0


def test_record_good_contribution_fails_when_the_model_has_max_contributors(rt):
    model = register_model(rt)
    pallet = access(rt)
    pallet.MAX_CONTRIBUTORS = 2  # type: ignore[misc]
    assert pallet.record_good_contribution(model, rt.account("bob"))
    assert pallet.record_good_contribution(model, rt.account("eve"))
    root = rt.state_root()
    assert not pallet.record_good_contribution(model, rt.account("dave"))
    assert rt.state_root() == root
    assert pallet.record_good_contribution(model, rt.account("bob"))  # known contributors still count
    assert pallet.good_counts[model, rt.account("bob")] == 2


def test_record_good_contribution_fails_when_the_model_is_unknown(rt):
    with pytest.raises(ModelRegistry.UnknownModel):
        access(rt).record_good_contribution(4, rt.account("bob"))
