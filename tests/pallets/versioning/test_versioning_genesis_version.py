"""Version 0: created lazily from the registry's current artifact by the first write that needs versions
(ensure_genesis_version); before that, reads see it as an implicit version 0."""

from __future__ import annotations

from versioning_helpers import V, initial_weights, publish_trained, register, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning.types import Cause
from runtime.testing import assert_ok


def test_genesis_version_works_implicitly(rt):
    model = register(rt)
    pallet = versioning(rt)
    assert model not in pallet.version_count
    record = pallet.version(model, 0)
    reg = rt.pallet(ModelRegistry)
    info = reg.models[model]
    assert (record.artifact, record.author) == (info.artifact, info.owner)
    assert (record.cause, record.parent, record.block) == (Cause.UPLOAD, None, info.created_at)
    assert pallet.weights_at(model, 0) == initial_weights()
    assert pallet.resolve(model) == 0


def test_genesis_version_works_when_first_written(rt):
    model = register(rt)
    pallet = versioning(rt)
    implicit = pallet.version(model, 0)
    reg = rt.pallet(ModelRegistry)
    refs = reg.artifacts[implicit.artifact].refs
    publish_trained(rt, model, 2)
    assert pallet.version_count[model] == 2
    assert pallet.versions[model, 0] == implicit
    assert reg.artifacts[implicit.artifact].refs == refs + 1


def test_genesis_version_works_once(rt):
    model = register(rt)
    pallet = versioning(rt)
    pallet.ensure_genesis_version(model)
    pallet.ensure_genesis_version(model)
    assert pallet.version_count[model] == 1
    assert_ok(rt.call("bob", f"{V}.pin", model=model, version=0))
    assert pallet.version_count[model] == 1
