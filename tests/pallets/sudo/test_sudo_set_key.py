"""Sudo.set_key: the root key hands itself to another account."""

from __future__ import annotations

from pallets.balances import Balances
from pallets.sudo import Sudo
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok

ED = Balances.EXISTENTIAL_DEPOSIT


def force(rt, who: str):
    inner = rt.runtime.make_call("Balances.force_set_balance", who=rt.account("dave"), new_free=2 * ED)
    return rt.call(who, "Sudo.sudo", call=inner)


def test_set_key_works(mock_runtime):
    rt = mock_runtime
    alice, bob = rt.account("alice"), rt.account("bob")
    assert rt.pallet(Sudo).key.get() == alice
    assert_ok(rt.call("alice", "Sudo.set_key", new=bob))
    assert rt.pallet(Sudo).key.get() == bob
    assert rt.last_event() == Sudo.KeyChanged(old=alice, new=bob)
    assert_noop(force(rt, "alice"), Sudo.RequireSudo)
    assert_ok(force(rt, "bob"))


def test_set_key_works_as_a_signed_extrinsic_and_persists(mock_runtime):
    rt = mock_runtime
    assert_ok(rt.submit("alice", "Sudo.set_key", new=rt.account("charlie")))
    rt.next_block()
    assert rt.pallet(Sudo).key.get() == rt.account("charlie")
    key = rt.pallet(Sudo).key.storage_key
    assert rt.runtime.overlay.backend_value(key) is not None


def test_set_key_fails_when_the_sender_is_not_the_key(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("bob", "Sudo.set_key", new=rt.account("bob")), Sudo.RequireSudo)
    assert rt.pallet(Sudo).key.get() == rt.account("alice")


def test_set_key_fails_when_the_origin_is_root(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("root", "Sudo.set_key", new=rt.account("bob")), BadOrigin)


def test_set_key_fails_for_the_old_key_once_handed_on(mock_runtime):
    rt = mock_runtime
    assert_ok(rt.call("alice", "Sudo.set_key", new=rt.account("bob")))
    assert_noop(rt.call("alice", "Sudo.set_key", new=rt.account("alice")), Sudo.RequireSudo)
