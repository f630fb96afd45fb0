"""Training.set_config: the owner configures a model's training; refund wait <= owner-claim wait <=
any-account wait, a cost weight whose deposit fits in u64, a batch limit of 1..MAX_BATCH, a trainable kind."""

from __future__ import annotations

import numpy as np
from training_helpers import COST, SCALE, WAITS, T, configure, register, training

from cmu import models
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from pallets.training import Training
from pallets.training.types import Mechanism, TrainingConfig
from runtime.pallet import Pallet, hookimpl
from runtime.testing import assert_noop, assert_ok


def test_set_config_works(rt):
    model = register(rt)
    assert_ok(configure(rt, model, mechanism=Mechanism.POINTS, batch_limit=3))
    expected = TrainingConfig(True, Mechanism.POINTS, 60, 600, 3_600, COST, 3)
    assert training(rt).configs[model] == expected
    assert training(rt).last_update[model] == rt.now
    assert rt.last_event() == Training.ConfigSet(model=model, config=expected)


def test_set_config_works_with_equal_waits(rt):
    model = register(rt)
    assert_ok(configure(rt, model, refund_wait_s=5, owner_claim_wait_s=5, any_claim_wait_s=5))


def test_set_config_works_at_the_largest_cost_weight(rt):
    model = register(rt)
    assert_ok(configure(rt, model, cost_weight=Training.MAX_COST_WEIGHT))
    assert training(rt).deposit_at(model, rt.now) == Training.MAX_COST_WEIGHT * 3_600


def test_set_config_keeps_the_last_update_time_when_reconfigured(rt):
    model = register(rt)
    assert_ok(configure(rt, model))
    first = rt.now
    rt.next_block()
    assert_ok(configure(rt, model, enabled=False))
    assert training(rt).last_update[model] == first
    assert not training(rt).configs[model].enabled


def test_set_config_fails_when_not_owner(rt):
    model = register(rt)
    assert_noop(configure(rt, model, who="bob"), Training.NotOwner)


def test_set_config_fails_when_refund_wait_exceeds_owner_claim_wait(rt):
    model = register(rt)
    assert_noop(configure(rt, model, refund_wait_s=601), Training.BadWaits)


def test_set_config_fails_when_owner_claim_wait_exceeds_any_claim_wait(rt):
    model = register(rt)
    assert_noop(configure(rt, model, owner_claim_wait_s=WAITS["any_claim_wait_s"] + 1), Training.BadWaits)


def test_set_config_fails_when_cost_weight_overflows_the_deposit(rt):
    model = register(rt)
    assert_noop(configure(rt, model, cost_weight=Training.MAX_COST_WEIGHT + 1), Training.CostTooHigh)


def test_set_config_fails_when_batch_limit_is_zero(rt):
    model = register(rt)
    assert_noop(configure(rt, model, batch_limit=0), Training.BadBatchLimit)


def test_set_config_fails_when_batch_limit_is_above_max_batch(rt):
    model = register(rt)
    assert_ok(configure(rt, model, batch_limit=Training.MAX_BATCH))
    assert_noop(configure(rt, model, batch_limit=Training.MAX_BATCH + 1), Training.BadBatchLimit)


def test_set_config_fails_when_the_model_is_retired(rt):
    model = register(rt)
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_noop(configure(rt, model), ModelRegistry.Retired)


def test_set_config_fails_when_the_model_is_unknown(rt):
    assert_noop(configure(rt, 99), ModelRegistry.UnknownModel)


def test_set_config_fails_when_the_origin_is_root(rt):
    model = register(rt)
    result = rt.call("root", f"{T}.set_config", model=model, enabled=True, mechanism=Mechanism.STAKE,
                     **WAITS, cost_weight=COST, batch_limit=4)
    assert result.error is not None and type(result.error).__name__ == "BadOrigin"


class FrozenKind(models.ModelKind):
    """A kind with no training rule: each label scores a stored constant."""

    name = "frozen_constant"
    trainable = False

    def resolve_params(self, spec, n_labels, given):
        return {}

    def flat_size(self, spec, n_labels):
        return n_labels

    def check_flat(self, w):
        return None

    def scores_q32(self, w, rows):
        return np.tile(w.flat << 16, (len(rows), 1))


class FrozenKinds(Pallet):
    """Adds FrozenKind through the model_kinds hook."""

    name, index = "FrozenKinds", 251

    @hookimpl
    def model_kinds(self):
        return [FrozenKind()]


def test_set_config_fails_when_the_kind_is_not_trainable(runtime_with):
    rt = runtime_with("Versioning", "Access", "Training", FrozenKinds)
    spec = InputSpec(2, False, 0, SCALE)
    assert_ok(rt.call("alice", "ModelRegistry.register", name="m", description="", task="t",
                      kind="frozen_constant", input_spec=spec, labels=("a", "b"), license="", artifact=None))
    assert_noop(configure(rt, 0), Training.NotTrainable)
