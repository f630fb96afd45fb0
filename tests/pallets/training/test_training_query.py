"""The read queries behind training_contributions, training_claimable and training_depositFor."""

from __future__ import annotations

import pytest
from training_helpers import COST, WAITS, add, advance, make_good, register, row, setup

from cmu.node.rpc_views import training as query
from cmu.node.rpc_views.model_registry import QueryError
from runtime.crypto import address

DENSE = "dense_perceptron"
POS, NEG = row(DENSE, True), row(DENSE, False)


def test_contributions_lists_a_models_contributions_in_id_order(rt):
    model = setup(rt)
    other = setup(rt)
    ids = [add(rt, "bob", model, POS, 1), add(rt, "charlie", other, POS, 1)]
    ids.append(add(rt, "charlie", model, NEG, 0))
    found = query.contributions(rt.runtime, model, None, 0, 50)
    assert [c["contribution"] for c in found["contributions"]] == [ids[0], ids[2]]
    assert found["next"] is None
    first = found["contributions"][0]
    assert first["contributor"] == address(rt.account("bob"))
    assert (first["label"], first["status"], first["initialDeposit"]) == (1, "Open", COST * 3_600)


def test_contributions_filters_by_contributor(rt):
    model = setup(rt)
    other = setup(rt)
    add(rt, "bob", model, POS, 1)
    mine = add(rt, "charlie", model, NEG, 0)
    add(rt, "charlie", other, NEG, 0)
    found = query.contributions(rt.runtime, model, rt.account("charlie"), 0, 50)
    assert [c["contribution"] for c in found["contributions"]] == [mine]


def test_contributions_pages_with_next(rt):
    model = setup(rt)
    ids = [add(rt, "bob", model, POS, 1) for _ in range(5)]
    page = query.contributions(rt.runtime, model, None, 0, 2)
    assert [c["contribution"] for c in page["contributions"]] == ids[:2] and page["next"] == ids[2]
    rest = query.contributions(rt.runtime, model, None, page["next"], 10)
    assert [c["contribution"] for c in rest["contributions"]] == ids[2:] and rest["next"] is None


def test_contributions_refuses_an_unknown_model(rt):
    setup(rt)
    with pytest.raises(QueryError) as raised:
        query.contributions(rt.runtime, 9, None, 0, 10)
    assert raised.value.error == "UnknownModel"


def test_claimable_sums_open_deposits_with_their_refund_time(rt):
    model = setup(rt)
    make_good(rt, "bob", model)  # refunded: not claimable any more
    cid = add(rt, "bob", model, POS, 1)
    record_time = rt.now
    found = query.claimable(rt.runtime, rt.account("bob"))
    assert [c["contribution"] for c in found["contributions"]] == [cid]
    deposit = found["contributions"][0]["claimable"]
    assert found["total"] == deposit == COST * 3_600 // 7  # 60 s after the previous update: isqrt 7
    assert found["contributions"][0]["refundableAt"] == record_time + WAITS["refund_wait_s"] * 1_000


def test_deposit_for_follows_the_formula_at_a_given_time(rt):
    model = setup(rt)
    add(rt, "bob", model, POS, 1)
    last = rt.now
    advance(rt, 1)
    answer = query.deposit_for(rt.runtime, model, last + 100_000)
    assert answer["deposit"] == COST * 3_600 // 10 and answer["secondsSinceLastUpdate"] == 100
    assert answer["mechanism"] == "Stake" and answer["lastUpdate"] == last
    assert query.deposit_for(rt.runtime, model, None)["at"] == rt.runtime.head.timestamp


def test_deposit_for_refuses_a_model_without_training(rt):
    model = register(rt)
    with pytest.raises(QueryError) as raised:
        query.deposit_for(rt.runtime, model, None)
    assert raised.value.error == "TrainingDisabled"
