"""Versioning.unpin: an account drops its pin and resolves to the default again."""

from __future__ import annotations

from versioning_helpers import V, publish_trained, register, versioning

from pallets.versioning import Versioning
from runtime.testing import assert_noop, assert_ok


def test_unpin_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("bob", f"{V}.pin", model=model, version=0))
    assert_ok(rt.call("bob", f"{V}.unpin", model=model))
    bob = rt.account("bob")
    assert versioning(rt).resolve(model, bob) == 1
    assert rt.last_event() == Versioning.Unpinned(model=model, who=bob)


def test_unpin_fails_when_not_pinned(rt):
    model = register(rt)
    assert_noop(rt.call("bob", f"{V}.unpin", model=model), Versioning.NotPinned)
