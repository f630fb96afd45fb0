"""Access.buy_pass: pay the price for Reader until expiry; owner and contributors are credited exactly."""

from __future__ import annotations

from access_helpers import (
    ED,
    PRICE,
    READER,
    TRAINER,
    access,
    can,
    fund,
    grant_ok,
    held_revenue,
    permissioned_model,
    register_model,
    sell_passes,
)

from pallets.access import Access
from pallets.access.types import Grant
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def buy(rt, who, model):
    return rt.call(who, "Access.buy_pass", model=model)


def test_buy_pass_works(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model, duration=3)
    free = rt.free_balance("bob")
    assert_ok(buy(rt, "bob", model))
    expires = rt.block_number + 3
    assert rt.free_balance("bob") == free - PRICE
    assert held_revenue(rt) == PRICE
    assert access(rt).grants[model, rt.account("bob")] == Grant(READER, expires)
    assert access(rt).revenue[model, rt.account("alice")] == PRICE
    assert rt.last_event() == Access.PassBought(
        model=model,
        buyer=rt.account("bob"),
        expires_at=expires,
        price=PRICE,
        owner_share=PRICE,
        contributor_share=0,
    )
    rt.run_to_block(expires - 1)
    assert can(rt, "bob", model, "predict") and can(rt, "bob", model, "download")
    rt.next_block()
    assert not can(rt, "bob", model, "predict")


def test_buy_pass_works_and_credits_contributors_by_their_counts(rt):
    model = permissioned_model(rt)
    pallet = access(rt)
    counts = {"charlie": 3, "dave": 1, "eve": 2}
    for name, count in counts.items():
        for _ in range(count):
            pallet.record_good_contribution(model, rt.account(name))
    price = 10_000_003
    sell_passes(rt, model, price=price, permill=333_333)
    assert_ok(buy(rt, "bob", model))
    pool = price * 333_333 // 1_000_000  # 3_333_331
    expected = {name: pool * count // 6 for name, count in counts.items()}
    for name, share in expected.items():
        assert pallet.revenue[model, rt.account(name)] == share
    owner = pallet.revenue[model, rt.account("alice")]
    assert owner == price - sum(expected.values())
    assert owner + sum(expected.values()) == price == held_revenue(rt)
    event = rt.last_event()
    assert isinstance(event, Access.PassBought)
    assert event.owner_share == owner and event.contributor_share == sum(expected.values())


def test_buy_pass_works_and_gives_everything_to_the_owner_without_contributors(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model, permill=1_000_000)
    assert_ok(buy(rt, "bob", model))
    assert access(rt).revenue[model, rt.account("alice")] == PRICE


def test_buy_pass_works_and_extends_an_expiring_pass(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model, duration=5)
    assert_ok(buy(rt, "bob", model))
    first = rt.block_number + 5
    rt.next_block()
    assert_ok(buy(rt, "bob", model))
    assert access(rt).grants[model, rt.account("bob")] == Grant(READER, first + 5)
    assert held_revenue(rt) == 2 * PRICE


def test_buy_pass_works_after_the_pass_expired(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model, duration=1)
    assert_ok(buy(rt, "bob", model))
    rt.next_block()
    assert_ok(buy(rt, "bob", model))
    assert access(rt).grants[model, rt.account("bob")] == Grant(READER, rt.block_number + 1)


def test_buy_pass_fails_when_no_passes_are_sold(rt):
    model = permissioned_model(rt)
    assert_noop(buy(rt, "bob", model), Access.NoPassTerms)


def test_buy_pass_fails_when_the_model_is_public(rt):
    model = register_model(rt)
    sell_passes(rt, model)
    assert_noop(buy(rt, "bob", model), Access.AlreadyHasAccess)


def test_buy_pass_fails_when_the_buyer_already_has_access(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model)
    grant_ok(rt, "alice", model, "bob", TRAINER, rt.block_number + 50)
    grant_ok(rt, "alice", model, "charlie", READER)
    assert_noop(buy(rt, "alice", model), Access.AlreadyHasAccess)
    assert_noop(buy(rt, "bob", model), Access.AlreadyHasAccess)
    assert_noop(buy(rt, "charlie", model), Access.AlreadyHasAccess)


def test_buy_pass_fails_when_the_buyer_cannot_pay(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model)
    fund(rt, "poor", PRICE)
    assert_noop(buy(rt, "poor", model), Balances.KeepAlive)
    fund(rt, "poorer", PRICE - 1)
    assert_noop(buy(rt, "poorer", model), Balances.InsufficientBalance)


def test_buy_pass_fails_when_the_model_is_unknown(rt):
    assert_noop(buy(rt, "bob", 8), ModelRegistry.UnknownModel)


def test_buy_pass_keeps_total_issuance(rt):
    model = permissioned_model(rt)
    sell_passes(rt, model, price=ED)
    issuance = rt.balances.total_issuance.get()
    assert_ok(buy(rt, "bob", model))
    assert rt.balances.total_issuance.get() == issuance
    rt.check_invariants()
