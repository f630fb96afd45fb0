"""Balances.transfer_keep_alive: like transfer, but never takes the sender below the existential deposit."""

from __future__ import annotations

from pallets.balances import Balances
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok

ED = Balances.EXISTENTIAL_DEPOSIT
TOKEN = 10**12


def fund(rt, name: str, amount: int) -> None:
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account(name), new_free=amount))


def test_transfer_keep_alive_works(mock_runtime):
    rt = mock_runtime
    alice, bob = rt.account("alice"), rt.account("bob")
    before = rt.free_balance("bob")
    assert_ok(rt.call("alice", "Balances.transfer_keep_alive", dest=bob, value=TOKEN))
    assert rt.free_balance("bob") == before + TOKEN
    assert rt.last_event() == Balances.Transfer(sender=alice, dest=bob, amount=TOKEN)


def test_transfer_keep_alive_works_leaving_exactly_the_existential_deposit(mock_runtime):
    rt = mock_runtime
    fund(rt, "saver", 3 * ED)
    assert_ok(rt.call("saver", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=2 * ED))
    assert rt.free_balance("saver") == ED


def test_transfer_keep_alive_works_counting_held_balance(mock_runtime):
    rt = mock_runtime
    fund(rt, "saver", 3 * ED)
    rt.balances.hold(rt.account("saver"), "stake", ED)
    assert_ok(rt.call("saver", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=2 * ED))
    assert rt.account_info("saver").free == 0
    assert rt.account_info("saver").held == ED


def test_transfer_keep_alive_fails_when_the_sender_would_drop_below_the_existential_deposit(mock_runtime):
    rt = mock_runtime
    fund(rt, "saver", 3 * ED)
    assert_noop(
        rt.call("saver", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=2 * ED + 1),
        Balances.KeepAlive,
    )
    assert_noop(
        rt.call("saver", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=3 * ED),
        Balances.KeepAlive,
    )


def test_transfer_keep_alive_fails_when_the_balance_is_insufficient(mock_runtime):
    rt = mock_runtime
    fund(rt, "saver", 3 * ED)
    assert_noop(
        rt.call("saver", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=3 * ED + 1),
        Balances.InsufficientBalance,
    )


def test_transfer_keep_alive_fails_when_the_amount_is_zero(mock_runtime):
    rt = mock_runtime
    assert_noop(
        rt.call("alice", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=0), Balances.ZeroAmount
    )


def test_transfer_keep_alive_fails_when_it_would_create_a_dust_account(mock_runtime):
    rt = mock_runtime
    assert_noop(
        rt.call("alice", "Balances.transfer_keep_alive", dest=rt.account("newcomer"), value=ED - 1),
        Balances.ExistentialDeposit,
    )


def test_transfer_keep_alive_fails_when_the_origin_is_root(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("root", "Balances.transfer_keep_alive", dest=rt.account("bob"), value=1), BadOrigin)


def test_transfer_keep_alive_fails_as_an_extrinsic_and_keeps_the_fee(mock_runtime):
    rt = mock_runtime
    bob = rt.account("bob")
    first = rt.submit(
        "ferdie", "Balances.transfer_keep_alive", dest=bob, value=rt.free_balance("ferdie") // 2
    )
    assert_ok(first)
    after = rt.free_balance("ferdie")
    value = after - first.fee - ED + 1  # affordable once the (same) fee is paid, but leaves ED - 1
    result = rt.submit("ferdie", "Balances.transfer_keep_alive", dest=bob, value=value)
    assert result.fee == first.fee
    assert result.error == "Balances.KeepAlive"
    assert rt.free_balance("ferdie") == after - result.fee
