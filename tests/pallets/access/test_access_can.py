"""Access.can and the model_access hook: the permission matrix for every role x action x policy, expiry
at block boundaries, the registry's transfer going through the hook, unknown models."""

from __future__ import annotations

import pytest
from access_helpers import (
    ADMIN,
    MAINTAINER,
    OPEN,
    PERMISSIONED,
    PUBLIC,
    READER,
    TRAINER,
    TRAINERS,
    can,
    grant,
    grant_ok,
    permissioned_model,
    register_model,
    set_policy,
)

from pallets.access import Access
from pallets.access.types import ACTIONS
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok

#: Who holds what in the matrix: alice owns the model, ferdie has no role, None is anonymous.
HOLDERS = {
    "alice": "Owner",
    "bob": "Admin",
    "charlie": "Maintainer",
    "dave": "Trainer",
    "eve": "Reader",
    "ferdie": "none",
    None: "anon",
}
ALL = frozenset(HOLDERS.values())
SIGNED = ALL - {"anon"}
READERS = frozenset({"Owner", "Admin", "Maintainer", "Trainer", "Reader"})
TRAINERS_UP = frozenset({"Owner", "Admin", "Maintainer", "Trainer"})
MAINTAINERS_UP = frozenset({"Owner", "Admin", "Maintainer"})
ADMINS_UP = frozenset({"Owner", "Admin"})
OWNER = frozenset({"Owner"})

#: The allowed holders per (visibility, training) and action: the PERMISSIONS table, written out.
# fmt: off
TABLE = {
    (PUBLIC, OPEN): {
        "plaintext_weights": ALL,
        "predict": ALL, "download": ALL, "train": SIGNED,
        "publish_version": MAINTAINERS_UP, "manage_roles": ADMINS_UP, "transfer": OWNER,
    },
    (PUBLIC, TRAINERS): {
        "plaintext_weights": ALL,
        "predict": ALL, "download": ALL, "train": TRAINERS_UP,
        "publish_version": MAINTAINERS_UP, "manage_roles": ADMINS_UP, "transfer": OWNER,
    },
    (PERMISSIONED, OPEN): {
        "plaintext_weights": frozenset(),
        "predict": READERS, "download": READERS, "train": READERS,
        "publish_version": MAINTAINERS_UP, "manage_roles": ADMINS_UP, "transfer": OWNER,
    },
    (PERMISSIONED, TRAINERS): {
        "plaintext_weights": frozenset(),
        "predict": READERS, "download": READERS, "train": TRAINERS_UP,
        "publish_version": MAINTAINERS_UP, "manage_roles": ADMINS_UP, "transfer": OWNER,
    },
}
# fmt: on


def staffed_model(rt):
    model = register_model(rt)
    for who, role in (("bob", ADMIN), ("charlie", MAINTAINER), ("dave", TRAINER), ("eve", READER)):
        grant_ok(rt, "alice", model, who, role)
    return model


@pytest.mark.parametrize(("visibility", "training"), list(TABLE))
def test_can_works_for_the_whole_permission_matrix(rt, visibility, training):
    model = staffed_model(rt)
    set_policy(rt, "alice", model, visibility, training)
    for action in ACTIONS:
        allowed = {label for who, label in HOLDERS.items() if can(rt, who, model, action)}
        assert allowed == TABLE[visibility, training][action], action


def test_can_works_through_the_model_access_hook(rt):
    model = permissioned_model(rt)
    hooks = rt.runtime.hooks
    assert hooks.model_access(who=None, model=model, action="predict") is False
    assert hooks.model_access(who=rt.account("alice"), model=model, action="predict") is True
    assert hooks.model_access(who=bytes(rt.account("alice")), model=model, action="download") is True
    assert hooks.model_access(who=None, model=99, action="predict") is None


def test_can_fails_when_the_model_is_unknown_or_the_action_is_not(rt):
    model = register_model(rt)
    assert can(rt, "alice", 42, "predict") is None
    assert can(rt, None, 42, "transfer") is None
    assert can(rt, "alice", model, "fly") is False
    assert can(rt, None, model, "fly") is False


@pytest.mark.parametrize("role", [ADMIN, MAINTAINER, TRAINER, READER])
def test_can_fails_when_the_grant_reaches_its_expiry_block(rt, role):
    model = permissioned_model(rt)
    expires = rt.block_number + 3
    grant_ok(rt, "alice", model, "bob", role, expires)
    rt.run_to_block(expires - 1)
    assert can(rt, "bob", model, "predict") is True
    rt.next_block()
    assert rt.block_number == expires
    assert can(rt, "bob", model, "predict") is False
    assert can(rt, "bob", model, "train") is False


ROLE_OF = {ADMIN: "Admin", MAINTAINER: "Maintainer", TRAINER: "Trainer", READER: "Reader"}


@pytest.mark.parametrize(("visibility", "training"), list(TABLE))
@pytest.mark.parametrize("role", [ADMIN, MAINTAINER, TRAINER, READER])
def test_can_works_until_the_block_before_expiry_for_every_action(rt, role, visibility, training):
    model = register_model(rt)
    set_policy(rt, "alice", model, visibility, training)
    expires = rt.block_number + 2
    grant_ok(rt, "alice", model, "ferdie", role, expires)
    row = TABLE[visibility, training]

    def allowed_actions():
        return {action for action in ACTIONS if can(rt, "ferdie", model, action)}

    rt.run_to_block(expires - 1)
    assert allowed_actions() == {a for a in ACTIONS if ROLE_OF[role] in row[a]}
    rt.next_block()
    assert rt.block_number == expires
    assert allowed_actions() == {a for a in ACTIONS if "none" in row[a]}


def test_can_fails_when_an_admin_acts_at_its_expiry_block(rt):
    model = register_model(rt)
    expires = rt.block_number + 2
    grant_ok(rt, "alice", model, "bob", ADMIN, expires)
    rt.run_to_block(expires - 1)
    grant_ok(rt, "bob", model, "charlie", READER)
    rt.next_block()
    assert_noop(grant(rt, "bob", model, "dave", READER), Access.NotAllowed)


def test_can_works_for_the_approved_operator_of_a_transfer(rt):
    model = permissioned_model(rt)
    assert_ok(rt.call("alice", "ModelRegistry.approve", model=model, operator=rt.account("ferdie")))
    assert can(rt, "ferdie", model, "transfer") is True
    assert can(rt, "ferdie", model, "predict") is False
    assert_ok(rt.call("ferdie", "ModelRegistry.transfer", model=model, dest=rt.account("bob")))
    assert can(rt, "bob", model, "manage_roles") is True
    assert can(rt, "alice", model, "predict") is False


def test_can_fails_when_an_admin_tries_to_transfer(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    assert can(rt, "bob", model, "transfer") is False
    result = rt.call("bob", "ModelRegistry.transfer", model=model, dest=rt.account("bob"))
    assert_noop(result, ModelRegistry.NotOwnerOrApproved)
