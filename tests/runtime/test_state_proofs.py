"""State proofs: Runtime.prove after a committed block, verified by runtime.trie.verify_proof for present
and absent System.account keys, and refused for tampered values or another state root."""

from __future__ import annotations

import pytest

from pallets.system import AccountInfo
from runtime import types
from runtime.crypto import DEV_ACCOUNT_NAMES
from runtime.testing import MockRuntime, assert_ok, build_runtime
from runtime.trie import ProofError, verify_proof, verify_proof_multi

VALUE_TAG = 0x02


@pytest.fixture
def rt() -> MockRuntime:
    runtime = build_runtime()
    assert_ok(runtime.submit("alice", "Balances.transfer", dest=runtime.account("newcomer"), value=10**12))
    assert_ok(runtime.submit("bob", "System.remark", remark=b"proof"))
    runtime.next_block()  # block 1 is committed; block 2 is open
    return runtime


def account_key(rt: MockRuntime, name: str) -> bytes:
    return rt.runtime.system.account.key(rt.account(name))


def head_root(rt: MockRuntime) -> bytes:
    return rt.runtime.head.state_root


@pytest.mark.parametrize("name", [*DEV_ACCOUNT_NAMES, "newcomer"])
def test_present_account_is_proven(rt, name):
    key = account_key(rt, name)
    proof = rt.runtime.prove([key])
    value = verify_proof(head_root(rt), key, proof)
    assert value is not None
    assert value == rt.runtime.overlay.backend_value(key)
    info = types.decode(AccountInfo, value)
    assert info.free > 0


def test_proven_value_is_the_committed_one_not_the_pending_one(rt):
    key = account_key(rt, "charlie")
    committed = rt.runtime.overlay.backend_value(key)
    assert_ok(rt.submit("charlie", "System.remark", remark=b"pending"))  # changes charlie in block 2
    assert rt.runtime.read(key) != committed
    assert verify_proof(head_root(rt), key, rt.runtime.prove([key])) == committed


def test_newcomer_proof_reflects_the_transfer(rt):
    key = account_key(rt, "newcomer")
    info = types.decode(AccountInfo, verify_proof(head_root(rt), key, rt.runtime.prove([key])))
    assert info == AccountInfo(nonce=0, free=10**12, held=0)


@pytest.mark.parametrize("name", ["nobody", "mallory", "ghost"])
def test_absent_account_is_proven_absent(rt, name):
    key = account_key(rt, name)
    assert rt.runtime.read(key) is None
    proof = rt.runtime.prove([key])
    assert proof  # at least the root branch
    assert verify_proof(head_root(rt), key, proof) is None


def test_many_keys_in_one_proof(rt):
    keys = [account_key(rt, n) for n in ("alice", "bob", "nobody", "newcomer")]
    proof = rt.runtime.prove(keys)
    values = verify_proof_multi(head_root(rt), keys, proof)
    assert values[keys[2]] is None
    assert all(values[k] == rt.runtime.overlay.backend_value(k) for k in keys)


def test_other_storage_items_are_provable(rt):
    system = rt.runtime.system
    for key in (system.number.storage_key, system.timestamp.storage_key, system.events.storage_key):
        assert verify_proof(head_root(rt), key, rt.runtime.prove([key])) == rt.runtime.overlay.backend_value(
            key
        )


def tamper_value(proof: list[bytes]) -> list[bytes]:
    tampered = []
    for node in proof:
        if node[0] == VALUE_TAG:
            node = node[:-1] + bytes([node[-1] ^ 1])
        tampered.append(node)
    assert tampered != proof
    return tampered


def test_proof_fails_when_the_value_is_tampered(rt):
    key = account_key(rt, "alice")
    proof = rt.runtime.prove([key])
    with pytest.raises(ProofError):
        verify_proof(head_root(rt), key, tamper_value(proof))


def test_proof_fails_when_the_value_is_replaced_by_another_accounts(rt):
    alice, bob = account_key(rt, "alice"), account_key(rt, "bob")
    proof = rt.runtime.prove([alice])
    other_value = rt.runtime.overlay.backend_value(bob)
    swapped = [bytes([VALUE_TAG]) + other_value if n[0] == VALUE_TAG else n for n in proof]
    with pytest.raises(ProofError):
        verify_proof(head_root(rt), alice, swapped)


def test_proof_fails_when_a_branch_is_tampered(rt):
    key = account_key(rt, "alice")
    proof = rt.runtime.prove([key])
    tampered = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    with pytest.raises(ProofError):
        verify_proof(head_root(rt), key, tampered)


def test_proof_fails_when_the_value_node_is_missing(rt):
    key = account_key(rt, "alice")
    proof = [n for n in rt.runtime.prove([key]) if n[0] != VALUE_TAG]
    with pytest.raises(ProofError):
        verify_proof(head_root(rt), key, proof)


def test_proof_fails_against_another_root(rt):
    genesis_root = build_runtime().runtime.head.state_root  # the same chain at genesis
    assert genesis_root != head_root(rt)
    key = account_key(rt, "alice")
    proof = rt.runtime.prove([key])
    with pytest.raises(ProofError):
        verify_proof(genesis_root, key, proof)
    with pytest.raises(ProofError):
        verify_proof(bytes(32), key, proof)
    absent = account_key(rt, "nobody")
    with pytest.raises(ProofError):
        verify_proof(genesis_root, absent, rt.runtime.prove([absent]))


def test_older_roots_stay_provable_after_more_blocks(rt):
    key = account_key(rt, "alice")
    first_root = head_root(rt)
    first_value = rt.runtime.overlay.backend_value(key)
    first_proof = rt.runtime.prove([key])
    assert_ok(rt.submit("alice", "System.remark", remark=b"later"))
    rt.next_block()
    assert head_root(rt) != first_root
    assert verify_proof(first_root, key, first_proof) == first_value
    new_value = verify_proof(head_root(rt), key, rt.runtime.prove([key]))
    assert new_value != first_value
    with pytest.raises(ProofError):
        verify_proof(head_root(rt), key, first_proof)
