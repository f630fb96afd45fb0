"""ModelRegistry.cancel_approval: the owner withdraws the operator's approval."""

from __future__ import annotations

from registry_helpers import REG, register_ok, registry

from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def test_cancel_approval_works(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    assert_ok(rt.call("alice", f"{REG}.cancel_approval", model=model))
    assert registry(rt).models[model].approved is None
    assert rt.last_event() == ModelRegistry.ApprovalCancelled(model=model)


def test_cancel_approval_works_when_nothing_was_approved(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.cancel_approval", model=model))
    assert registry(rt).models[model].approved is None
    assert rt.last_event() == ModelRegistry.ApprovalCancelled(model=model)


def test_cancel_approval_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("alice", f"{REG}.cancel_approval", model=0), ModelRegistry.UnknownModel)


def test_cancel_approval_fails_when_the_caller_is_not_the_owner(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    assert_noop(rt.call("bob", f"{REG}.cancel_approval", model=model), ModelRegistry.NotOwner)
    assert registry(rt).models[model].approved == rt.account("bob")
