"""Dispatch: a failed call is rolled back while its fee and nonce stay charged; unused weight is refunded."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from pallets.balances import Balances
from pallets.system import System
from runtime.errors import CannotPayFees, DispatchError
from runtime.pallet import Event, Origin, Pallet, PostInfo, call, ensure
from runtime.storage.items import StorageMap, StorageValue
from runtime.testing import MockRuntime, assert_noop, assert_ok, build_runtime
from runtime.types import U32, AccountId, Balance

TOKEN = 10**12


class Faulty(Pallet):
    """A test pallet whose calls write, emit events and then (maybe) fail."""

    name, index = "Faulty", 60

    counter: StorageValue[int] = StorageValue(U32, default=0, doc="Bumped by every call.")
    marks: StorageMap[AccountId, int] = StorageMap(AccountId, U32, doc="Written by write_then_fail.")

    @dataclasses.dataclass(frozen=True)
    class Bumped(Event):
        """The counter went up."""

        value: U32

    class Boom(DispatchError):
        """The call failed on purpose after writing."""

    @call(index=0, weight=20_000)
    def write_then_fail(self, origin: Origin, fail: bool) -> None:
        """Write storage, emit an event, move balance, then fail when asked."""
        who = origin.ensure_signed()
        value = self.counter.mutate(lambda n: n + 1)
        self.marks[who] = value
        self.deposit_event(self.Bumped(value=value))
        balances = self.runtime.pallet(Balances)
        balances.do_transfer(who, MockRuntime.account("dave"), TOKEN, keep_alive=True)
        ensure(not fail, self.Boom)

    @call(index=1, weight=1_000_000)
    def light(self, origin: Origin, used: U32) -> PostInfo:
        """Declares a heavy weight but reports `used`."""
        origin.ensure_signed()
        self.counter.mutate(lambda n: n + 1)
        return PostInfo(actual_weight=used)

    @call(index=2, weight=1_000_000)
    def unreported(self, origin: Origin) -> PostInfo:
        """Returns PostInfo without a weight: the declared weight is charged."""
        origin.ensure_signed()
        return PostInfo()

    @call(index=4, weight=20_000)
    def crash(self, origin: Origin) -> None:
        """Writes, then hits a bug (an exception that is no DispatchError)."""
        origin.ensure_signed()
        self.counter.mutate(lambda n: n + 1)
        raise KeyError("a pallet bug")

    @call(index=3, weight=50_000)
    def pay(self, origin: Origin, dest: AccountId, value: Balance) -> None:
        """A transfer through the typed Balances API."""
        who = origin.ensure_signed()
        self.runtime.pallet(Balances).do_transfer(who, dest, value, keep_alive=False)


@pytest.fixture
def rt() -> Iterator[MockRuntime]:
    runtime = build_runtime(Faulty)
    yield runtime
    runtime.check_invariants()


def balances(rt: MockRuntime, *names: str) -> dict[str, int]:
    return {name: rt.free_balance(name) for name in names}


def events_since(rt: MockRuntime, mark: int) -> list[Event]:
    return rt.events()[mark:]


# --- a failed transfer: fee and nonce kept, nothing else -------------------------------------------


def test_failed_transfer_keeps_fee_and_nonce_and_nothing_else(rt):
    names = ("alice", "bob", "charlie", "dave")
    before = balances(rt, *names)
    nonce = rt.account_info("bob").nonce
    issuance = rt.balances.total_issuance.get()
    mark = len(rt.events())

    result = rt.submit("bob", "Balances.transfer", dest=rt.account("charlie"), value=before["bob"] + 1)

    assert result.error == "Balances.InsufficientBalance"
    assert result.fee > 0
    after = balances(rt, *names)
    assert after["bob"] == before["bob"] - result.fee
    assert after["alice"] == before["alice"] + result.fee  # alice authors the mock blocks
    assert after["charlie"] == before["charlie"]
    assert after["dave"] == before["dave"]
    assert rt.account_info("bob").nonce == nonce + 1
    assert rt.balances.total_issuance.get() == issuance
    assert events_since(rt, mark) == [
        System.ExtrinsicFailed(
            error="Balances.InsufficientBalance",
            message=Balances.InsufficientBalance.describe(),
            weight=result.weight,
            fee=result.fee,
        )
    ]


def test_successful_transfer_charges_the_fee_on_top(rt):
    before = balances(rt, "bob", "charlie", "alice")
    result = rt.submit("bob", "Balances.transfer", dest=rt.account("charlie"), value=5 * TOKEN)
    assert_ok(result)
    after = balances(rt, "bob", "charlie", "alice")
    assert after["bob"] == before["bob"] - 5 * TOKEN - result.fee
    assert after["charlie"] == before["charlie"] + 5 * TOKEN
    assert after["alice"] == before["alice"] + result.fee
    assert isinstance(rt.events()[-2], Balances.Transfer)
    assert rt.last_event() == System.ExtrinsicSuccess(weight=result.weight, fee=result.fee)


def test_failed_call_rolls_back_its_writes_and_events(rt):
    faulty = rt.pallet(Faulty)
    before = balances(rt, "bob", "dave", "alice")
    mark = len(rt.events())

    result = rt.submit("bob", "Faulty.write_then_fail", fail=True)

    assert result.error == "Faulty.Boom"
    assert faulty.counter.get() == 0
    assert rt.account("bob") not in faulty.marks
    after = balances(rt, "bob", "dave", "alice")
    assert after["dave"] == before["dave"]  # the transfer inside the call is undone too
    assert after["bob"] == before["bob"] - result.fee
    assert after["alice"] == before["alice"] + result.fee
    assert rt.account_info("bob").nonce == 1
    assert [type(e) for e in events_since(rt, mark)] == [System.ExtrinsicFailed]


def test_the_same_call_keeps_its_writes_when_it_succeeds(rt):
    faulty = rt.pallet(Faulty)
    before = balances(rt, "dave")
    mark = len(rt.events())
    assert_ok(rt.submit("bob", "Faulty.write_then_fail", fail=False))
    assert faulty.counter.get() == 1
    assert faulty.marks[rt.account("bob")] == 1
    assert rt.free_balance("dave") == before["dave"] + TOKEN
    assert [type(e) for e in events_since(rt, mark)] == [
        Faulty.Bumped,
        Balances.Transfer,
        System.ExtrinsicSuccess,
    ]


def test_direct_call_failure_is_a_noop(rt):
    assert_noop(rt.call("bob", "Faulty.write_then_fail", fail=True), Faulty.Boom)
    assert rt.pallet(Faulty).counter.get() == 0


def test_failures_in_one_extrinsic_leave_earlier_ones_alone(rt):
    assert_ok(rt.submit("bob", "Faulty.write_then_fail", fail=False))
    assert rt.submit("bob", "Faulty.write_then_fail", fail=True).error == "Faulty.Boom"
    assert_ok(rt.submit("charlie", "Faulty.write_then_fail", fail=False))
    faulty = rt.pallet(Faulty)
    assert faulty.counter.get() == 2
    assert faulty.marks[rt.account("bob")] == 1
    assert faulty.marks[rt.account("charlie")] == 2
    rt.next_block()
    assert faulty.counter.get() == 2


# --- weights and refunds ---------------------------------------------------------------------------


def expected_fee(rt: MockRuntime, length: int, weight: int, tip: int = 0) -> int:
    fees = rt.runtime.fees
    return fees.base + fees.per_byte * length + fees.per_weight * weight + tip


def test_unused_weight_is_refunded(rt):
    fees = rt.runtime.fees
    data = rt.sign("bob", "Faulty.light", used=100)
    before = rt.free_balance("bob")
    used_before = rt.runtime.system.block_weight.get()

    result = rt.push(data)

    assert_ok(result)
    assert result.weight == fees.extrinsic_base_weight + 100  # the base weight is never refunded
    assert result.fee == expected_fee(rt, len(data), fees.extrinsic_base_weight + 100)
    assert rt.free_balance("bob") == before - result.fee
    assert rt.runtime.system.block_weight.get() == used_before + result.weight
    assert rt.last_event() == System.ExtrinsicSuccess(weight=result.weight, fee=result.fee)


def test_refund_is_capped_at_the_declared_weight(rt):
    fees = rt.runtime.fees
    data = rt.sign("bob", "Faulty.light", used=5_000_000)
    before = rt.free_balance("bob")
    result = rt.push(data)
    declared = fees.extrinsic_base_weight + 1_000_000
    assert result.weight == declared
    assert result.fee == expected_fee(rt, len(data), declared)
    assert rt.free_balance("bob") == before - result.fee


def test_no_refund_without_a_reported_weight(rt):
    fees = rt.runtime.fees
    data = rt.sign("bob", "Faulty.unreported")
    result = rt.push(data)
    assert result.weight == fees.extrinsic_base_weight + 1_000_000
    assert result.fee == expected_fee(rt, len(data), result.weight)


def test_failed_call_pays_the_full_declared_weight(rt):
    fees = rt.runtime.fees
    data = rt.sign("bob", "Faulty.write_then_fail", fail=True)
    result = rt.push(data)
    assert result.weight == fees.extrinsic_base_weight + 20_000
    assert result.fee == expected_fee(rt, len(data), result.weight)


def test_tip_is_charged_and_paid_to_the_author(rt):
    data = rt.sign("bob", "System.remark", remark=b"tip", tip=12_345)
    before = balances(rt, "bob", "alice")
    result = rt.push(data)
    assert result.fee == expected_fee(rt, len(data), result.weight, tip=12_345)
    after = balances(rt, "bob", "alice")
    assert before["bob"] - after["bob"] == after["alice"] - before["alice"] == result.fee


def test_dispatch_through_typed_api_moves_balance(rt):
    assert_ok(rt.call("bob", "Faulty.pay", dest=rt.account("eve"), value=3 * TOKEN))
    assert rt.last_event() == Balances.Transfer(
        sender=rt.account("bob"), dest=rt.account("eve"), amount=3 * TOKEN
    )


def test_fee_payment_never_leaves_dust_below_the_existential_deposit(rt):
    """An account that pays a fee must either keep at least the existential deposit or be reaped (or
    the extrinsic must be refused with CannotPayFees, as Substrate's KeepAlive fee withdrawal does)."""
    ed = rt.balances.EXISTENTIAL_DEPOSIT
    probe = rt.sign("bob", "System.remark", remark=b"dust")
    fee = expected_fee(rt, len(probe), rt.runtime.fees.extrinsic_base_weight + 10_000 + 4)
    payer = rt.account("payer")
    assert_ok(rt.call("root", "Balances.force_set_balance", who=payer, new_free=ed + fee - 1))
    try:
        result = rt.submit("payer", "System.remark", remark=b"dust")
    except CannotPayFees:
        return
    assert result.fee == fee
    info = rt.account_info("payer")
    assert info.total == 0 or info.total >= ed, f"payer left with {info.total} < ED {ed}"


def test_a_pallet_bug_leaves_the_block_as_it_was_and_the_block_goes_on(rt):
    overlay = rt.runtime.overlay
    depth, nonce, free = overlay.depth, rt.account_info("bob").nonce, rt.free_balance("bob")
    root, events = rt.state_root(), len(rt.events())
    with pytest.raises(KeyError):
        rt.submit("bob", "Faulty.crash")
    assert overlay.depth == depth  # no layer left open by the call or by the extrinsic
    assert (rt.account_info("bob").nonce, rt.free_balance("bob")) == (nonce, free)  # no fee, no nonce
    assert rt.state_root() == root and len(rt.events()) == events
    assert_ok(rt.submit("bob", "Faulty.light", used=10))  # the block goes on and seals
    rt.next_block()
    assert rt.account_info("bob").nonce == nonce + 1
