"""Access.claim_revenue: owner and contributors are paid exactly what was credited to them."""

from __future__ import annotations

from access_helpers import ED, access, fund, held_revenue, permissioned_model, sell_passes

from pallets.access import Access
from pallets.balances import Balances
from runtime.testing import assert_noop, assert_ok


def claim(rt, who, model):
    return rt.call(who, "Access.claim_revenue", model=model)


def sold_with_contributors(rt, price=9_999_999, permill=500_000):
    """A permissioned model with contributors charlie (2 good) and dave (1), and one pass sold to bob."""
    model = permissioned_model(rt)
    pallet = access(rt)
    for name in ("charlie", "charlie", "dave"):
        pallet.record_good_contribution(model, rt.account(name))
    sell_passes(rt, model, price=price, permill=permill)
    assert_ok(rt.call("bob", "Access.buy_pass", model=model))
    return model


def test_claim_revenue_works_for_a_contributor(rt):
    model = sold_with_contributors(rt)
    share = (9_999_999 * 500_000 // 1_000_000) * 2 // 3
    free = rt.free_balance("charlie")
    assert_ok(claim(rt, "charlie", model))
    assert rt.free_balance("charlie") == free + share
    assert (model, rt.account("charlie")) not in access(rt).revenue
    assert rt.last_event() == Access.RevenueClaimed(model=model, who=rt.account("charlie"), amount=share)


def test_claim_revenue_works_for_everyone_and_empties_the_pool(rt):
    model = sold_with_contributors(rt)
    before = {name: rt.free_balance(name) for name in ("alice", "charlie", "dave")}
    for name in before:
        assert_ok(claim(rt, name, model))
    paid = sum(rt.free_balance(name) - free for name, free in before.items())
    assert paid == 9_999_999
    assert held_revenue(rt) == 0
    assert rt.free_balance(Access.PALLET_ACCOUNT) == 0
    rt.check_invariants()


def test_claim_revenue_works_for_a_fresh_account_with_enough(rt):
    model = permissioned_model(rt)
    access(rt).record_good_contribution(model, rt.account("newcomer"))
    sell_passes(rt, model, price=4 * ED, permill=500_000)
    assert_ok(rt.call("bob", "Access.buy_pass", model=model))
    assert_ok(claim(rt, "newcomer", model))
    assert rt.free_balance("newcomer") == 2 * ED


def test_claim_revenue_fails_when_nothing_is_due(rt):
    model = sold_with_contributors(rt)
    assert_noop(claim(rt, "eve", model), Access.NothingToClaim)
    assert_ok(claim(rt, "dave", model))
    assert_noop(claim(rt, "dave", model), Access.NothingToClaim)


def test_claim_revenue_fails_when_the_claim_is_below_the_existential_deposit_of_a_new_account(rt):
    model = permissioned_model(rt)
    access(rt).record_good_contribution(model, rt.account("newcomer"))
    sell_passes(rt, model, price=ED, permill=500_000)
    assert_ok(rt.call("bob", "Access.buy_pass", model=model))
    assert_noop(claim(rt, "newcomer", model), Balances.ExistentialDeposit)
    fund(rt, "newcomer", ED)
    assert_ok(claim(rt, "newcomer", model))
