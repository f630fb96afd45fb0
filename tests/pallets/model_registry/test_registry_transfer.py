"""ModelRegistry.transfer: the owner or its approved operator gives the token away; the approval is cleared
and the `owned` index follows the token."""

from __future__ import annotations

import dataclasses

from registry_helpers import REG, register_ok, registry

from pallets.model_registry import ModelRegistry
from runtime.genesis import dev_spec
from runtime.pallet import Pallet, hookimpl
from runtime.testing import assert_noop, assert_ok


def owned(rt, who):
    return [m for m, _ in registry(rt).owned.iter_prefix(rt.account(who))]


def test_transfer_works_by_the_owner(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("bob")))
    info = registry(rt).models[model]
    assert info.owner == rt.account("bob")
    assert owned(rt, "alice") == []
    assert owned(rt, "bob") == [model]
    assert rt.last_event() == ModelRegistry.ModelTransferred(
        model=model, sender=rt.account("alice"), dest=rt.account("bob")
    )


def test_transfer_works_by_the_approved_operator_and_clears_the_approval(rt):
    model = register_ok(rt, "alice")
    register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("charlie")))
    assert_ok(rt.call("charlie", f"{REG}.transfer", model=model, dest=rt.account("dave")))
    info = registry(rt).models[model]
    assert info.owner == rt.account("dave")
    assert info.approved is None
    assert owned(rt, "alice") == [1]
    assert owned(rt, "dave") == [model]
    assert owned(rt, "charlie") == []
    assert rt.last_event() == ModelRegistry.ModelTransferred(
        model=model, sender=rt.account("alice"), dest=rt.account("dave")
    )


def test_transfer_works_and_the_new_owner_can_transfer_on(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("bob")))
    assert_ok(rt.call("bob", f"{REG}.transfer", model=model, dest=rt.account("alice")))
    assert registry(rt).models[model].owner == rt.account("alice")
    assert owned(rt, "alice") == [model]
    assert owned(rt, "bob") == []


def test_transfer_works_through_a_signed_extrinsic(rt):
    model = register_ok(rt, "bob")
    free = rt.free_balance("bob")
    result = rt.submit("bob", f"{REG}.transfer", model=model, dest=rt.account("eve"))
    assert_ok(result)
    assert rt.free_balance("bob") == free - result.fee
    assert rt.account_info("bob").nonce == 1
    assert registry(rt).models[model].owner == rt.account("eve")


def test_transfer_fails_when_the_model_is_unknown(rt):
    result = rt.call("alice", f"{REG}.transfer", model=7, dest=rt.account("bob"))
    assert_noop(result, ModelRegistry.UnknownModel)


def test_transfer_fails_when_the_caller_is_neither_owner_nor_approved(rt):
    model = register_ok(rt, "alice")
    result = rt.call("bob", f"{REG}.transfer", model=model, dest=rt.account("bob"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)


def test_transfer_fails_when_the_approval_was_cancelled(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("charlie")))
    assert_ok(rt.call("alice", f"{REG}.cancel_approval", model=model))
    result = rt.call("charlie", f"{REG}.transfer", model=model, dest=rt.account("charlie"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)


def test_transfer_fails_when_the_approval_was_used_once_already(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("charlie")))
    assert_ok(rt.call("charlie", f"{REG}.transfer", model=model, dest=rt.account("dave")))
    result = rt.call("charlie", f"{REG}.transfer", model=model, dest=rt.account("charlie"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)


def test_transfer_fails_when_the_caller_is_the_previous_owner(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("bob")))
    result = rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("alice"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)


def test_transfer_fails_when_the_dest_already_owns_the_model(rt):
    model = register_ok(rt, "alice")
    result = rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("alice"))
    assert_noop(result, ModelRegistry.SameOwner)


def test_transfer_fails_when_an_operator_sends_it_back_to_the_owner(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("charlie")))
    result = rt.call("charlie", f"{REG}.transfer", model=model, dest=rt.account("alice"))
    assert_noop(result, ModelRegistry.SameOwner)


class Gate(Pallet):
    """A stand-in access pallet that refuses every transfer through the model_access hook."""

    name, index = "Gate", 200

    @hookimpl
    def model_access(self, who: bytes | None, model: int, action: str) -> bool | None:
        return False if action == "transfer" else None


def test_transfer_fails_when_the_access_hook_refuses(runtime_with):
    # a chain without the Access pallet: the hook is firstresult, so Access would answer before Gate
    base = dev_spec()
    spec = dataclasses.replace(base, pallets=tuple(p for p in base.pallets if p != "Access"))
    rt = runtime_with("ModelRegistry", Gate, spec=spec)
    model = register_ok(rt, "alice")
    result = rt.call("alice", f"{REG}.transfer", model=model, dest=rt.account("bob"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)
