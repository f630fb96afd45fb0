"""Training.refund: after the refund wait (one second before: refused; at and after: paid), if the current
model predicts the contributed label, what remains of the deposit goes back to its author, once, and the
contribution counts as good (per contributor and in total, and in Access's revenue share)."""

from __future__ import annotations

import pytest
from training_helpers import COST, WAITS, T, add, advance, held, make_good, row, setup, training

from pallets.access import Access
from pallets.training import Training
from pallets.training.types import Mechanism, Status
from runtime.testing import assert_noop, assert_ok

DENSE = "dense_perceptron"
POS, NEG = row(DENSE, True), row(DENSE, False)
WAIT = WAITS["refund_wait_s"]


def call_refund(rt, who, cid, features=POS, label=1):
    return rt.call(who, f"{T}.refund", contribution=cid, features=features, label=label)


def test_refund_works(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    free = rt.free_balance("bob")
    advance(rt, WAIT)
    assert_ok(call_refund(rt, "bob", cid))
    deposit = COST * 3_600
    assert rt.free_balance("bob") == free + deposit and held(rt, "bob") == 0
    record = training(rt).contribution(cid)
    assert (record.claimable, record.status, record.initial_deposit) == (0, Status.REFUNDED, deposit)
    assert training(rt).good_count(model, rt.account("bob")) == 1 and training(rt).total_good[model] == 1
    assert rt.pallet(Access).good_counts.get(model, rt.account("bob")) == 1
    assert rt.last_event() == Training.Refunded(
        model=model, contribution=cid, contributor=rt.account("bob"), amount=deposit, good=1
    )


@pytest.mark.parametrize(("after_ms", "ok"), [
    (WAIT * 1_000 - 1_000, False),  # one second before
    (WAIT * 1_000 - 1, False),  # one millisecond before: still 59 whole seconds
    (WAIT * 1_000, True),  # at
    (WAIT * 1_000 + 1_000, True),  # one second after
])
def test_refund_window_opens_after_the_refund_wait(rt, after_ms, ok):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    rt.next_block(advance_ms=after_ms)
    result = call_refund(rt, "bob", cid)
    if ok:
        assert_ok(result)
    else:
        assert_noop(result, Training.TooEarly)


def test_refund_works_with_a_zero_refund_wait_in_the_same_block(rt):
    model = setup(rt, refund_wait_s=0)
    cid = add(rt, "bob", model, POS, 1)
    assert_ok(call_refund(rt, "bob", cid))


def test_refund_counts_good_data_with_no_deposit_under_points(rt):
    model = setup(rt, mechanism=Mechanism.POINTS)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_ok(call_refund(rt, "bob", cid))
    assert rt.last_event().amount == 0
    assert training(rt).good_count(model, rt.account("bob")) == 1


def test_refund_counts_good_per_contributor_and_in_total(rt):
    model = setup(rt)
    make_good(rt, "bob", model)
    make_good(rt, "bob", model)
    make_good(rt, "charlie", model)
    pallet = training(rt)
    goods = (pallet.good_count(model, rt.account("bob")), pallet.good_count(model, rt.account("charlie")))
    assert goods == (2, 1)
    assert pallet.total_good[model] == 3


def test_refund_fails_when_the_model_disagrees(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    for _ in range(3):  # a label-flipping majority: the model now says NEG for POS
        add(rt, "charlie", model, POS, 0)
    advance(rt, WAIT)
    assert_noop(call_refund(rt, "bob", cid), Training.ModelDisagrees)


def test_refund_fails_when_not_the_contributor(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_noop(call_refund(rt, "charlie", cid), Training.NotContributor)


@pytest.mark.parametrize(("features", "label"), [(NEG, 1), (POS, 0), ([*POS[:2], 1], 1)])
def test_refund_fails_when_the_data_does_not_match_the_hash(rt, features, label):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_noop(call_refund(rt, "bob", cid, features, label), Training.DataMismatch)


def test_refund_fails_when_already_refunded(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_ok(call_refund(rt, "bob", cid))
    assert_noop(call_refund(rt, "bob", cid), Training.AlreadySettled)
    assert training(rt).good_count(model, rt.account("bob")) == 1


def test_refund_fails_when_the_whole_deposit_was_taken(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAITS["owner_claim_wait_s"])
    assert_ok(rt.call("alice", f"{T}.report", contribution=cid, features=POS, label=1))
    assert_noop(call_refund(rt, "bob", cid), Training.AlreadySettled)


def test_refund_fails_when_the_contribution_is_unknown(rt):
    setup(rt)
    assert_noop(call_refund(rt, "bob", 42), Training.UnknownContribution)


def test_refund_works_after_the_model_is_retired_or_training_disabled(rt):
    model = setup(rt)
    first = add(rt, "bob", model, POS, 1)
    second = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_ok(rt.call("alice", f"{T}.set_config", model=model, enabled=False, mechanism=Mechanism.STAKE,
                      **WAITS, cost_weight=COST, batch_limit=4))
    assert_ok(call_refund(rt, "bob", first))
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_ok(call_refund(rt, "bob", second))
    assert held(rt, "bob") == 0
