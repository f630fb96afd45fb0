"""Block import: a block built by one runtime is imported by a fresh one (in another process, over
LevelDB) with the same head and state root, and every tampered block is refused with InvalidBlock,
leaving the importer's head and state as they were."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime import codec
from runtime.block import Block, Header, extrinsics_root
from runtime.crypto import Keypair, blake2_256, dev_keypair
from runtime.errors import InvalidBlock, PalletError
from runtime.executive import Runtime
from runtime.extrinsic import Era, sign_extrinsic
from runtime.genesis import FeeConfig, dev_spec
from runtime.storage.backend import LevelDBBackend, MemoryBackend
from runtime.testing.mock import BLOCK_TIME_MS, GENESIS_TIME_MS

HELPER = Path(__file__).parent / "_helpers" / "import_blocks.py"
ALICE, BOB, CHARLIE, DAVE = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave"))
TOKEN = 10**12


def signed(rt: Runtime, pair: Keypair, call: list[object], **kwargs: object) -> bytes:
    nonce = rt.system.next_nonce(pair.account)
    kwargs.setdefault("nonce", nonce)
    return sign_extrinsic(
        pair, call, genesis_hash=rt.genesis_hash, spec_version=rt.VERSION.spec_version, **kwargs
    )


def produce(rt: Runtime, author: Keypair, make: Callable[[Runtime], list[bytes]]) -> Block:
    """Build, seal and commit the next block with the extrinsics `make` returns (signed at the head)."""
    extrinsics = make(rt)
    builder = rt.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS * (rt.head.number + 1), author.account)
    for data in extrinsics:
        builder.push(data)
    pending = builder.finish(author)
    rt.commit(pending)
    assert pending.block is not None
    return pending.block


def busy_block(rt: Runtime) -> list[bytes]:
    """Transfers (one failing), a remark, a sudo call and a mortal extrinsic."""
    bob_free = rt.system.account_info(BOB.account).free
    force = [1, 2, [bytes(DAVE.account), 7 * TOKEN]]
    alice_nonce = rt.system.next_nonce(ALICE.account)
    return [
        signed(rt, ALICE, [1, 0, [bytes(BOB.account), 5 * TOKEN]]),
        signed(rt, BOB, [1, 0, [bytes(CHARLIE.account), bob_free * 2]]),  # fails: InsufficientBalance
        signed(rt, CHARLIE, [0, 0, [b"hello chain"]]),
        signed(rt, ALICE, [2, 0, [force]], nonce=alice_nonce + 1),  # Sudo.sudo(Balances.force_set_balance)
        signed(
            rt,
            DAVE,
            [1, 1, [bytes(ALICE.account), TOKEN]],
            era=Era(rt.head.number, 16),
            birth_hash=rt.head.hash(),
        ),
    ]


def small_block(rt: Runtime) -> list[bytes]:
    return [signed(rt, CHARLIE, [0, 0, [b"block %d" % (rt.head.number + 1)]])]


# --- one runtime builds, another process imports over LevelDB --------------------------------------


def test_blocks_import_in_another_process_over_leveldb(tmp_path):
    spec = dev_spec()
    backend = LevelDBBackend(str(tmp_path / "producer"))
    producer = Runtime(spec, backend)
    blocks = [produce(producer, ALICE, small_block)]
    blocks.append(produce(producer, BOB, busy_block))  # another authority authors block 2
    blocks.append(produce(producer, ALICE, busy_block))
    blocks.append(produce(producer, ALICE, lambda rt: []))  # only the timestamp inherent
    assert producer.head.number == 4
    assert [b.header.number for b in blocks] == [1, 2, 3, 4]
    head, state_root, genesis = producer.head.hash(), producer.head.state_root, producer.genesis_hash
    backend.close()

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_json()))
    blocks_file = tmp_path / "blocks.bin"
    blocks_file.write_bytes(codec.pack([b.encode() for b in blocks]))
    done = subprocess.run(
        [sys.executable, str(HELPER), str(spec_file), str(blocks_file), str(tmp_path / "importer")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)

    assert report["genesis"] == genesis.hex()
    assert report["number"] == 4
    assert report["head"] == head.hex()
    assert report["state_root"] == state_root.hex()
    assert report["reopened_head"] == head.hex()
    assert report["reopened_state_root"] == state_root.hex()

    # The importer's database, opened here, holds the same state as the producer's.
    producer_db = LevelDBBackend(str(tmp_path / "producer"))
    importer_db = LevelDBBackend(str(tmp_path / "importer"))
    try:
        ours, theirs = Runtime(spec, producer_db), Runtime(spec, importer_db)
        assert ours.head == theirs.head
        assert list(ours.system.account.items()) == list(theirs.system.account.items())
        assert list(ours.overlay.iterate(b"")) == list(theirs.overlay.iterate(b""))
    finally:
        producer_db.close()
        importer_db.close()


def test_reopened_leveldb_runtime_refuses_another_spec(tmp_path):
    backend = LevelDBBackend(str(tmp_path / "db"))
    Runtime(dev_spec(), backend)
    other = dataclasses.replace(dev_spec(), name="Another")
    with pytest.raises(PalletError):
        Runtime(other, backend)
    backend.close()


# --- tampered blocks -------------------------------------------------------------------------------


@dataclasses.dataclass
class Pair:
    producer: Runtime
    importer: Runtime
    block: Block


@pytest.fixture
def pair() -> Pair:
    """A producer that made block 1 (busy), and a fresh importer at genesis."""
    producer = Runtime(dev_spec(), MemoryBackend())
    block = produce(producer, ALICE, busy_block)
    importer = Runtime(dev_spec(), MemoryBackend())
    return Pair(producer, importer, block)


def reseal(block: Block, header: Header, key: Keypair) -> Block:
    return Block(header, block.extrinsics, key.sign(header.hash()))


def assert_refused_then_genuine_imports(pair: Pair, bad: Block) -> None:
    importer = pair.importer
    head, root = importer.head, importer.trie.root
    with pytest.raises(InvalidBlock):
        importer.import_block(bad)
    assert importer.head == head
    assert importer.trie.root == root
    assert importer.overlay.changes() == {}
    assert importer.events == []
    importer.commit(importer.import_block(pair.block))
    assert importer.head.hash() == pair.block.hash() == pair.producer.head.hash()
    assert importer.head.state_root == pair.producer.head.state_root


def test_genuine_block_imports(pair):
    pending = pair.importer.import_block(pair.block)
    assert [r.error for r in pending.results] == [
        None,
        None,
        "Balances.InsufficientBalance",
        None,
        None,
        None,
    ]
    pair.importer.commit(pending)
    assert pair.importer.head == pair.block.header
    assert list(pair.importer.system.account.items()) == list(pair.producer.system.account.items())


HEADER_CHANGES: dict[str, Callable[[Header], Header]] = {
    "parent_hash": lambda h: dataclasses.replace(h, parent_hash=blake2_256(b"elsewhere")),
    "number": lambda h: dataclasses.replace(h, number=h.number + 1),
    "state_root": lambda h: dataclasses.replace(h, state_root=blake2_256(b"state")),
    "extrinsics_root": lambda h: dataclasses.replace(h, extrinsics_root=blake2_256(b"xts")),
    "timestamp": lambda h: dataclasses.replace(h, timestamp=h.timestamp + 1),
    "timestamp_back": lambda h: dataclasses.replace(h, timestamp=0),
}


@pytest.mark.parametrize("field", list(HEADER_CHANGES))
@pytest.mark.parametrize("resealed", [True, False], ids=["resealed", "old-seal"])
def test_import_fails_when_a_header_field_is_changed(pair, field, resealed):
    header = HEADER_CHANGES[field](pair.block.header)
    bad = (
        reseal(pair.block, header, ALICE)
        if resealed
        else Block(header, pair.block.extrinsics, pair.block.seal)
    )
    assert_refused_then_genuine_imports(pair, bad)


def test_import_fails_when_the_author_is_changed_to_another_authority(pair):
    header = dataclasses.replace(pair.block.header, author=BOB.account)
    assert_refused_then_genuine_imports(pair, reseal(pair.block, header, BOB))  # fees went to alice


def test_import_fails_when_the_author_is_not_an_authority(pair):
    mallory = dev_keypair("mallory")
    header = dataclasses.replace(pair.block.header, author=mallory.account)
    assert_refused_then_genuine_imports(pair, reseal(pair.block, header, mallory))


def test_import_fails_when_the_author_is_changed_under_the_old_seal(pair):
    header = dataclasses.replace(pair.block.header, author=BOB.account)
    assert_refused_then_genuine_imports(pair, Block(header, pair.block.extrinsics, pair.block.seal))


@pytest.mark.parametrize(
    "seal",
    [
        lambda b: bytes(64),
        lambda b: BOB.sign(b.header.hash()),  # another authority's signature
        lambda b: ALICE.sign(b.header.encode()),  # the author signing the wrong message
        lambda b: bytes([b.seal[0] ^ 1]) + b.seal[1:],
    ],
    ids=["zeros", "other-key", "wrong-message", "bit-flip"],
)
def test_import_fails_when_the_seal_is_bad(pair, seal):
    assert_refused_then_genuine_imports(
        pair, Block(pair.block.header, pair.block.extrinsics, seal(pair.block))
    )


def other_extrinsic(pair: Pair) -> bytes:
    return signed(pair.importer, dev_keypair("eve"), [0, 0, [b"not in the block"]])


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


EXTRINSIC_CHANGES: dict[str, Callable[[Pair, list[bytes]], list[bytes]]] = {
    "changed": lambda p, x: [*x[:3], other_extrinsic(p), *x[4:]],
    "bit-flipped": lambda p, x: [*x[:3], flip_last_byte(x[3]), *x[4:]],
    "removed": lambda p, x: [*x[:2], *x[3:]],
    "removed-last": lambda p, x: x[:-1],
    "added": lambda p, x: [*x, other_extrinsic(p)],
    "duplicated": lambda p, x: [*x, x[1]],
    "reordered": lambda p, x: [x[0], x[3], x[2], x[1], *x[4:]],
    "inherent-removed": lambda p, x: x[1:],
    "inherent-moved": lambda p, x: [*x[1:], x[0]],
    "inherent-repeated": lambda p, x: [x[0], x[0], *x[1:]],
    "all-removed": lambda p, x: [],
}


@pytest.mark.parametrize("change", list(EXTRINSIC_CHANGES))
@pytest.mark.parametrize("consistent", [False, True], ids=["same-header", "root-recomputed"])
def test_import_fails_when_extrinsics_are_tampered(pair, change, consistent):
    """Same header: the extrinsics root gives it away. Root recomputed and resealed by the author: the
    re-execution (state root, nonces, signatures, the inherent) gives it away."""
    extrinsics = EXTRINSIC_CHANGES[change](pair, list(pair.block.extrinsics))
    assert extrinsics != list(pair.block.extrinsics)
    header = pair.block.header
    if consistent:
        header = dataclasses.replace(header, extrinsics_root=extrinsics_root(extrinsics))
        bad = Block(header, tuple(extrinsics), ALICE.sign(header.hash()))
    else:
        bad = Block(header, tuple(extrinsics), pair.block.seal)
    assert_refused_then_genuine_imports(pair, bad)


def lenient_author(spec_fees: FeeConfig) -> Runtime:
    """A runtime of the strict chain whose (misbehaving) author ignores the block limits."""
    producer = Runtime(dataclasses.replace(dev_spec(), fees=spec_fees), MemoryBackend())
    producer.fees = FeeConfig()
    return producer


def test_import_fails_when_the_block_is_longer_than_allowed():
    strict = FeeConfig(max_block_length=700)
    producer = lenient_author(strict)
    block = produce(
        producer,
        ALICE,
        lambda rt: [
            signed(rt, ALICE, [0, 0, [b"x" * 300]]),
            signed(rt, ALICE, [0, 0, [b"y" * 300]], nonce=1),
        ],
    )
    assert all(len(x) <= 700 for x in block.extrinsics)  # each fits, together they do not
    assert sum(len(x) for x in block.extrinsics) > 700
    importer = Runtime(dataclasses.replace(dev_spec(), fees=strict), MemoryBackend())
    with pytest.raises(InvalidBlock, match="length"):
        importer.import_block(block)
    assert importer.head.number == 0


def test_import_fails_when_the_block_is_heavier_than_allowed():
    strict = FeeConfig(max_block_weight=250_000)  # two remarks (110_00x each) fit, three do not
    producer = lenient_author(strict)
    block = produce(
        producer, ALICE, lambda rt: [signed(rt, ALICE, [0, 0, [b"x"]], nonce=n) for n in range(3)]
    )
    importer = Runtime(dataclasses.replace(dev_spec(), fees=strict), MemoryBackend())
    with pytest.raises(InvalidBlock, match="ExhaustsResources"):
        importer.import_block(block)
    assert importer.head.number == 0


def test_import_fails_when_the_block_is_already_imported(pair):
    pair.importer.commit(pair.importer.import_block(pair.block))
    with pytest.raises(InvalidBlock):
        pair.importer.import_block(pair.block)


def test_chain_of_blocks_imports_in_order_only():
    producer = Runtime(dev_spec(), MemoryBackend())
    first = produce(producer, ALICE, busy_block)
    second = produce(producer, ALICE, small_block)
    importer = Runtime(dev_spec(), MemoryBackend())
    with pytest.raises(InvalidBlock):
        importer.import_block(second)
    importer.commit(importer.import_block(first))
    importer.commit(importer.import_block(second))
    assert importer.head == producer.head


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(dev_spec(), fees=FeeConfig(max_block_length=600)),
        dataclasses.replace(dev_spec(), fees=FeeConfig(base=1)),
        dev_spec(["Notes"]),
    ],
    ids=["block-length", "base-fee", "extra-pallet"],
)
def test_chains_with_different_consensus_rules_have_different_genesis_hashes(other):
    """The genesis hash is what extrinsics commit to (genesis tag, signing payload): two chains whose
    rules differ must not share it, or a transaction signed for one is valid on the other and their
    nodes only find out they disagree when a block trips over the difference."""
    assert Runtime(other, MemoryBackend()).genesis_hash != Runtime(dev_spec(), MemoryBackend()).genesis_hash
