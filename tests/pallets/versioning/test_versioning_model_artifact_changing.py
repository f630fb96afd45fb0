"""The model_artifact_changing hook: ModelRegistry.set_artifact makes the artifact the next version."""

from __future__ import annotations

from versioning_helpers import encode, initial_weights, register, trained, upload, versioning

from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from pallets.versioning.types import Cause
from runtime.testing import assert_noop, assert_ok


def test_model_artifact_changing_works(rt):
    model = register(rt)
    root = upload(rt, "alice", encode(trained(3)))
    result = rt.call("alice", "ModelRegistry.set_artifact", model=model, artifact=root)
    assert_ok(result)
    pallet = versioning(rt)
    assert pallet.latest(model) == 1
    first, second = pallet.version(model, 0), pallet.version(model, 1)
    assert first.artifact == art.artifact_root(encode(initial_weights()))  # the artifact before the change
    assert (second.parent, second.artifact, second.cause, second.author) == (
        0, root, Cause.UPLOAD, rt.account("alice"))
    assert pallet.weights_at(model, 1) == trained(3)
    names = [type(e).__name__ for e in result.events]
    assert names == ["VersionCreated", "ArtifactSet"]


def test_model_artifact_changing_works_keeping_the_old_artifact_in_use(rt):
    model = register(rt)
    initial = versioning(rt).version(model, 0).artifact
    assert_ok(rt.call("alice", "ModelRegistry.set_artifact", model=model, artifact=upload(rt, "alice",
                                                                                          encode(trained(2)))))
    assert_noop(rt.call("alice", "ModelRegistry.remove_artifact", root=initial), ModelRegistry.ArtifactInUse)


def test_model_artifact_changing_fails_when_the_registry_refuses_the_artifact(rt):
    model = register(rt)
    root = upload(rt, "alice", b"not weights")
    assert_noop(rt.call("alice", "ModelRegistry.set_artifact", model=model, artifact=root),
                ModelRegistry.InvalidWeights)
    assert model not in versioning(rt).version_count


def test_record_extrinsic_index_works_for_a_signed_extrinsic(rt):
    model = register(rt)
    root = upload(rt, "alice", encode(trained(2)))
    rt.submit("bob", "Balances.transfer", dest=rt.account("charlie"), value=1)
    applied = rt.submit("alice", f"{Versioning.name}.publish_version", model=model, artifact=root, tag=None,
                        notes_hash=None, metrics=[])
    assert_ok(applied)
    assert versioning(rt).version(model, 1).extrinsic == 2  # after the timestamp inherent and the transfer
    assert versioning(rt).version(model, 0).extrinsic is None
