"""Versioning.set_channel: Maintainers move named channels; latest moves by itself."""

from __future__ import annotations

from versioning_helpers import V, publish_trained, register, versioning

from pallets.versioning import Versioning
from runtime.testing import assert_noop, assert_ok


def set_channel(rt, who, model, channel, version):
    return rt.call(who, f"{V}.set_channel", model=model, channel=channel, version=version)


def test_set_channel_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(set_channel(rt, "alice", model, "stable", 1))
    assert_ok(set_channel(rt, "alice", model, "beta", 0))
    pallet = versioning(rt)
    assert pallet.channel_version(model, "stable") == 1
    assert pallet.channel_version(model, "beta") == 0
    assert rt.last_event() == Versioning.ChannelMoved(model=model, channel="beta", version=0)


def test_set_channel_works_while_latest_moves_by_itself(rt):
    model = register(rt)
    pallet = versioning(rt)
    assert pallet.channel_version(model, "latest") == 0
    publish_trained(rt, model, 2)
    assert pallet.channel_version(model, "latest") == 1
    publish_trained(rt, model, 3)
    assert pallet.channel_version(model, "latest") == 2


def test_set_channel_fails_when_the_channel_is_latest(rt):
    model = register(rt)
    assert_noop(set_channel(rt, "alice", model, "latest", 0), Versioning.ReservedChannel)


def test_set_channel_fails_when_stable_needs_a_quorum(rt):
    model = register(rt)
    assert_ok(rt.call("alice", f"{V}.set_quorum", model=model, threshold=2))
    assert_noop(set_channel(rt, "alice", model, "stable", 0), Versioning.QuorumRequired)
    assert_ok(set_channel(rt, "alice", model, "beta", 0))


def test_set_channel_fails_when_the_version_is_deprecated(rt):
    model = register(rt)
    assert_ok(rt.call("alice", f"{V}.deprecate", model=model, version=0))
    assert_noop(set_channel(rt, "alice", model, "stable", 0), Versioning.DeprecatedVersion)


def test_set_channel_fails_when_the_version_is_unknown(rt):
    model = register(rt)
    assert_noop(set_channel(rt, "alice", model, "stable", 5), Versioning.UnknownVersion)


def test_set_channel_fails_when_the_caller_is_not_a_maintainer(rt):
    model = register(rt)
    assert_noop(set_channel(rt, "bob", model, "stable", 0), Versioning.NotMaintainer)
