"""Sudo.sudo: the root key dispatches a call with the root origin; the inner call's failure is reported
in the Sudid event, not raised."""

from __future__ import annotations

import dataclasses

from pallets.balances import Balances
from pallets.sudo import Sudo
from pallets.system import System
from runtime.errors import BadOrigin, DispatchError
from runtime.pallet import Event, Origin, Pallet, call
from runtime.storage.items import StorageValue
from runtime.testing import assert_noop, assert_ok, build_runtime
from runtime.types import U32

ED = Balances.EXISTENTIAL_DEPOSIT


class Guarded(Pallet):
    """A test pallet with root calls: one records the origin it saw, one writes and then fails."""

    name, index = "Guarded", 61

    origins: StorageValue[list[str]] = StorageValue(list[str], default=[], doc="Origin kinds seen.")
    value: StorageValue[int] = StorageValue(U32, default=0, doc="Written by fail_after_write.")

    @dataclasses.dataclass(frozen=True)
    class Touched(Event):
        """fail_after_write got as far as its event."""

        value: U32

    class Nope(DispatchError):
        """Failed on purpose."""

    @call(index=0, weight=1_000, origin="root")
    def whoami(self, origin: Origin) -> None:
        """Record the origin kind (root only)."""
        origin.ensure_root()
        self.origins.mutate(lambda seen: [*seen, origin.kind])

    @call(index=1, weight=1_000, origin="root")
    def fail_after_write(self, origin: Origin, value: U32) -> None:
        """Write, emit, then fail."""
        origin.ensure_root()
        self.value.set(value)
        self.deposit_event(self.Touched(value=value))
        raise self.Nope("on purpose")


def sudo(rt, sender: str, name: str, /, **kwargs):
    return rt.call(sender, "Sudo.sudo", call=rt.runtime.make_call(name, **kwargs))


def test_sudo_works(mock_runtime):
    rt = mock_runtime
    bob = rt.account("bob")
    assert_ok(sudo(rt, "alice", "Balances.force_set_balance", who=bob, new_free=42 * ED))
    assert rt.free_balance("bob") == 42 * ED
    assert rt.events()[-2:] == [
        Balances.BalanceSet(who=bob, free=42 * ED),
        Sudo.Sudid(call="Balances.force_set_balance", error=""),
    ]


def test_sudo_works_running_the_inner_call_as_root():
    rt = build_runtime(Guarded)
    assert_ok(sudo(rt, "alice", "Guarded.whoami"))
    assert rt.pallet(Guarded).origins.get() == ["root"]
    assert_noop(rt.call("alice", "Guarded.whoami"), DispatchError)  # signed directly: refused


def test_sudo_works_as_a_signed_extrinsic(mock_runtime):
    rt = mock_runtime
    inner = rt.runtime.make_call("Balances.force_set_balance", who=rt.account("eve"), new_free=3 * ED)
    result = rt.submit("alice", "Sudo.sudo", call=inner)
    assert_ok(result)
    assert rt.free_balance("eve") == 3 * ED
    base = rt.runtime.fees.extrinsic_base_weight
    assert result.weight == base + 10_000 + 30_000  # sudo's own weight plus the inner call's
    assert rt.events()[-2] == Sudo.Sudid(call="Balances.force_set_balance", error="")


def test_sudo_works_reporting_the_inner_failure():
    rt = build_runtime(Guarded)
    mark = len(rt.events())
    assert_ok(sudo(rt, "alice", "Guarded.fail_after_write", value=7))
    assert rt.pallet(Guarded).value.get() == 0  # the inner call's write is rolled back
    assert rt.events()[mark:] == [Sudo.Sudid(call="Guarded.fail_after_write", error="Guarded.Nope")]


def test_sudo_works_reporting_an_inner_bad_origin(mock_runtime):
    rt = mock_runtime
    before = rt.free_balance("alice")
    assert_ok(sudo(rt, "alice", "Balances.transfer", dest=rt.account("bob"), value=ED))  # root can't transfer
    assert rt.free_balance("alice") == before
    assert rt.last_event() == Sudo.Sudid(call="Balances.transfer", error="System.BadOrigin")


def test_sudo_works_reporting_the_inner_failure_in_an_extrinsic():
    rt = build_runtime(Guarded)
    inner = rt.runtime.make_call("Guarded.fail_after_write", value=9)
    result = rt.submit("alice", "Sudo.sudo", call=inner)
    assert_ok(result)  # sudo itself succeeded
    assert rt.pallet(Guarded).value.get() == 0
    assert rt.events()[-2:] == [
        Sudo.Sudid(call="Guarded.fail_after_write", error="Guarded.Nope"),
        System.ExtrinsicSuccess(weight=result.weight, fee=result.fee),
    ]


def test_sudo_fails_when_the_sender_is_not_the_key(mock_runtime):
    rt = mock_runtime
    bob = rt.account("bob")
    assert_noop(
        sudo(rt, "bob", "Balances.force_set_balance", who=bob, new_free=10**18 * 10), Sudo.RequireSudo
    )
    result = rt.submit(
        "bob",
        "Sudo.sudo",
        call=rt.runtime.make_call("Balances.force_set_balance", who=bob, new_free=10**18 * 10),
    )
    assert result.error == "Sudo.RequireSudo"
    assert rt.free_balance("bob") < 10**18 * 10


def test_sudo_fails_when_the_origin_is_root(mock_runtime):
    rt = mock_runtime
    inner = rt.runtime.make_call("Balances.force_set_balance", who=rt.account("bob"), new_free=ED)
    assert_noop(rt.call("root", "Sudo.sudo", call=inner), BadOrigin)


def test_sudo_fails_when_no_key_is_set():
    genesis = {"Sudo": {}}
    rt = build_runtime(genesis=genesis)
    assert rt.pallet(Sudo).key.get() is None
    assert_noop(
        sudo(rt, "alice", "Balances.force_set_balance", who=rt.account("bob"), new_free=ED), Sudo.RequireSudo
    )
