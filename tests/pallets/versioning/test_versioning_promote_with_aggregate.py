"""Versioning.promote_with_aggregate: one BLS aggregate signature of a quorum of Maintainers over
(model, version, artifact root) moves stable."""

from __future__ import annotations

from versioning_helpers import V, add_maintainer, bls_key, publish_trained, register, versioning

from pallets.versioning import Versioning
from pallets.versioning.quorum import promotion_message
from runtime import bls
from runtime.testing import assert_noop, assert_ok

TEAM = ("alice", "bob", "charlie")


def team_model(rt, threshold=3):
    model = register(rt)
    for name in TEAM[1:]:
        add_maintainer(rt, model, name)
    for name in TEAM:
        _, pk, pop = bls_key(name)
        assert_ok(rt.call(name, f"{V}.register_bls_key", public_key=pk, pop=pop))
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.set_quorum", model=model, threshold=threshold))
    return model


def aggregate(names, message):
    return bls.aggregate([bls.sign(bls_key(name)[0], message) for name in names])


def message_for(rt, model, version):
    return promotion_message(model, version, versioning(rt).version(model, version).artifact)


def promote(rt, model, version, names, signature, who="dave"):
    signers = [rt.account(name) for name in names]
    return rt.call(
        who, f"{V}.promote_with_aggregate", model=model, version=version, signers=signers, signature=signature
    )


def test_promote_with_aggregate_works(rt_team):
    model = team_model(rt_team)
    assert_ok(promote(rt_team, model, 1, TEAM, aggregate(TEAM, message_for(rt_team, model, 1))))
    assert versioning(rt_team).channel_version(model, "stable") == 1
    assert rt_team.last_event() == Versioning.ChannelMoved(model=model, channel="stable", version=1)


def test_promote_with_aggregate_works_with_pending_approvals(rt_team):
    model = team_model(rt_team)
    assert_ok(rt_team.call("charlie", f"{V}.approve_promotion", model=model, version=1))
    names = ("alice", "bob")
    assert_ok(promote(rt_team, model, 1, names, aggregate(names, message_for(rt_team, model, 1))))
    assert versioning(rt_team).channel_version(model, "stable") == 1


def test_promote_with_aggregate_fails_when_a_signer_is_missing(rt_team):
    model = team_model(rt_team)
    names = ("alice", "bob")
    result = promote(rt_team, model, 1, names, aggregate(names, message_for(rt_team, model, 1)))
    assert_noop(result, Versioning.QuorumNotMet)


def test_promote_with_aggregate_fails_when_a_listed_signer_did_not_sign(rt_team):
    model = team_model(rt_team)
    signature = aggregate(("alice", "bob"), message_for(rt_team, model, 1))
    assert_noop(promote(rt_team, model, 1, TEAM, signature), Versioning.BadAggregateSignature)


def test_promote_with_aggregate_fails_when_the_message_is_wrong(rt_team):
    model = team_model(rt_team)
    signature = aggregate(TEAM, message_for(rt_team, model, 0))  # signed for another version
    assert_noop(promote(rt_team, model, 1, TEAM, signature), Versioning.BadAggregateSignature)


def test_promote_with_aggregate_fails_when_a_key_was_refused_without_pop(rt_team):
    model = team_model(rt_team, threshold=4)
    add_maintainer(rt_team, model, "eve")
    sk, pk, _ = bls_key("eve")
    refused = rt_team.call("eve", f"{V}.register_bls_key", public_key=pk, pop=bls.sign(sk, pk))
    assert_noop(refused, Versioning.InvalidProofOfPossession)
    names = (*TEAM, "eve")
    result = promote(rt_team, model, 1, names, aggregate(names, message_for(rt_team, model, 1)))
    assert_noop(result, Versioning.NoBlsKey)


def test_promote_with_aggregate_fails_when_a_signer_is_not_a_maintainer(rt_team):
    model = team_model(rt_team)
    _, pk, pop = bls_key("dave")
    assert_ok(rt_team.call("dave", f"{V}.register_bls_key", public_key=pk, pop=pop))
    names = ("alice", "bob", "dave")
    result = promote(rt_team, model, 1, names, aggregate(names, message_for(rt_team, model, 1)))
    assert_noop(result, Versioning.NotMaintainer)


def test_promote_with_aggregate_fails_when_a_signer_is_listed_twice(rt_team):
    model = team_model(rt_team)
    names = ("alice", "bob", "bob")
    result = promote(rt_team, model, 1, names, aggregate(names, message_for(rt_team, model, 1)))
    assert_noop(result, Versioning.DuplicateSigner)


def test_promote_with_aggregate_fails_when_there_are_no_signers(rt_team):
    model = team_model(rt_team)
    signature = aggregate(("alice",), message_for(rt_team, model, 1))
    assert_noop(promote(rt_team, model, 1, (), signature), Versioning.NoSigners)


def test_promote_with_aggregate_fails_when_the_version_is_deprecated(rt_team):
    model = team_model(rt_team)
    assert_ok(rt_team.call("alice", f"{V}.deprecate", model=model, version=1))
    result = promote(rt_team, model, 1, TEAM, aggregate(TEAM, message_for(rt_team, model, 1)))
    assert_noop(result, Versioning.DeprecatedVersion)


def test_promote_with_aggregate_charges_the_py_ecc_weight(rt_team):
    model = team_model(rt_team)
    signers = [rt_team.account(name) for name in TEAM]
    call = rt_team.runtime.make_call(
        f"{V}.promote_with_aggregate", model=model, version=1, signers=signers, signature=b"\0" * 96
    )
    assert call.weight() >= 500_000_000


def test_promote_with_aggregate_works_as_a_signed_extrinsic(rt_team):
    model = team_model(rt_team)
    signers = [rt_team.account(name) for name in TEAM]
    signature = aggregate(TEAM, message_for(rt_team, model, 1))
    applied = rt_team.submit(
        "dave", f"{V}.promote_with_aggregate", model=model, version=1, signers=signers, signature=signature
    )
    assert_ok(applied)
    assert versioning(rt_team).channel_version(model, "stable") == 1
