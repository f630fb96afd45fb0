"""ModelRegistry.set_metadata: the owner changes name, description, task and license (nothing else)."""

from __future__ import annotations

import pytest
from registry_helpers import REG, register_ok, registry

from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import ModelMetadata
from runtime.errors import BadArguments
from runtime.testing import assert_noop, assert_ok

NEW = {"name": "iris-v2", "description": "retuned", "task": "species", "license": "Apache-2.0"}


def test_set_metadata_works(rt):
    model = register_ok(rt, "alice")
    before = registry(rt).models[model]
    assert_ok(rt.call("alice", f"{REG}.set_metadata", model=model, **NEW))
    after = registry(rt).models[model]
    assert after.metadata == ModelMetadata(**NEW)
    assert (after.owner, after.kind, after.input_spec, after.labels, after.artifact) == (
        before.owner,
        before.kind,
        before.input_spec,
        before.labels,
        before.artifact,
    )
    assert rt.last_event() == ModelRegistry.MetadataSet(model=model)


def test_set_metadata_works_on_a_retired_model(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    assert_ok(rt.call("alice", f"{REG}.set_metadata", model=model, **NEW))
    assert registry(rt).models[model].metadata.name == "iris-v2"


def test_set_metadata_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("alice", f"{REG}.set_metadata", model=9, **NEW), ModelRegistry.UnknownModel)


def test_set_metadata_fails_when_the_caller_is_not_the_owner(rt):
    model = register_ok(rt, "alice")
    assert_noop(rt.call("bob", f"{REG}.set_metadata", model=model, **NEW), ModelRegistry.NotOwner)


def test_set_metadata_fails_when_the_caller_is_only_the_approved_operator(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    assert_noop(rt.call("bob", f"{REG}.set_metadata", model=model, **NEW), ModelRegistry.NotOwner)


def test_set_metadata_fails_when_the_name_is_too_long(rt):
    model = register_ok(rt, "alice")
    with pytest.raises(BadArguments):
        rt.call("alice", f"{REG}.set_metadata", model=model, **{**NEW, "name": "x" * 65})
