"""ModelRegistry.approve: the owner lets one operator transfer the token (once)."""

from __future__ import annotations

from registry_helpers import REG, register_ok, registry

from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def test_approve_works(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    info = registry(rt).models[model]
    assert info.approved == rt.account("bob")
    assert info.owner == rt.account("alice")
    assert rt.last_event() == ModelRegistry.ApprovalSet(model=model, operator=rt.account("bob"))


def test_approve_works_replacing_the_previous_operator(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("charlie")))
    assert registry(rt).models[model].approved == rt.account("charlie")
    result = rt.call("bob", f"{REG}.transfer", model=model, dest=rt.account("bob"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)


def test_approve_fails_when_the_model_is_unknown(rt):
    result = rt.call("alice", f"{REG}.approve", model=3, operator=rt.account("bob"))
    assert_noop(result, ModelRegistry.UnknownModel)


def test_approve_fails_when_the_caller_is_not_the_owner(rt):
    model = register_ok(rt, "alice")
    result = rt.call("bob", f"{REG}.approve", model=model, operator=rt.account("bob"))
    assert_noop(result, ModelRegistry.NotOwner)


def test_approve_fails_when_the_caller_is_only_the_approved_operator(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    result = rt.call("bob", f"{REG}.approve", model=model, operator=rt.account("charlie"))
    assert_noop(result, ModelRegistry.NotOwner)
