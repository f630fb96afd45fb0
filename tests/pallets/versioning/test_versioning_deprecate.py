"""Versioning.deprecate: a deprecated version stays in history and in existing pins, refuses new pins."""

from __future__ import annotations

from versioning_helpers import V, publish_trained, register, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from runtime.testing import assert_noop, assert_ok


def test_deprecate_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("bob", f"{V}.pin", model=model, version=0))
    assert_ok(rt.call("alice", f"{V}.deprecate", model=model, version=0))
    pallet = versioning(rt)
    assert (model, 0) in pallet.deprecated
    assert pallet.version(model, 0).number == 0  # kept in history
    assert pallet.resolve(model, rt.account("bob")) == 0  # an existing pin survives
    assert rt.last_event() == Versioning.VersionDeprecated(model=model, version=0)


def test_deprecate_fails_when_already_deprecated(rt):
    model = register(rt)
    assert_ok(rt.call("alice", f"{V}.deprecate", model=model, version=0))
    assert_noop(rt.call("alice", f"{V}.deprecate", model=model, version=0), Versioning.AlreadyDeprecated)


def test_deprecate_fails_when_the_version_is_unknown(rt):
    model = register(rt)
    assert_noop(rt.call("alice", f"{V}.deprecate", model=model, version=1), Versioning.UnknownVersion)


def test_deprecate_fails_when_the_caller_is_not_a_maintainer(rt):
    model = register(rt)
    assert_noop(rt.call("bob", f"{V}.deprecate", model=model, version=0), Versioning.NotMaintainer)


def test_deprecate_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("alice", f"{V}.deprecate", model=3, version=0), ModelRegistry.UnknownModel)
