"""Training.add_batch: add_data for each item in order, all or nothing, at most the model's batch_limit;
the first item's deposit counts from the model's last update, the later ones from the first (0 s)."""

from __future__ import annotations

from training_helpers import COST, SCALE, T, advance, held, row, setup, training

from pallets.training import Training
from pallets.training.types import DataItem
from runtime.testing import assert_noop, assert_ok

DENSE = "dense_perceptron"


def items(n):
    return [DataItem(row(DENSE, i % 2 == 0), 1 if i % 2 == 0 else 0) for i in range(n)]


def call_batch(rt, who, model, batch):
    return rt.call(who, f"{T}.add_batch", model=model, items=batch)


def test_add_batch_works(rt):
    model = setup(rt, batch_limit=4)
    advance(rt, 9)
    result = call_batch(rt, "bob", model, items(4))
    assert_ok(result)
    added = [e for e in result.events if isinstance(e, Training.DataAdded)]
    assert [e.contribution for e in added] == [0, 1, 2, 3]
    assert [e.deposit for e in added] == [COST * 1_200] + [COST * 3_600] * 3  # 9 s: isqrt 3; then 0 s
    assert [e.label for e in added] == [1, 0, 1, 0]
    assert held(rt, "bob") == COST * (1_200 + 3 * 3_600)
    assert all(training(rt).contribution(i).contributor == rt.account("bob") for i in range(4))


def test_add_batch_works_at_the_batch_limit(rt):
    model = setup(rt, batch_limit=3)
    assert_ok(call_batch(rt, "bob", model, items(3)))


def test_add_batch_fails_when_over_the_batch_limit(rt):
    model = setup(rt, batch_limit=3)
    assert_noop(call_batch(rt, "bob", model, items(4)), Training.BatchTooLarge)


def test_add_batch_fails_when_empty(rt):
    model = setup(rt)
    assert_noop(call_batch(rt, "bob", model, []), Training.EmptyBatch)


def test_add_batch_fails_when_one_item_is_bad(rt):
    model = setup(rt)
    batch = [*items(2), DataItem([9 * SCALE, 0, 0], 1)]
    assert_noop(call_batch(rt, "bob", model, batch), Training.BadData)
    assert training(rt).next_contribution.get() == 0


def test_add_batch_fails_when_the_deposits_together_cannot_be_paid(rt):
    model = setup(rt)
    poor = rt.account("poor")
    assert_ok(rt.call("alice", "Balances.transfer", dest=poor, value=COST * 3_600 * 2 + 5))
    assert_ok(call_batch(rt, poor, model, items(2)))
    assert_noop(call_batch(rt, poor, model, items(1)), Training.CannotPayDeposit)
