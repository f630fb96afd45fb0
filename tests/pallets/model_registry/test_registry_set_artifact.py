"""ModelRegistry.set_artifact: the owner points a live model at another stored artifact whose weights fit
the model's kind, input spec and labels; the artifacts' user counts follow."""

from __future__ import annotations

import pytest
from registry_helpers import (
    REG,
    SCALE,
    initial_bytes,
    random_bytes,
    register_ok,
    registry,
    stored_bytes,
    trained_bytes,
    upload,
)

from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from runtime.testing import assert_noop, assert_ok


def test_set_artifact_works(rt):
    model = register_ok(rt, "alice", kind="naive_bayes")
    reg = registry(rt)
    old = reg.models[model].artifact
    data = trained_bytes("naive_bayes")
    root = upload(rt, "alice", data)
    assert_ok(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root))
    assert reg.models[model].artifact == root
    assert stored_bytes(rt, root) == data
    assert reg.artifacts[root].refs == 1
    assert reg.artifacts[old].refs == 0
    assert rt.last_event() == ModelRegistry.ArtifactSet(model=model, artifact=root)


def test_set_artifact_fails_when_someone_else_uploaded_the_artifact(rt):
    model = register_ok(rt, "alice", kind="sparse_perceptron")
    root = upload(rt, "bob", trained_bytes("sparse_perceptron"))
    # bob's deposit pays for that artifact: alice must hold a claim of her own to use it
    assert_noop(
        rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root), ModelRegistry.NotClaimant
    )


def test_set_artifact_works_setting_the_current_artifact_again(rt):
    model = register_ok(rt, "alice")
    reg = registry(rt)
    root = reg.models[model].artifact
    assert_ok(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root))
    assert reg.artifacts[root].refs == 1
    assert rt.last_event() == ModelRegistry.ArtifactSet(model=model, artifact=root)


def test_set_artifact_fails_when_the_model_is_unknown(rt):
    root = upload(rt, "alice", trained_bytes("dense_perceptron"))
    assert_noop(rt.call("alice", f"{REG}.set_artifact", model=4, artifact=root), ModelRegistry.UnknownModel)


def test_set_artifact_fails_when_the_caller_is_not_the_owner(rt):
    model = register_ok(rt, "alice")
    root = upload(rt, "bob", trained_bytes("dense_perceptron"))
    assert_noop(rt.call("bob", f"{REG}.set_artifact", model=model, artifact=root), ModelRegistry.NotOwner)


def test_set_artifact_fails_when_the_model_is_retired(rt):
    model = register_ok(rt, "alice")
    root = upload(rt, "alice", trained_bytes("dense_perceptron"))
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    assert_noop(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root), ModelRegistry.Retired)


def test_set_artifact_fails_when_the_artifact_is_unknown(rt):
    model = register_ok(rt, "alice")
    missing = art.artifact_root(trained_bytes("dense_perceptron"))
    result = rt.call("alice", f"{REG}.set_artifact", model=model, artifact=missing)
    assert_noop(result, ModelRegistry.UnknownArtifact)


@pytest.mark.parametrize(
    "data",
    [
        initial_bytes("nearest_centroid"),
        initial_bytes("dense_perceptron", labels=("yes", "no")),
        initial_bytes("dense_perceptron", spec=InputSpec(4, False, -4 * SCALE, 4 * SCALE)),
        random_bytes(500, seed=3),
    ],
    ids=["kind", "labels", "spec", "garbage"],
)
def test_set_artifact_fails_when_the_weights_do_not_fit_the_model(rt, data):
    model = register_ok(rt, "alice")
    root = upload(rt, "alice", data)
    result = rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root)
    assert_noop(result, ModelRegistry.InvalidWeights)
