"""Versioning.set_quorum: the owner sets how many Maintainers must approve moving stable."""

from __future__ import annotations

from versioning_helpers import V, add_maintainer, register, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from runtime.testing import assert_noop, assert_ok


def test_set_quorum_works(rt):
    model = register(rt)
    assert_ok(rt.call("alice", f"{V}.set_quorum", model=model, threshold=3))
    assert versioning(rt).quorum[model] == 3
    assert rt.last_event() == Versioning.QuorumSet(model=model, threshold=3)


def test_set_quorum_works_dropping_pending_approvals(rt_team):
    model = register(rt_team)
    add_maintainer(rt_team, model, "bob")
    assert_ok(rt_team.call("alice", f"{V}.set_quorum", model=model, threshold=2))
    assert_ok(rt_team.call("bob", f"{V}.approve_promotion", model=model, version=0))
    assert_ok(rt_team.call("alice", f"{V}.set_quorum", model=model, threshold=3))
    assert list(versioning(rt_team).approvals.iter_prefix(model)) == []


def test_set_quorum_fails_when_the_caller_is_not_the_owner(rt_team):
    model = register(rt_team)
    add_maintainer(rt_team, model, "bob")  # a Maintainer, but not the owner
    assert_noop(rt_team.call("bob", f"{V}.set_quorum", model=model, threshold=1), Versioning.NotOwner)


def test_set_quorum_fails_when_the_threshold_is_too_high(rt):
    model = register(rt)
    result = rt.call("alice", f"{V}.set_quorum", model=model, threshold=Versioning.MAX_QUORUM + 1)
    assert_noop(result, Versioning.BadThreshold)


def test_set_quorum_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("alice", f"{V}.set_quorum", model=2, threshold=1), ModelRegistry.UnknownModel)
