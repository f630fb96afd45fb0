"""Versioning.follow: an account follows a channel and moves with it."""

from __future__ import annotations

from versioning_helpers import V, publish_trained, register, versioning

from pallets.versioning import Versioning
from pallets.versioning.types import Pin
from runtime.testing import assert_noop, assert_ok


def test_follow_works(rt):
    model = register(rt)
    bob = rt.account("bob")
    assert_ok(rt.call("bob", f"{V}.follow", model=model, channel="latest"))
    assert rt.last_event() == Versioning.Pinned(model=model, who=bob, pin=Pin(version=None, channel="latest"))
    pallet = versioning(rt)
    assert pallet.resolve(model, bob) == 0
    publish_trained(rt, model, 2)
    assert pallet.resolve(model, bob) == 1  # the follower moved


def test_follow_works_for_a_named_channel(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.set_channel", model=model, channel="stable", version=0))
    assert_ok(rt.call("dave", f"{V}.follow", model=model, channel="stable"))
    dave = rt.account("dave")
    pallet = versioning(rt)
    assert pallet.resolve(model, dave) == 0
    assert_ok(rt.call("alice", f"{V}.set_channel", model=model, channel="stable", version=1))
    assert pallet.resolve(model, dave) == 1


def test_follow_fails_when_the_channel_is_unknown(rt):
    model = register(rt)
    assert_noop(rt.call("bob", f"{V}.follow", model=model, channel="stable"), Versioning.UnknownChannel)
