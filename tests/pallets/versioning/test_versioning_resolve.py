"""Versioning.resolve: the version to use (explicit selector, the account's pin, else stable, else latest)."""

from __future__ import annotations

import pytest
from versioning_helpers import V, publish_trained, register, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from runtime.testing import assert_ok


def test_resolve_works_by_default(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    pallet = versioning(rt)
    assert pallet.resolve(model) == 1  # latest without stable
    assert_ok(rt.call("alice", f"{V}.set_channel", model=model, channel="stable", version=0))
    assert pallet.resolve(model) == 0  # stable once set
    assert pallet.resolve(model, rt.account("bob")) == 0


def test_resolve_works_with_a_selector(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("bob", f"{V}.pin", model=model, version=1))
    pallet = versioning(rt)
    assert pallet.resolve(model, rt.account("bob"), 0) == 0
    assert pallet.resolve(model, None, "latest") == 1


def test_resolve_fails_when_the_selector_is_unknown(rt):
    model = register(rt)
    pallet = versioning(rt)
    with pytest.raises(Versioning.UnknownVersion):
        pallet.resolve(model, None, 3)
    with pytest.raises(Versioning.UnknownChannel):
        pallet.resolve(model, None, "beta")
    with pytest.raises(ModelRegistry.UnknownModel):
        pallet.resolve(model + 1)
