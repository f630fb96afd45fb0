"""Versioning.pin: an account pins a version; the pin survives new versions."""

from __future__ import annotations

from versioning_helpers import V, publish_trained, register, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from pallets.versioning.types import Pin
from runtime.testing import assert_noop, assert_ok


def test_pin_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("bob", f"{V}.pin", model=model, version=1))
    bob = rt.account("bob")
    assert rt.last_event() == Versioning.Pinned(model=model, who=bob, pin=Pin(version=1, channel=None))
    publish_trained(rt, model, 3)
    rt.next_block()
    publish_trained(rt, model, 4)
    pallet = versioning(rt)
    assert pallet.latest(model) == 3
    assert pallet.resolve(model, bob) == 1  # the pin survives new versions
    assert pallet.resolve(model, rt.account("charlie")) == 3  # no pin: latest


def test_pin_fails_when_the_version_is_deprecated(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.deprecate", model=model, version=1))
    result = rt.call("bob", f"{V}.pin", model=model, version=1)
    assert_noop(result, Versioning.DeprecatedVersion)
    assert "deprecated" in str(result.error)


def test_pin_fails_when_the_version_is_unknown(rt):
    model = register(rt)
    assert_noop(rt.call("bob", f"{V}.pin", model=model, version=1), Versioning.UnknownVersion)


def test_pin_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("bob", f"{V}.pin", model=7, version=0), ModelRegistry.UnknownModel)
