"""The terms a deposit was made under are a promise: set_config changes the waits of later contributions
only, and a Maintainer's or the owner's explicit version (rollback, publish) cannot turn good data bad."""

from __future__ import annotations

from training_helpers import COST, WAITS, T, add, advance, configure, held, make_good, row, setup, training

from pallets.training import Training
from pallets.training.rows import ModelView
from pallets.training.types import Status, TakeReason, Terms
from runtime.testing import assert_noop, assert_ok

GOOD = row("dense_perceptron", True)
ZERO_WAITS = {"refund_wait_s": 0, "owner_claim_wait_s": 0, "any_claim_wait_s": 0}


def current_prediction(rt, model: int, features: list[int]) -> int:
    """The label the model's current weights give `features` (the kind's own predict)."""
    pallet = training(rt)
    info = pallet.registry.model(model)
    view = ModelView.of(info, pallet.registry.kind(info.kind))
    return view.predict(pallet.versioning.current_weights(model), view.row(features, 0))


def test_owner_setting_waits_to_zero_cannot_take_a_good_deposit_at_once(rt):
    """The attack of issue 14: the owner sets every wait to 0, then claims an open good deposit."""
    model = setup(rt)
    cid = add(rt, "bob", model, row("dense_perceptron", True), 1)
    advance(rt, 1)
    assert_ok(configure(rt, model, **ZERO_WAITS))
    result = rt.call("alice", f"{T}.report", contribution=cid, features=GOOD, label=1)
    assert_noop(result, Training.TooEarly)
    assert f"refund wait of {WAITS['refund_wait_s']} s" in str(result.error)
    assert f"owner's claim after {WAITS['owner_claim_wait_s']} s" in str(result.error)
    # nor anyone else, in the next block either
    advance(rt, 1)
    result = rt.call("charlie", f"{T}.report", contribution=cid, features=row("dense_perceptron", True),
                     label=1)
    assert_noop(result, Training.TooEarly)
    # and bob still gets the whole deposit back after the ORIGINAL wait
    advance(rt, WAITS["refund_wait_s"])
    deposit = training(rt).contribution(cid).initial_deposit
    free = rt.free_balance("bob")
    assert_ok(rt.call("bob", f"{T}.refund", contribution=cid, features=GOOD, label=1))
    assert rt.free_balance("bob") == free + deposit and held(rt, "bob") == 0
    rt.check_invariants()


def test_a_config_change_applies_to_later_contributions(rt):
    model = setup(rt)
    pallet = training(rt)
    first = add(rt, "bob", model, row("dense_perceptron", True), 1)
    assert_ok(configure(rt, model, **ZERO_WAITS))
    later = add(rt, "charlie", model, row("dense_perceptron", False), 1)  # bad data under the new terms
    assert pallet.terms_of(pallet.contribution(first)).refund_wait_s == WAITS["refund_wait_s"]
    assert pallet.terms_of(pallet.contribution(later)) == Terms.of(pallet.config(model))
    advance(rt, 1)
    assert_ok(rt.call("alice", f"{T}.report", contribution=later, features=row("dense_perceptron", False),
                      label=1))
    assert rt.last_event().reason is TakeReason.OWNER_CLAIM
    assert pallet.contribution(later).status is Status.TAKEN
    assert pallet.contribution(first).status is Status.OPEN


def test_longer_waits_do_not_delay_an_open_refund(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, row("dense_perceptron", True), 1)
    assert_ok(configure(rt, model, refund_wait_s=10_000, owner_claim_wait_s=10_000, any_claim_wait_s=10_000))
    advance(rt, WAITS["refund_wait_s"])
    assert_ok(rt.call("bob", f"{T}.refund", contribution=cid, features=GOOD, label=1))


def test_equal_configs_share_one_terms_record(rt):
    model = setup(rt)
    pallet = training(rt)
    before = pallet.next_terms.get()
    assert_ok(configure(rt, model, batch_limit=3, enabled=False))  # settlement terms unchanged
    assert pallet.next_terms.get() == before
    assert_ok(configure(rt, model, cost_weight=COST + 1))
    assert pallet.next_terms.get() == before + 1
    assert pallet.terms[pallet.model_terms[model]].cost_weight == COST + 1


def test_a_rollback_by_the_owner_cannot_turn_good_data_bad(rt):
    """The owner rolls the model back to its untrained version 0, which disagrees with bob's good data:
    bob is still refunded (the model as contributions left it agrees) and a reporter cannot take it."""
    model = setup(rt)
    make_good(rt, "charlie", model)  # charlie may report
    cid = add(rt, "bob", model, row("dense_perceptron", True), 1)
    advance(rt, 1)
    assert_ok(rt.call("alice", "Versioning.rollback", model=model, version=0, notes_hash=None))
    advance(rt, WAITS["refund_wait_s"])
    features = row("dense_perceptron", True)
    assert current_prediction(rt, model, features) != 1  # the rolled-back model disagrees
    result = rt.call("charlie", f"{T}.report", contribution=cid, features=features, label=1)
    assert_noop(result, Training.ModelAgrees)
    assert_ok(rt.call("bob", f"{T}.refund", contribution=cid, features=features, label=1))


def test_training_after_a_contribution_still_judges_it(rt):
    """Without a fiat version, the model at refund time is the judge (Harris and Waggoner): later
    contributions that turn the model against bad data let a reporter take it."""
    model = setup(rt)
    make_good(rt, "charlie", model)
    bad = add(rt, "dave", model, row("dense_perceptron", True), 0)  # a flipped label
    for _ in range(3):
        add(rt, "eve", model, row("dense_perceptron", True), 1)
    advance(rt, WAITS["refund_wait_s"])
    assert_ok(rt.call("charlie", f"{T}.report", contribution=bad, features=row("dense_perceptron", True),
                      label=0))
    assert rt.last_event().reason is TakeReason.REPORT
