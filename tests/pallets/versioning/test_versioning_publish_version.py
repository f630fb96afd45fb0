"""Versioning.publish_version: a Maintainer publishes an artifact it uploaded as the next version."""

from __future__ import annotations

from versioning_helpers import V, encode, initial_weights, publish, register, trained, upload, versioning

from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from pallets.versioning.types import Cause, Metric, VersionRecord
from runtime import types
from runtime.testing import assert_noop, assert_ok


def test_publish_version_works(rt):
    model = register(rt)
    data = encode(trained(3))
    root = upload(rt, "alice", data)
    notes = b"\x07" * 32
    metrics = [Metric(name="accuracy", value=60_000)]
    result = rt.call(
        "alice", f"{V}.publish_version", model=model, artifact=root, tag="v1.0.0", notes_hash=notes,
        metrics=metrics,
    )
    assert_ok(result)
    pallet = versioning(rt)
    record = pallet.version(model, 1)
    assert (record.number, record.parent, record.artifact, record.cause) == (1, 0, root, Cause.UPLOAD)
    assert (record.author, record.notes_hash, record.metrics, record.tag) == (
        rt.account("alice"), notes, (Metric("accuracy", 60_000),), "v1.0.0")
    assert record.full and record.block == rt.block_number
    assert pallet.tags[model, "v1.0.0"] == 1
    assert pallet.latest(model) == 1
    assert pallet.weights_at(model, 1) == trained(3)
    assert rt.last_event() == Versioning.VersionCreated(
        model=model, version=1, parent=0, artifact=root, cause=Cause.UPLOAD, full=True,
        author=rt.account("alice"), tag="v1.0.0", notes_hash=notes, metrics=(Metric("accuracy", 60_000),),
        contributions=(),
    )


def test_publish_version_works_with_the_record_encoding_round_trip(rt):
    model = register(rt)
    assert_ok(publish(rt, "alice", model, upload(rt, "alice", encode(trained(2))), tag="x"))
    record = versioning(rt).version(model, 1)
    assert types.decode(VersionRecord, types.encode(VersionRecord, record)) == record


def test_publish_version_works_referencing_the_artifact(rt):
    model = register(rt)
    root = upload(rt, "alice", encode(trained(2)))
    assert_ok(publish(rt, "alice", model, root))
    reg = rt.pallet(ModelRegistry)
    assert reg.artifacts[root].refs == 1
    assert_noop(rt.call("alice", "ModelRegistry.remove_artifact", root=root), ModelRegistry.ArtifactInUse)


def test_publish_version_fails_when_the_caller_is_not_a_maintainer(rt):
    model = register(rt)
    root = upload(rt, "bob", encode(trained(2)))
    assert_noop(publish(rt, "bob", model, root), Versioning.NotMaintainer)


def test_publish_version_works_for_a_maintainer_named_by_the_access_hook(rt_team):
    from versioning_helpers import add_maintainer

    model = register(rt_team)
    add_maintainer(rt_team, model, "bob")
    root = upload(rt_team, "bob", encode(trained(2)))
    assert_ok(publish(rt_team, "bob", model, root))
    assert versioning(rt_team).version(model, 1).author == rt_team.account("bob")


def test_publish_version_fails_when_the_model_is_retired(rt):
    model = register(rt)
    root = upload(rt, "alice", encode(trained(2)))
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_noop(publish(rt, "alice", model, root), ModelRegistry.Retired)


def test_publish_version_fails_when_the_model_is_unknown(rt):
    root = upload(rt, "alice", encode(trained(2)))
    assert_noop(publish(rt, "alice", 9, root), ModelRegistry.UnknownModel)


def test_publish_version_fails_when_the_artifact_is_unknown(rt):
    model = register(rt)
    assert_noop(publish(rt, "alice", model, art.artifact_root(b"nothing")), ModelRegistry.UnknownArtifact)


def test_publish_version_fails_when_the_caller_holds_no_claim_on_the_artifact(rt):
    model = register(rt)
    root = upload(rt, "bob", encode(trained(2)))
    assert_noop(publish(rt, "alice", model, root), ModelRegistry.NotClaimant)


def test_publish_version_fails_when_the_weights_do_not_fit_the_model(rt):
    model = register(rt)
    root = upload(rt, "alice", b"not weights at all")
    assert_noop(publish(rt, "alice", model, root), Versioning.InvalidWeights)


def test_publish_version_fails_when_the_tag_is_taken(rt):
    model = register(rt)
    assert_ok(publish(rt, "alice", model, upload(rt, "alice", encode(trained(2))), tag="v1"))
    root = upload(rt, "alice", encode(trained(3)))
    assert_noop(publish(rt, "alice", model, root, tag="v1"), Versioning.TagInUse)


def test_publish_version_works_republishing_the_initial_weights(rt):
    model = register(rt)
    root = versioning(rt).version(model, 0).artifact
    assert root == art.artifact_root(encode(initial_weights()))
    assert_ok(publish(rt, "alice", model, root))
    assert versioning(rt).version(model, 1).artifact == root


def test_publish_version_works_as_a_signed_extrinsic(rt):
    model = register(rt)
    root = upload(rt, "alice", encode(trained(2)))
    metrics = [Metric(name="f1", value=-3)]
    applied = rt.submit(
        "alice", f"{V}.publish_version", model=model, artifact=root, tag="rc", notes_hash=None,
        metrics=metrics,
    )
    assert_ok(applied)
    assert versioning(rt).version(model, 1).metrics == (Metric("f1", -3),)
    rt.next_block()
    assert versioning(rt).latest(model) == 1
