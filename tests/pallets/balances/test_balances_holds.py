"""The Balances typed API for holds (hold, release, slash_held, transfer_held): each verifies before it
writes, so a refusal changes nothing, and total issuance tracks free + held."""

from __future__ import annotations

import pytest

from pallets.balances import Balances
from runtime.errors import CodecError, DispatchError
from runtime.testing import MockRuntime

ED = Balances.EXISTENTIAL_DEPOSIT
TOKEN = 10**12


@pytest.fixture
def api(mock_runtime) -> Balances:
    return mock_runtime.balances


def refused(rt: MockRuntime, error: type[DispatchError], action) -> None:
    """`action` raises `error` and changes neither the state nor the events."""
    root, events = rt.state_root(), len(rt.events())
    with pytest.raises(error):
        action()
    assert rt.state_root() == root
    assert len(rt.events()) == events


def test_hold_works(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    free = rt.free_balance("bob")
    api.hold(bob, "stake", 5 * TOKEN)
    api.hold(bob, "stake", TOKEN)
    api.hold(bob, "deposit", 2 * TOKEN)
    info = rt.account_info("bob")
    assert (info.free, info.held) == (free - 8 * TOKEN, 8 * TOKEN)
    assert api.held_balance(bob, "stake") == 6 * TOKEN
    assert api.held_balance(bob) == 8 * TOKEN
    assert rt.last_event() == Balances.Held(who=bob, reason="deposit", amount=2 * TOKEN)


def test_hold_fails_when_free_balance_is_short(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    refused(rt, Balances.InsufficientBalance, lambda: api.hold(bob, "stake", rt.free_balance("bob") + 1))
    refused(rt, Balances.InsufficientBalance, lambda: api.hold(rt.account("nobody"), "stake", 1))


def test_hold_fails_when_the_amount_is_zero(mock_runtime, api):
    refused(mock_runtime, Balances.ZeroAmount, lambda: api.hold(mock_runtime.account("bob"), "stake", 0))


def test_release_works(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    free = rt.free_balance("bob")
    api.hold(bob, "stake", 5 * TOKEN)
    api.release(bob, "stake", 2 * TOKEN)
    assert api.held_balance(bob, "stake") == 3 * TOKEN
    api.release(bob, "stake", 3 * TOKEN)
    assert api.held_balance(bob, "stake") == 0
    assert list(api.holds.iter_prefix(bob)) == []  # an emptied hold is removed
    assert rt.free_balance("bob") == free
    assert rt.last_event() == Balances.Released(who=bob, reason="stake", amount=3 * TOKEN)


def test_release_fails_when_less_is_held(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    api.hold(bob, "stake", TOKEN)
    refused(rt, Balances.InsufficientHeld, lambda: api.release(bob, "stake", TOKEN + 1))
    refused(rt, Balances.InsufficientHeld, lambda: api.release(bob, "other", 1))
    refused(rt, Balances.ZeroAmount, lambda: api.release(bob, "stake", 0))


def test_slash_held_works(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    api.hold(bob, "stake", 4 * TOKEN)
    issuance = api.total_issuance.get()
    api.slash_held(bob, "stake", TOKEN)
    assert api.total_issuance.get() == issuance - TOKEN
    assert api.held_balance(bob, "stake") == 3 * TOKEN
    assert rt.last_event() == Balances.Slashed(who=bob, reason="stake", amount=TOKEN)


def test_slash_held_works_reaping_the_dust_left_behind(mock_runtime, api):
    rt, who = mock_runtime, mock_runtime.account("staker")
    rt.call("root", "Balances.force_set_balance", who=who, new_free=3 * ED)
    api.hold(who, "stake", 3 * ED - 5)  # 5 stays free
    issuance = api.total_issuance.get()
    api.slash_held(who, "stake", 3 * ED - 5)
    assert rt.account_info("staker").total == 0
    assert api.total_issuance.get() == issuance - 3 * ED


def test_slash_held_fails_when_less_is_held(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    api.hold(bob, "stake", TOKEN)
    refused(rt, Balances.InsufficientHeld, lambda: api.slash_held(bob, "stake", 2 * TOKEN))


def test_transfer_held_works(mock_runtime, api):
    rt, bob, carol = mock_runtime, mock_runtime.account("bob"), mock_runtime.account("charlie")
    api.hold(bob, "stake", 4 * TOKEN)
    carol_free, issuance = rt.free_balance("charlie"), api.total_issuance.get()
    api.transfer_held(bob, "stake", carol, 3 * TOKEN)
    assert rt.free_balance("charlie") == carol_free + 3 * TOKEN
    assert api.held_balance(bob, "stake") == TOKEN
    assert api.total_issuance.get() == issuance
    assert rt.last_event() == Balances.HeldTransferred(
        sender=bob, dest=carol, reason="stake", amount=3 * TOKEN
    )


def test_transfer_held_works_to_oneself(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    free = rt.free_balance("bob")
    api.hold(bob, "stake", 2 * TOKEN)
    api.transfer_held(bob, "stake", bob, 2 * TOKEN)
    assert rt.account_info("bob").free == free
    assert rt.account_info("bob").held == 0


def test_transfer_held_fails_when_it_would_create_a_dust_account(mock_runtime, api):
    rt, bob = mock_runtime, mock_runtime.account("bob")
    api.hold(bob, "stake", TOKEN)
    refused(
        rt, Balances.ExistentialDeposit, lambda: api.transfer_held(bob, "stake", rt.account("new"), ED - 1)
    )
    refused(
        rt, Balances.InsufficientHeld, lambda: api.transfer_held(bob, "stake", rt.account("new"), 2 * TOKEN)
    )


def test_hold_reasons_are_bounded(mock_runtime, api):
    with pytest.raises(CodecError):
        api.hold(mock_runtime.account("bob"), "r" * 33, TOKEN)


def test_release_works_reaping_the_dust_left_behind(mock_runtime, api):
    """Held funds keep an account alive; once the last hold is released, dust below ED is burned."""
    rt, who = mock_runtime, mock_runtime.account("zed")
    rt.call("root", "Balances.force_set_balance", who=who, new_free=ED)
    api.hold(who, "stake", 1)
    rt.call("zed", "Balances.transfer", dest=rt.account("bob"), value=ED - 2)
    assert (rt.account_info("zed").free, rt.account_info("zed").held) == (1, 1)  # alive thanks to the hold
    issuance = api.total_issuance.get()
    api.release(who, "stake", 1)
    assert rt.account_info("zed").total == 0
    assert who not in rt.runtime.system.account
    assert api.total_issuance.get() == issuance - 2
    assert Balances.DustLost(who=who, amount=2) in rt.events()
    assert rt.last_event() == Balances.Released(who=who, reason="stake", amount=1)
