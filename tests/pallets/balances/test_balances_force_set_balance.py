"""Balances.force_set_balance: root sets a free balance, minting or burning the difference."""

from __future__ import annotations

from pallets.balances import Balances
from pallets.sudo import Sudo
from pallets.system import System
from runtime.errors import BadOrigin, Overflow
from runtime.testing import assert_noop, assert_ok, build_runtime
from runtime.types import U64_MAX

ED = Balances.EXISTENTIAL_DEPOSIT
TOKEN = 10**12


def issuance(rt) -> int:
    return rt.balances.total_issuance.get()


def test_force_set_balance_works_minting(mock_runtime):
    rt = mock_runtime
    bob = rt.account("bob")
    before, total = rt.free_balance("bob"), issuance(rt)
    assert_ok(rt.call("root", "Balances.force_set_balance", who=bob, new_free=before + 7 * TOKEN))
    assert rt.free_balance("bob") == before + 7 * TOKEN
    assert issuance(rt) == total + 7 * TOKEN
    assert rt.last_event() == Balances.BalanceSet(who=bob, free=before + 7 * TOKEN)


def test_force_set_balance_works_burning(mock_runtime):
    rt = mock_runtime
    bob = rt.account("bob")
    before, total = rt.free_balance("bob"), issuance(rt)
    assert_ok(rt.call("root", "Balances.force_set_balance", who=bob, new_free=ED))
    assert rt.free_balance("bob") == ED
    assert issuance(rt) == total - (before - ED)


def test_force_set_balance_works_creating_an_account(mock_runtime):
    rt = mock_runtime
    total = issuance(rt)
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account("newcomer"), new_free=2 * ED))
    assert rt.free_balance("newcomer") == 2 * ED
    assert issuance(rt) == total + 2 * ED


def test_force_set_balance_works_removing_an_account_below_the_existential_deposit(mock_runtime):
    rt = mock_runtime
    carol = rt.account("charlie")
    before, total = rt.free_balance("charlie"), issuance(rt)
    assert_ok(rt.call("root", "Balances.force_set_balance", who=carol, new_free=ED - 1))
    assert rt.free_balance("charlie") == 0
    assert carol not in rt.runtime.system.account
    assert issuance(rt) == total - before
    assert rt.last_event() == Balances.BalanceSet(who=carol, free=0)


def test_force_set_balance_works_keeping_holds(mock_runtime):
    rt = mock_runtime
    dave = rt.account("dave")
    rt.balances.hold(dave, "stake", 3 * ED)
    assert_ok(rt.call("root", "Balances.force_set_balance", who=dave, new_free=1))
    info = rt.account_info("dave")
    assert (info.free, info.held) == (1, 3 * ED)


def test_force_set_balance_works_through_sudo_as_an_extrinsic(mock_runtime):
    rt = mock_runtime
    inner = rt.runtime.make_call("Balances.force_set_balance", who=rt.account("eve"), new_free=5 * ED)
    assert_ok(rt.submit("alice", "Sudo.sudo", call=inner))
    assert rt.free_balance("eve") == 5 * ED
    assert isinstance(rt.last_event(), System.ExtrinsicSuccess)
    assert Sudo.Sudid(call="Balances.force_set_balance", error="") in rt.events()


def test_force_set_balance_fails_when_the_origin_is_signed(mock_runtime):
    rt = mock_runtime
    assert_noop(
        rt.call("alice", "Balances.force_set_balance", who=rt.account("alice"), new_free=U64_MAX // 2),
        BadOrigin,
    )


def test_force_set_balance_fails_when_the_origin_is_none(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call(None, "Balances.force_set_balance", who=rt.account("bob"), new_free=ED), BadOrigin)


def test_force_set_balance_fails_when_signed_as_an_extrinsic(mock_runtime):
    rt = mock_runtime
    before = rt.free_balance("bob")
    result = rt.submit("bob", "Balances.force_set_balance", who=rt.account("bob"), new_free=before * 2)
    assert result.error == "System.BadOrigin"
    assert rt.free_balance("bob") == before - result.fee


def test_force_set_balance_fails_when_issuance_would_overflow():
    rt = build_runtime()
    total = issuance(rt)
    bob_free = rt.free_balance("bob")
    limit = U64_MAX - (total - bob_free)
    assert_noop(
        rt.call("root", "Balances.force_set_balance", who=rt.account("bob"), new_free=limit + 1), Overflow
    )
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account("bob"), new_free=limit))
    assert issuance(rt) == U64_MAX
    rt.check_invariants()
