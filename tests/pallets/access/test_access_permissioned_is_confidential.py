"""A permissioned model's weights are always confidential: no call attaches plaintext weights to it
(Versioning.publish_version and rollback, ModelRegistry.set_artifact), each refusing with a named error,
while encrypted versions (Access.publish_confidential) still go through."""

from __future__ import annotations

import pytest
from access_helpers import (
    MAINTAINER,
    OPEN,
    PERMISSIONED,
    PUBLIC,
    access,
    grant_ok,
    permissioned_model,
    publish,
    register_model,
    set_policy,
    upload,
    upload_sealed,
)

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from runtime.testing import MockRuntime, assert_noop, assert_ok


@pytest.fixture
def rt(runtime_with) -> MockRuntime:
    """The dev chain's model pallets, with Versioning (its versions are plaintext weights)."""
    return runtime_with("ModelRegistry", "Versioning", "Access")


def plaintext_weights(rt, model: int) -> bytes:
    """Valid plaintext weights for the model, other than its initial ones (trained on two rows)."""
    import numpy as np

    from cmu import models

    info = rt.runtime.pallet(ModelRegistry).model(model)
    kind = models.get_kind(info.kind)
    s = info.input_spec
    spec = models.InputSpec(s.n_features, s.sparse, s.min_value, s.max_value, s.max_nonzeros)
    weights = kind.init_weights(spec, len(info.labels))
    rows = kind.quantize(np.array([[1.0, 2.0, 0.5, 0.0], [-1.0, -2.0, 0.0, 0.5]]), spec)
    return bytes(kind.encode(kind.train(weights, rows, np.array([1, 2]))))


def test_publish_version_fails_when_the_model_is_permissioned(rt):
    model = permissioned_model(rt)
    grant_ok(rt, "alice", model, "charlie", MAINTAINER)
    root = upload(rt, "charlie", plaintext_weights(rt, model))
    result = rt.call("charlie", "Versioning.publish_version", model=model, artifact=root, tag=None,
                     notes_hash=None, metrics=[])
    assert_noop(result, Versioning.ConfidentialModel)
    assert "published encrypted" in str(result.error)


def test_publish_version_works_again_once_the_model_is_public(rt):
    model = permissioned_model(rt)
    set_policy(rt, "alice", model, PUBLIC, OPEN)
    root = upload(rt, "alice", plaintext_weights(rt, model))
    assert_ok(rt.call("alice", "Versioning.publish_version", model=model, artifact=root, tag=None,
                      notes_hash=None, metrics=[]))


def test_rollback_fails_when_the_model_is_permissioned(rt):
    model = register_model(rt)
    root = upload(rt, "alice", plaintext_weights(rt, model))
    assert_ok(rt.call("alice", "Versioning.publish_version", model=model, artifact=root, tag=None,
                      notes_hash=None, metrics=[]))
    set_policy(rt, "alice", model, PERMISSIONED, OPEN)
    result = rt.call("alice", "Versioning.rollback", model=model, version=0, notes_hash=None)
    assert_noop(result, Versioning.ConfidentialModel)


def test_set_artifact_fails_when_the_model_is_permissioned(rt):
    model = permissioned_model(rt)
    root = upload(rt, "alice", plaintext_weights(rt, model))
    assert_noop(rt.call("alice", "ModelRegistry.set_artifact", model=model, artifact=root),
                ModelRegistry.ConfidentialModel)


def test_publish_confidential_works_on_a_permissioned_model(rt):
    model = permissioned_model(rt)
    root = upload_sealed(rt, "alice", b"\x09" * 32, b"new secret weights")
    assert_ok(publish(rt, "alice", model, root))
    assert access(rt).confidential[model].artifact == root
