"""Access.revoke: Owner and Admin take roles away; only the Owner revokes a live Admin."""

from __future__ import annotations

from access_helpers import ADMIN, READER, TRAINER, access, can, grant_ok, permissioned_model, register_model

from pallets.access import Access
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def revoke(rt, by, model, who):
    return rt.call(by, "Access.revoke", model=model, who=rt.account(who))


def test_revoke_works(rt):
    model = permissioned_model(rt)
    grant_ok(rt, "alice", model, "bob", READER)
    assert_ok(revoke(rt, "alice", model, "bob"))
    assert (model, rt.account("bob")) not in access(rt).grants
    assert not can(rt, "bob", model, "predict")
    assert rt.events()[-2:] == [  # a permissioned model is confidential: its key's rotation is due
        Access.RoleRevoked(model=model, who=rt.account("bob"), role=READER, by=rt.account("alice")),
        Access.KeyRotationDue(model=model),
    ]


def test_revoke_works_for_an_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    grant_ok(rt, "alice", model, "charlie", TRAINER)
    assert_ok(revoke(rt, "bob", model, "charlie"))


def test_revoke_works_for_the_owner_revoking_an_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    assert_ok(revoke(rt, "alice", model, "bob"))
    assert access(rt).role(model, rt.account("bob")) is None


def test_revoke_works_for_an_admin_removing_an_expired_admin_grant(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    grant_ok(rt, "alice", model, "charlie", ADMIN, rt.block_number + 1)
    rt.next_block()
    assert_ok(revoke(rt, "bob", model, "charlie"))


def test_revoke_fails_when_there_is_no_grant(rt):
    model = register_model(rt)
    assert_noop(revoke(rt, "alice", model, "bob"), Access.NoGrant)


def test_revoke_fails_when_not_allowed(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", TRAINER)
    grant_ok(rt, "alice", model, "charlie", READER)
    assert_noop(revoke(rt, "bob", model, "charlie"), Access.NotAllowed)
    assert_noop(revoke(rt, "dave", model, "charlie"), Access.NotAllowed)


def test_revoke_fails_when_an_admin_revokes_an_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    grant_ok(rt, "alice", model, "charlie", ADMIN)
    assert_noop(revoke(rt, "bob", model, "charlie"), Access.OwnerOnly)


def test_revoke_fails_when_the_model_is_unknown(rt):
    assert_noop(revoke(rt, "alice", 5, "bob"), ModelRegistry.UnknownModel)


def test_revoke_works_on_a_confidential_model_and_makes_the_key_rotation_due(rt):
    from access_helpers import confidential_model

    model = confidential_model(rt, b"\x04" * 32, holders=("bob", "charlie"))
    assert_ok(revoke(rt, "alice", model, "bob"))
    assert (model, rt.account("bob")) not in access(rt).wrapped_keys
    assert (model, rt.account("charlie")) in access(rt).wrapped_keys
    assert access(rt).confidential[model].rotation_pending
    assert rt.events()[-2:] == [
        Access.RoleRevoked(model=model, who=rt.account("bob"), role=READER, by=rt.account("alice")),
        Access.KeyRotationDue(model=model),
    ]
