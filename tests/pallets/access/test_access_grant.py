"""Access.grant: Owner and Admin grant Maintainer, Trainer and Reader; only the Owner grants Admin."""

from __future__ import annotations

from access_helpers import (
    ADMIN,
    MAINTAINER,
    READER,
    TRAINER,
    access,
    can,
    grant,
    grant_ok,
    permissioned_model,
    register_model,
)

from pallets.access import Access
from pallets.access.types import Grant
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def test_grant_works(rt):
    model = permissioned_model(rt)
    expires = rt.block_number + 5
    assert_ok(grant(rt, "alice", model, "bob", READER, expires))
    bob = rt.account("bob")
    assert access(rt).grants[model, bob] == Grant(READER, expires)
    assert access(rt).role(model, bob) is READER
    assert rt.last_event() == Access.RoleGranted(
        model=model, who=bob, role=READER, expires_at=expires, by=rt.account("alice")
    )
    assert can(rt, "bob", model, "predict")


def test_grant_works_for_an_admin_granting_lower_roles(rt):
    model = permissioned_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    for who, role in (("charlie", MAINTAINER), ("dave", TRAINER), ("eve", READER)):
        assert_ok(grant(rt, "bob", model, who, role))
        assert access(rt).role(model, rt.account(who)) is role


def test_grant_works_and_replaces_the_earlier_role(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", READER)
    grant_ok(rt, "alice", model, "bob", MAINTAINER, rt.block_number + 3)
    assert access(rt).grants[model, rt.account("bob")] == Grant(MAINTAINER, rt.block_number + 3)


def test_grant_works_for_an_admin_replacing_an_expired_admin_grant(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    grant_ok(rt, "alice", model, "charlie", ADMIN, rt.block_number + 1)
    rt.next_block()
    assert_ok(grant(rt, "bob", model, "charlie", READER))


def test_grant_fails_when_not_allowed(rt):
    model = register_model(rt)
    assert_noop(grant(rt, "bob", model, "charlie", READER), Access.NotAllowed)
    grant_ok(rt, "alice", model, "bob", MAINTAINER)
    assert_noop(grant(rt, "bob", model, "charlie", READER), Access.NotAllowed)


def test_grant_fails_when_an_admin_grants_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    assert_noop(grant(rt, "bob", model, "charlie", ADMIN), Access.OwnerOnly)


def test_grant_fails_when_an_admin_replaces_a_live_admin(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    grant_ok(rt, "alice", model, "charlie", ADMIN)
    assert_noop(grant(rt, "bob", model, "charlie", READER), Access.OwnerOnly)
    assert_noop(grant(rt, "bob", model, "bob", READER), Access.OwnerOnly)


def test_grant_fails_when_the_expiry_is_not_in_the_future(rt):
    model = register_model(rt)
    assert_noop(grant(rt, "alice", model, "bob", READER, rt.block_number), Access.ExpiryInPast)
    assert_noop(grant(rt, "alice", model, "bob", READER, 0), Access.ExpiryInPast)


def test_grant_fails_when_the_model_is_unknown(rt):
    assert_noop(grant(rt, "alice", 3, "bob", READER), ModelRegistry.UnknownModel)
