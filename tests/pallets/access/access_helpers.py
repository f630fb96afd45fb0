"""Shared helpers of the Access tests: register a model, set its policy, grant roles, fund accounts and
read the pallet. Imported as `from access_helpers import ...`."""

from __future__ import annotations

from typing import Any

import models
from pallets.access import Access
from pallets.access.types import Role, Training, Visibility
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from runtime.testing import CallResult, MockRuntime, assert_ok

PUBLIC, PERMISSIONED = Visibility.PUBLIC, Visibility.PERMISSIONED
OPEN, TRAINERS = Training.OPEN, Training.TRAINERS
ADMIN, MAINTAINER, TRAINER, READER = Role.ADMIN, Role.MAINTAINER, Role.TRAINER, Role.READER
SPEC = InputSpec(4, False, -8 * models.SCALE, 8 * models.SCALE)
ED = 1_000_000  # Balances.EXISTENTIAL_DEPOSIT
PRICE = 10 * ED


def register_model(rt: MockRuntime, who: str = "alice") -> int:
    """Register a dense perceptron owned by `who`; returns its id."""
    result = rt.call(
        who,
        "ModelRegistry.register",
        name="iris",
        description="a test model",
        task="classification",
        kind="dense_perceptron",
        input_spec=SPEC,
        labels=("cat", "dog", "eel"),
        license="MIT",
        artifact=None,
    )
    assert_ok(result)
    event = result.events[-1]
    assert isinstance(event, ModelRegistry.ModelRegistered)
    return int(event.model)


def permissioned_model(rt: MockRuntime, who: str = "alice", training: Training = OPEN) -> int:
    """A model of `who` made Permissioned."""
    model = register_model(rt, who)
    set_policy(rt, who, model, PERMISSIONED, training)
    return model


def set_policy(rt: MockRuntime, who: str, model: int, visibility: Visibility, training: Training) -> None:
    """Access.set_policy, asserted to succeed."""
    assert_ok(rt.call(who, "Access.set_policy", model=model, visibility=visibility, training=training))


def grant(
    rt: MockRuntime, by: str, model: int, who: str, role: Role, expires_at: int | None = None
) -> CallResult:
    """Access.grant of `role` on `model` to the dev account `who`."""
    return rt.call(by, "Access.grant", model=model, who=rt.account(who), role=role, expires_at=expires_at)


def grant_ok(
    rt: MockRuntime, by: str, model: int, who: str, role: Role, expires_at: int | None = None
) -> None:
    """Access.grant, asserted to succeed."""
    assert_ok(grant(rt, by, model, who, role, expires_at))


def access(rt: MockRuntime) -> Access:
    """The runtime's Access pallet."""
    pallet: Access = rt.pallet(Access)
    return pallet


def can(rt: MockRuntime, who: str | None, model: int, action: str) -> bool | None:
    """Access.can for a dev name (None: anonymous)."""
    return access(rt).can(None if who is None else rt.account(who), model, action)


def fund(rt: MockRuntime, name: str, amount: int) -> None:
    """Give an account exactly `amount` free balance."""
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account(name), new_free=amount))


def sell_passes(
    rt: MockRuntime, model: int, *, price: int = PRICE, duration: int = 10, permill: int = 0
) -> None:
    """The owner (alice) sets pass terms."""
    args: dict[str, Any] = {"price": price, "duration_blocks": duration, "contributor_share_permill": permill}
    assert_ok(rt.call("alice", "Access.set_pass_terms", model=model, **args))


def held_revenue(rt: MockRuntime) -> int:
    """What the pallet account holds as unclaimed revenue."""
    return rt.runtime.balances.held_balance(Access.PALLET_ACCOUNT, "access/revenue")


__all__ = [
    "ADMIN",
    "ED",
    "MAINTAINER",
    "OPEN",
    "PERMISSIONED",
    "PRICE",
    "PUBLIC",
    "READER",
    "TRAINER",
    "TRAINERS",
    "access",
    "can",
    "fund",
    "grant",
    "grant_ok",
    "held_revenue",
    "permissioned_model",
    "register_model",
    "sell_passes",
    "set_policy",
]
