"""Tests for service.chaindb: block records in the state's batch, the head, historic state and proofs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmu.node.chaindb import ChainDb, ChainDbError, history_puts
from pallets.balances import Balances
from runtime.crypto import dev_keypair
from runtime.executive import TRIE_PREFIX, Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import dev_spec
from runtime.storage.backend import LevelDBBackend, MemoryBackend
from runtime.trie import StateTrie, verify_proof

ALICE = dev_keypair("alice")
BOB = dev_keypair("bob").account


def author(rt: Runtime, db: ChainDb, transfers: int) -> None:
    """One block of `transfers` alice -> bob transfers, committed with its records."""
    spec = Balances.call_specs["transfer"]
    builder = rt.new_block(rt.head.timestamp + 1000, ALICE.account)
    nonce = rt.system.account_info(ALICE.account).nonce
    for i in range(transfers):
        data = sign_extrinsic(
            ALICE,
            [spec.pallet_index, spec.index, [bytes(BOB), 10**9]],
            nonce=nonce + i,
            genesis_hash=rt.genesis_hash,
            spec_version=rt.VERSION.spec_version,
        )
        builder.push(data)
    pending = builder.finish(ALICE)
    rt.commit(pending, extra_puts=db.block_records(pending, finalize=True))
    db.advance(pending.header, finalize=True)


def open_memory() -> tuple[Runtime, ChainDb]:
    rt = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    db = ChainDb(rt.backend)
    db.open(rt.head)
    return rt, db


def test_open_works_and_stores_genesis() -> None:
    rt, db = open_memory()
    assert db.head.best_hash == rt.genesis_hash == db.hash_at(0)
    genesis = db.block(rt.genesis_hash)
    assert genesis is not None and genesis.header == rt.head and genesis.extrinsics == ()


def test_block_records_work() -> None:
    rt, db = open_memory()
    author(rt, db, 2)
    head = db.head
    assert head.best.number == 1 and head.final_hash == head.best_hash == rt.head.hash()
    block = db.block(head.best_hash)
    assert block is not None and len(block.extrinsics) == 3
    assert db.hash_at(1) == head.best_hash and db.hash_at(2) is None


def test_state_at_answers_for_every_block() -> None:
    rt, db = open_memory()
    key = rt.system.account.key(BOB)
    values = [db.state_at(key, 0)]
    for _ in range(3):
        author(rt, db, 1)
        values.append(rt.backend.get(b"S" + key))
    assert values[0] is not None and len(set(values)) == 4
    assert [db.state_at(key, n) for n in range(4)] == values
    assert db.state_at(key, 10) == values[3]  # later blocks that did not touch the key


def test_state_at_distinguishes_keys_sharing_a_prefix() -> None:
    backend = MemoryBackend()
    backend.write(history_puts([(b"Sab", b"short"), (b"Sabc", b"long")], [], 1))
    backend.write(history_puts([(b"Sabc", b"newer")], [b"Sab"], 2))
    db = ChainDb(backend)
    assert db.state_at(b"ab", 0) is None
    assert db.state_at(b"ab", 1) == b"short"
    assert db.state_at(b"ab", 2) is None  # deleted in block 2
    assert db.state_at(b"abc", 1) == b"long" and db.state_at(b"abc", 5) == b"newer"


def test_historic_read_proof_verifies_against_old_root() -> None:
    rt, db = open_memory()
    author(rt, db, 1)
    old = db.head.best
    author(rt, db, 1)
    key = rt.system.account.key(BOB)
    trie = StateTrie(rt.backend, TRIE_PREFIX)
    proof = trie.prove([key], root=old.state_root, values=db.state_getter(old.number))
    assert verify_proof(old.state_root, key, proof) == db.state_at(key, old.number)
    assert db.state_at(key, old.number) != db.latest_state(key)


def test_restart_resumes_at_the_same_head(tmp_path: Path) -> None:
    backend = LevelDBBackend(str(tmp_path / "db"))
    rt = Runtime(dev_spec(), backend, autoload=False)
    db = ChainDb(backend)
    db.open(rt.head)
    author(rt, db, 2)
    head = db.head
    backend.close()
    backend = LevelDBBackend(str(tmp_path / "db"))
    reopened = Runtime(dev_spec(), backend, autoload=False)
    assert ChainDb(backend).open(reopened.head) == head
    backend.close()


def test_open_fails_when_head_and_blocks_disagree() -> None:
    rt, db = open_memory()
    author(rt, db, 1)
    rt.backend.put(b"C:best", rt.genesis_hash)
    with pytest.raises(ChainDbError):
        ChainDb(rt.backend).open(rt.head)
