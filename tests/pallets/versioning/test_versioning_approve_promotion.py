"""Versioning.approve_promotion: Maintainers approve moving stable one by one; at the quorum it moves."""

from __future__ import annotations

from versioning_helpers import V, add_maintainer, publish_trained, register, versioning

from pallets.versioning import Versioning
from runtime.testing import assert_noop, assert_ok


def approve(rt, who, model, version):
    return rt.call(who, f"{V}.approve_promotion", model=model, version=version)


def team_model(rt):
    model = register(rt)
    for name in ("bob", "charlie"):
        add_maintainer(rt, model, name)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.set_quorum", model=model, threshold=3))
    return model


def test_approve_promotion_works(rt_team):
    model = team_model(rt_team)
    pallet = versioning(rt_team)
    assert_ok(approve(rt_team, "bob", model, 1))
    assert_ok(approve(rt_team, "charlie", model, 1))
    assert pallet.channels.get(model, "stable") is None
    assert_ok(approve(rt_team, "alice", model, 1))
    assert pallet.channel_version(model, "stable") == 1
    assert list(pallet.approvals.iter_prefix(model)) == []
    events = rt_team.events()[-2:]
    assert events == [
        Versioning.PromotionApproved(model=model, version=1, approver=rt_team.account("alice"), approvals=3),
        Versioning.ChannelMoved(model=model, channel="stable", version=1),
    ]
    assert pallet.resolve(model, None) == 1  # stable is the default


def test_approve_promotion_works_without_a_quorum(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(approve(rt, "alice", model, 0))
    assert versioning(rt).channel_version(model, "stable") == 0


def test_approve_promotion_fails_when_already_approved(rt_team):
    model = team_model(rt_team)
    assert_ok(approve(rt_team, "bob", model, 1))
    assert_noop(approve(rt_team, "bob", model, 1), Versioning.AlreadyApproved)


def test_approve_promotion_fails_when_the_caller_is_not_a_maintainer(rt_team):
    model = team_model(rt_team)
    assert_noop(approve(rt_team, "dave", model, 1), Versioning.NotMaintainer)


def test_approve_promotion_fails_when_the_version_is_deprecated(rt_team):
    model = team_model(rt_team)
    assert_ok(rt_team.call("alice", f"{V}.deprecate", model=model, version=1))
    assert_noop(approve(rt_team, "bob", model, 1), Versioning.DeprecatedVersion)


def test_approve_promotion_fails_when_the_version_is_unknown(rt_team):
    model = team_model(rt_team)
    assert_noop(approve(rt_team, "bob", model, 9), Versioning.UnknownVersion)


def test_approve_promotion_counts_no_approval_of_a_maintainer_who_lost_the_role(runtime_with):
    from pallets.access.types import Role

    rt = runtime_with("ModelRegistry", "Access", "Versioning")
    model = register(rt)
    for name in ("charlie", "dave"):
        grant = {"model": model, "who": rt.account(name), "role": Role.MAINTAINER, "expires_at": None}
        assert_ok(rt.call("alice", "Access.grant", **grant))
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.set_quorum", model=model, threshold=2))
    assert_ok(approve(rt, "charlie", model, 1))
    assert_ok(rt.call("alice", "Access.revoke", model=model, who=rt.account("charlie")))
    result = approve(rt, "dave", model, 1)
    assert_ok(result)
    pallet = versioning(rt)
    assert pallet.channels.get(model, "stable") is None  # charlie's approval no longer counts
    assert rt.last_event() == Versioning.PromotionApproved(
        model=model, version=1, approver=rt.account("dave"), approvals=1
    )
