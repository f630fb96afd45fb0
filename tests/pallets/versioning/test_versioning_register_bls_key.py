"""Versioning.register_bls_key: a BLS key is accepted only with a valid proof of possession."""

from __future__ import annotations

from versioning_helpers import V, bls_key, versioning

from pallets.versioning import Versioning
from runtime import bls
from runtime.testing import assert_noop, assert_ok


def test_register_bls_key_works(rt):
    _, pk, pop = bls_key("bob")
    assert_ok(rt.call("bob", f"{V}.register_bls_key", public_key=pk, pop=pop))
    bob = rt.account("bob")
    assert versioning(rt).bls_keys[bob] == pk
    assert rt.last_event() == Versioning.BlsKeyRegistered(who=bob, public_key=pk)


def test_register_bls_key_fails_when_the_pop_is_for_another_key(rt):
    _, pk, _ = bls_key("bob")
    _, _, other_pop = bls_key("mallory")
    result = rt.call("bob", f"{V}.register_bls_key", public_key=pk, pop=other_pop)
    assert_noop(result, Versioning.InvalidProofOfPossession)


def test_register_bls_key_fails_when_the_pop_is_a_plain_signature(rt):
    sk, pk, _ = bls_key("bob")
    result = rt.call("bob", f"{V}.register_bls_key", public_key=pk, pop=bls.sign(sk, pk))
    assert_noop(result, Versioning.InvalidProofOfPossession)


def test_register_bls_key_fails_when_the_key_is_not_a_point(rt):
    _, _, pop = bls_key("bob")
    result = rt.call("bob", f"{V}.register_bls_key", public_key=b"\x01" * 48, pop=pop)
    assert_noop(result, Versioning.InvalidProofOfPossession)
