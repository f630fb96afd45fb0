"""Balances.transfer: move free balance; the sender may fall below the existential deposit (and is reaped)."""

from __future__ import annotations

from pallets.balances import Balances
from pallets.system import AccountInfo, System
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok

ED = Balances.EXISTENTIAL_DEPOSIT
TOKEN = 10**12


def test_transfer_works(mock_runtime):
    rt = mock_runtime
    alice, bob = rt.account("alice"), rt.account("bob")
    before_alice, before_bob = rt.free_balance("alice"), rt.free_balance("bob")
    issuance = rt.balances.total_issuance.get()

    assert_ok(rt.call("alice", "Balances.transfer", dest=bob, value=3 * TOKEN))

    assert rt.free_balance("alice") == before_alice - 3 * TOKEN
    assert rt.free_balance("bob") == before_bob + 3 * TOKEN
    assert rt.balances.total_issuance.get() == issuance
    assert rt.last_event() == Balances.Transfer(sender=alice, dest=bob, amount=3 * TOKEN)


def test_transfer_works_creating_an_account(mock_runtime):
    rt = mock_runtime
    newcomer = rt.account("newcomer")
    assert rt.account_info("newcomer") == AccountInfo(0, 0, 0)
    assert_ok(rt.call("alice", "Balances.transfer", dest=newcomer, value=ED))
    assert rt.account_info("newcomer") == AccountInfo(0, ED, 0)


def test_transfer_works_reaping_the_sender_below_the_existential_deposit(mock_runtime):
    rt = mock_runtime
    sender = rt.account("sender")
    assert_ok(rt.call("root", "Balances.force_set_balance", who=sender, new_free=5 * ED))
    issuance = rt.balances.total_issuance.get()

    assert_ok(rt.call("sender", "Balances.transfer", dest=rt.account("bob"), value=5 * ED - 10))

    assert rt.account_info("sender") == AccountInfo(0, 0, 0)
    assert sender not in rt.runtime.system.account
    assert rt.balances.total_issuance.get() == issuance - 10  # the dust is burned
    assert Balances.DustLost(who=sender, amount=10) in rt.events()


def test_transfer_works_sending_everything(mock_runtime):
    rt = mock_runtime
    everything = rt.free_balance("eve")
    assert_ok(rt.call("eve", "Balances.transfer", dest=rt.account("ferdie"), value=everything))
    assert rt.free_balance("eve") == 0
    assert rt.account("eve") not in rt.runtime.system.account


def test_transfer_works_to_oneself_without_changing_anything_but_events(mock_runtime):
    rt = mock_runtime
    before = rt.account_info("bob")
    assert_ok(rt.call("bob", "Balances.transfer", dest=rt.account("bob"), value=TOKEN))
    assert rt.account_info("bob") == before


def test_transfer_works_as_a_signed_extrinsic(mock_runtime):
    rt = mock_runtime
    before = rt.free_balance("charlie")
    result = rt.submit("bob", "Balances.transfer", dest=rt.account("charlie"), value=TOKEN)
    assert_ok(result)
    assert rt.free_balance("charlie") == before + TOKEN
    assert rt.last_event() == System.ExtrinsicSuccess(weight=result.weight, fee=result.fee)
    assert rt.account_info("bob").nonce == 1


def test_transfer_fails_when_the_balance_is_insufficient(mock_runtime):
    rt = mock_runtime
    too_much = rt.free_balance("alice") + 1
    assert_noop(
        rt.call("alice", "Balances.transfer", dest=rt.account("bob"), value=too_much),
        Balances.InsufficientBalance,
    )


def test_transfer_fails_when_held_funds_would_be_needed(mock_runtime):
    rt = mock_runtime
    balances = rt.balances
    free = rt.free_balance("dave")
    balances.hold(rt.account("dave"), "stake", free // 2)
    assert_noop(
        rt.call("dave", "Balances.transfer", dest=rt.account("bob"), value=free // 2 + 1),
        Balances.InsufficientBalance,
    )


def test_transfer_fails_when_the_sender_does_not_exist(mock_runtime):
    rt = mock_runtime
    assert_noop(
        rt.call("nobody", "Balances.transfer", dest=rt.account("bob"), value=1),
        Balances.InsufficientBalance,
    )


def test_transfer_fails_when_the_amount_is_zero(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("alice", "Balances.transfer", dest=rt.account("bob"), value=0), Balances.ZeroAmount)


def test_transfer_fails_when_it_would_create_an_account_below_the_existential_deposit(mock_runtime):
    rt = mock_runtime
    assert_noop(
        rt.call("alice", "Balances.transfer", dest=rt.account("newcomer"), value=ED - 1),
        Balances.ExistentialDeposit,
    )


def test_transfer_fails_when_the_origin_is_not_signed(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("root", "Balances.transfer", dest=rt.account("bob"), value=TOKEN), BadOrigin)
    assert_noop(rt.call(None, "Balances.transfer", dest=rt.account("bob"), value=TOKEN), BadOrigin)


def test_transfer_fails_when_submitted_with_too_little_balance(mock_runtime):
    rt = mock_runtime
    before = rt.free_balance("bob")
    result = rt.submit("bob", "Balances.transfer", dest=rt.account("charlie"), value=before)
    assert result.error == "Balances.InsufficientBalance"  # the fee comes first
    assert rt.free_balance("bob") == before - result.fee
