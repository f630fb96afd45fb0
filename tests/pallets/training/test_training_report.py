"""Training.report: after the refund wait, a reporter who is not the author, has a good contribution and
has not reported this one before takes initial_deposit * reporter_good // total_good when the current
model disagrees (0 or more than remains: all that remains); after the owner-claim wait the owner, after
the any-account wait anyone, takes all that remains whatever the model says. Never more than the deposit."""

from __future__ import annotations

import pytest
from training_helpers import COST, WAITS, T, add, advance, held, make_good, row, setup, training

from pallets.training import Training
from pallets.training.types import Mechanism, Status, TakeReason
from runtime.testing import assert_noop, assert_ok

DENSE = "dense_perceptron"
POS = row(DENSE, True)
WAIT, OWNER_WAIT, ANY_WAIT = WAITS["refund_wait_s"], WAITS["owner_claim_wait_s"], WAITS["any_claim_wait_s"]


def call_report(rt, who, cid, features=POS, label=0):
    return rt.call(who, f"{T}.report", contribution=cid, features=features, label=label)


def flipped(rt, model, *, gap_s=0):
    """bob's contribution POS -> 0 (a flipped label), after which eve's honest POS -> 1 makes the model
    disagree with it again. Returns its id."""
    if gap_s:
        advance(rt, gap_s)
    cid = add(rt, "bob", model, POS, 0)
    add(rt, "eve", model, POS, 1)
    return cid


def reporters(rt, model, **goods):
    """Give each named account that many good contributions."""
    for who, count in goods.items():
        for _ in range(count):
            make_good(rt, who, model)


def test_report_works(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1, dave=1)
    cid = flipped(rt, model)
    deposit = training(rt).contribution(cid).initial_deposit
    advance(rt, WAIT)
    free = rt.free_balance("charlie")
    assert_ok(call_report(rt, "charlie", cid))
    share = deposit * 1 // 2
    assert rt.free_balance("charlie") == free + share and held(rt, "bob") == deposit - share
    record = training(rt).contribution(cid)
    assert (record.claimable, record.status) == (deposit - share, Status.OPEN)
    assert rt.last_event() == Training.Taken(
        model=model, contribution=cid, taker=rt.account("charlie"), amount=share, remaining=deposit - share,
        reason=TakeReason.REPORT,
    )


@pytest.mark.parametrize(("after_ms", "ok"), [
    (WAIT * 1_000 - 1_000, False), (WAIT * 1_000 - 1, False),
    (WAIT * 1_000, True), (WAIT * 1_000 + 1_000, True),
])
def test_report_window_opens_after_the_refund_wait(rt, after_ms, ok):
    model = setup(rt)
    reporters(rt, model, charlie=1)
    cid = flipped(rt, model)
    rt.next_block(advance_ms=after_ms)
    result = call_report(rt, "charlie", cid)
    if ok:
        assert_ok(result)
    else:
        assert_noop(result, Training.TooEarly)


def test_report_fails_when_the_reporter_is_the_author(rt):
    model = setup(rt)
    reporters(rt, model, bob=1)
    cid = flipped(rt, model)
    advance(rt, WAIT)
    assert_noop(call_report(rt, "bob", cid), Training.OwnDeposit)


def test_report_fails_when_the_reporter_has_no_good_contribution(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1)
    cid = flipped(rt, model)
    advance(rt, WAIT)
    assert_noop(call_report(rt, "dave", cid), Training.NoGoodContributions)


def test_report_fails_when_already_reported_by_the_reporter(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1, dave=1)
    cid = flipped(rt, model)
    advance(rt, WAIT)
    assert_ok(call_report(rt, "charlie", cid))
    assert_noop(call_report(rt, "charlie", cid), Training.AlreadyReported)
    assert_ok(call_report(rt, "dave", cid))  # another reporter still may


def test_report_fails_when_the_model_agrees(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, WAIT)
    assert_noop(call_report(rt, "charlie", cid, POS, 1), Training.ModelAgrees)


def test_report_fails_when_the_data_does_not_match_the_hash(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1)
    cid = flipped(rt, model)
    advance(rt, WAIT)
    assert_noop(call_report(rt, "charlie", cid, POS, 1), Training.DataMismatch)


def test_report_fails_when_there_is_no_deposit(rt):
    model = setup(rt, mechanism=Mechanism.POINTS)
    reporters(rt, model, charlie=1)
    cid = flipped(rt, model)
    advance(rt, ANY_WAIT)
    assert_noop(call_report(rt, "charlie", cid), Training.NothingToTake)


def test_report_takes_all_that_remains_when_the_share_rounds_to_zero(rt):
    model = setup(rt, cost_weight=1)
    reporters(rt, model, charlie=1, dave=1)
    cid = flipped(rt, model, gap_s=3_600**2)  # deposit 3600 // isqrt(3600**2) == 1
    assert training(rt).contribution(cid).initial_deposit == 1
    advance(rt, WAIT)
    assert_ok(call_report(rt, "charlie", cid))  # 1 * 1 // 2 == 0: all that remains
    assert rt.last_event().amount == 1 and rt.last_event().remaining == 0
    assert training(rt).contribution(cid).status is Status.TAKEN


def test_report_takes_all_that_remains_when_the_share_is_more_than_remains(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1, dave=1)
    cid = flipped(rt, model)
    deposit = training(rt).contribution(cid).initial_deposit
    advance(rt, WAIT)
    assert_ok(call_report(rt, "charlie", cid))  # 1 of 2 good: half
    reporters(rt, model, dave=2)  # dave now 3 of 4: 3/4 of the deposit > the half that remains
    assert_ok(call_report(rt, "dave", cid))
    assert rt.last_event().amount == deposit - deposit // 2 and rt.last_event().remaining == 0
    assert held(rt, "bob") == 0


def test_report_takes_the_exact_share_rounded_down(rt):
    model = setup(rt)
    reporters(rt, model, charlie=1, dave=2)
    cid = flipped(rt, model)
    deposit = training(rt).contribution(cid).initial_deposit
    assert deposit % 3
    advance(rt, WAIT)
    assert_ok(call_report(rt, "charlie", cid))
    assert rt.last_event().amount == deposit // 3


@pytest.mark.parametrize(("after_s", "reason"), [(OWNER_WAIT - 1, None), (OWNER_WAIT, TakeReason.OWNER_CLAIM),
                                                 (OWNER_WAIT + 1, TakeReason.OWNER_CLAIM)])
def test_report_owner_claims_all_after_the_owner_claim_wait(rt, after_s, reason):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)  # good data: the model agrees, yet the owner may take it
    deposit = training(rt).contribution(cid).initial_deposit
    advance(rt, after_s)
    result = call_report(rt, "alice", cid, POS, 1)
    if reason is None:
        assert_noop(result, Training.NoGoodContributions)  # before the wait: an ordinary report
        return
    assert_ok(result)
    assert (rt.last_event().amount, rt.last_event().reason) == (deposit, reason)
    assert training(rt).contribution(cid).status is Status.TAKEN


def test_report_owner_claim_is_the_owners_alone(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    advance(rt, OWNER_WAIT)
    assert_noop(call_report(rt, "charlie", cid, POS, 1), Training.NoGoodContributions)


@pytest.mark.parametrize(("after_s", "ok"), [(ANY_WAIT - 1, False), (ANY_WAIT, True), (ANY_WAIT + 1, True)])
def test_report_any_account_claims_all_after_the_any_account_wait(rt, after_s, ok):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    deposit = training(rt).contribution(cid).initial_deposit
    advance(rt, after_s)
    result = call_report(rt, "ferdie", cid, POS, 1)
    if not ok:
        assert_noop(result, Training.NoGoodContributions)
        return
    assert_ok(result)
    event = rt.last_event()
    assert (event.taker, event.amount, event.reason) == (rt.account("ferdie"), deposit, TakeReason.ANY_CLAIM)


def test_report_pays_out_no_contribution_twice(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 1)
    deposit = training(rt).contribution(cid).initial_deposit
    advance(rt, ANY_WAIT)
    before = rt.free_balance("ferdie")
    assert_ok(call_report(rt, "ferdie", cid, POS, 1))
    assert_noop(call_report(rt, "charlie", cid, POS, 1), Training.AlreadySettled)
    refund = rt.call("bob", f"{T}.refund", contribution=cid, features=POS, label=1)
    assert_noop(refund, Training.AlreadySettled)
    assert rt.free_balance("ferdie") == before + deposit and held(rt, "bob") == 0


def test_report_fails_when_the_contribution_is_unknown(rt):
    setup(rt)
    assert_noop(call_report(rt, "charlie", 7), Training.UnknownContribution)


def test_report_deposits_are_costed_in_cost_weight(rt):
    model = setup(rt)
    cid = add(rt, "bob", model, POS, 0)
    assert training(rt).contribution(cid).initial_deposit == COST * 3_600
