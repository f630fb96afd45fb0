"""Shared helpers of the Training tests: small models of each trainable kind, configuration, time travel
in whole seconds, contributions and balance probes. Imported as `from training_helpers import ...`."""

from __future__ import annotations

from typing import Any

from cmu import models
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from pallets.training import Training
from pallets.training.types import DEPOSIT_REASON, Mechanism
from runtime.testing import CallResult, MockRuntime, assert_ok

SCALE = models.SCALE
T = "Training"
LABELS = ("neg", "pos")
HOUR_COST = 3_600
#: A valid chain input spec per trainable kind.
SPECS: dict[str, InputSpec] = {
    "dense_perceptron": InputSpec(3, False, -4 * SCALE, 4 * SCALE),
    "sparse_perceptron": InputSpec(20, True, 0, SCALE, 8),
    "naive_bayes": InputSpec(3, False, 0, 8 * SCALE),
    "nearest_centroid": InputSpec(3, False, -4 * SCALE, 4 * SCALE),
}
WAITS = {"refund_wait_s": 60, "owner_claim_wait_s": 600, "any_claim_wait_s": 3_600}
COST = 1_000_000  # cost_weight: a deposit of 3.6e9 at 0 s


def training(rt: MockRuntime) -> Training:
    """The runtime's Training pallet."""
    pallet: Training = rt.pallet(Training)
    return pallet


def register(rt: MockRuntime, kind: str = "dense_perceptron", who: str = "alice") -> int:
    """Register a model of `kind` with its initial weights; returns its id."""
    result = rt.call(
        who, "ModelRegistry.register", name="m", description="d", task="t", kind=kind,
        input_spec=SPECS[kind], labels=LABELS, license="MIT", artifact=None,
    )
    assert_ok(result)
    event = [e for e in result.events if isinstance(e, ModelRegistry.ModelRegistered)][-1]
    return int(event.model)


def configure(rt: MockRuntime, model: int, who: str = "alice", **overrides: Any) -> CallResult:
    """Training.set_config with the test defaults (Stake, WAITS, COST, batch limit 16) and overrides."""
    args: dict[str, Any] = {"enabled": True, "mechanism": Mechanism.STAKE, **WAITS, "cost_weight": COST,
                            "batch_limit": 16}
    args.update(overrides)
    return rt.call(who, f"{T}.set_config", model=model, **args)


def setup(rt: MockRuntime, kind: str = "dense_perceptron", **overrides: Any) -> int:
    """A registered, configured model owned by alice."""
    model = register(rt, kind)
    assert_ok(configure(rt, model, **overrides))
    return model


def row(kind: str, positive: bool) -> list[int]:
    """A clearly positive or negative example for the kind's SPECS (Q.16 ints, or sparse indices)."""
    if kind == "sparse_perceptron":
        return [1, 2, 3] if positive else [10, 11, 12]
    if kind == "naive_bayes":
        return [4 * SCALE, 0, SCALE] if positive else [0, 4 * SCALE, SCALE]
    sign = 1 if positive else -1
    return [sign * 2 * SCALE, sign * SCALE, 0]


def add(rt: MockRuntime, who: str, model: int, features: list[int], label: int) -> int:
    """Training.add_data that must succeed; returns the contribution id."""
    result = rt.call(who, f"{T}.add_data", model=model, features=features, label=label)
    assert_ok(result)
    event = [e for e in result.events if isinstance(e, Training.DataAdded)][-1]
    return int(event.contribution)


def advance(rt: MockRuntime, seconds: int, ms: int = 0) -> None:
    """Seal the open block and open the next one `seconds` (and `ms`) later."""
    rt.next_block(advance_ms=seconds * 1_000 + ms)


def held(rt: MockRuntime, who: str) -> int:
    """What is held from `who` for training deposits."""
    return int(rt.balances.held_balance(rt.account(who), DEPOSIT_REASON))


def make_good(rt: MockRuntime, who: str, model: int, kind: str = "dense_perceptron") -> int:
    """Give `who` one good contribution: add a positive example, wait, refund it. Returns its id."""
    cid = add(rt, who, model, row(kind, True), 1)
    advance(rt, WAITS["refund_wait_s"])
    assert_ok(rt.call(who, f"{T}.refund", contribution=cid, features=row(kind, True), label=1))
    return cid


__all__ = [
    "COST",
    "HOUR_COST",
    "LABELS",
    "SCALE",
    "SPECS",
    "WAITS",
    "T",
    "add",
    "advance",
    "configure",
    "held",
    "make_good",
    "register",
    "row",
    "setup",
    "training",
]
