"""Access.set_policy: Owner and Admin set a model's visibility and training policy."""

from __future__ import annotations

from access_helpers import (
    ADMIN,
    MAINTAINER,
    OPEN,
    PERMISSIONED,
    PUBLIC,
    TRAINERS,
    access,
    can,
    grant_ok,
    publish,
    register_model,
    upload_sealed,
)

from pallets.access import Access
from pallets.access.types import DEFAULT_POLICY, Policy
from pallets.model_registry import ModelRegistry
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok


def set_policy(rt, who, model, visibility=PERMISSIONED, training=TRAINERS):
    return rt.call(who, "Access.set_policy", model=model, visibility=visibility, training=training)


def confidential_version(rt, model, who="alice"):
    """Publish a confidential version of `model` (what a switch to Permissioned needs)."""
    assert_ok(publish(rt, who, model, upload_sealed(rt, who, b"\x07" * 32)))


def test_set_policy_works(rt):
    model = register_model(rt)
    assert access(rt).policy(model) == DEFAULT_POLICY == Policy(PUBLIC, OPEN)
    assert can(rt, None, model, "predict")
    confidential_version(rt, model)
    assert_ok(set_policy(rt, "alice", model))
    assert access(rt).policy(model) == Policy(PERMISSIONED, TRAINERS)
    assert rt.last_event() == Access.PolicySet(model=model, visibility=PERMISSIONED, training=TRAINERS)
    assert not can(rt, None, model, "predict")
    assert not can(rt, "bob", model, "download")


def test_set_policy_works_for_an_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    confidential_version(rt, model, "bob")
    assert_ok(set_policy(rt, "bob", model))
    assert_ok(set_policy(rt, "bob", model, PUBLIC, OPEN))
    assert access(rt).policy(model) == Policy(PUBLIC, OPEN)


def test_set_policy_fails_when_permissioned_without_a_confidential_version(rt):
    """The weights a model has are plaintext: it becomes Permissioned only with encrypted ones."""
    model = register_model(rt)
    result = set_policy(rt, "alice", model)
    assert_noop(result, Access.NotConfidential)
    assert "publish its weights encrypted" in str(result.error)
    assert_ok(set_policy(rt, "alice", model, PUBLIC, TRAINERS))  # a public policy needs none


def test_set_policy_fails_when_not_allowed(rt):
    model = register_model(rt)
    assert_noop(set_policy(rt, "bob", model), Access.NotAllowed)
    grant_ok(rt, "alice", model, "bob", MAINTAINER)
    assert_noop(set_policy(rt, "bob", model), Access.NotAllowed)


def test_set_policy_fails_when_the_admin_grant_expired(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN, expires_at=rt.block_number + 1)
    rt.next_block()
    assert_noop(set_policy(rt, "bob", model), Access.NotAllowed)


def test_set_policy_fails_when_the_model_is_unknown(rt):
    assert_noop(set_policy(rt, "alice", 7), ModelRegistry.UnknownModel)


def test_set_policy_fails_when_unsigned(rt):
    model = register_model(rt)
    assert_noop(set_policy(rt, "root", model), BadOrigin)
