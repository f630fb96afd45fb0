"""Access.renounce: anyone gives up their own role on a model."""

from __future__ import annotations

from access_helpers import ADMIN, READER, access, can, grant_ok, permissioned_model, register_model

from pallets.access import Access
from runtime.testing import assert_noop, assert_ok


def test_renounce_works(rt):
    model = permissioned_model(rt)
    grant_ok(rt, "alice", model, "bob", READER, rt.block_number + 4)
    assert_ok(rt.call("bob", "Access.renounce", model=model))
    assert (model, rt.account("bob")) not in access(rt).grants
    assert not can(rt, "bob", model, "predict")
    assert rt.events()[-2:] == [  # a permissioned model is confidential: its key's rotation is due
        Access.RoleRenounced(model=model, who=rt.account("bob"), role=READER),
        Access.KeyRotationDue(model=model),
    ]


def test_renounce_works_for_an_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    assert_ok(rt.call("bob", "Access.renounce", model=model))
    assert not can(rt, "bob", model, "manage_roles")


def test_renounce_fails_when_there_is_no_grant(rt):
    model = register_model(rt)
    assert_noop(rt.call("bob", "Access.renounce", model=model), Access.NoGrant)
    assert_noop(rt.call("alice", "Access.renounce", model=model), Access.NoGrant)


def test_renounce_works_on_a_confidential_model_and_makes_the_key_rotation_due(rt):
    from access_helpers import confidential_model

    model = confidential_model(rt, b"\x04" * 32, holders=("bob",))
    assert_ok(rt.call("bob", "Access.renounce", model=model))
    assert (model, rt.account("bob")) not in access(rt).wrapped_keys
    assert access(rt).key_holders[model] == 1
    assert access(rt).confidential[model].rotation_pending
    assert rt.events()[-2:] == [
        Access.RoleRenounced(model=model, who=rt.account("bob"), role=READER),
        Access.KeyRotationDue(model=model),
    ]
