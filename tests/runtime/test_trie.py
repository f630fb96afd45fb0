"""Tests for runtime.trie: canonical roots, batch updates, history and read proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.storage.backend import Backend, LevelDBBackend, MemoryBackend
from runtime.trie import (
    EMPTY_ROOT,
    MissingNode,
    ProofError,
    StateTrie,
    decode_branch,
    encode_branch,
    verify_proof,
    verify_proof_multi,
)

PREFIX = b"trie:"


def h(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


# ---- an independent reference: build the canonical trie from the set of pairs -----------------


def ref_encode(slots: list[bytes]) -> bytes:
    bitmap = sum(1 << i for i, s in enumerate(slots) if s)
    leafmap = sum(1 << i for i, s in enumerate(slots) if len(s) == 64)
    return b"\x01" + bitmap.to_bytes(2, "big") + leafmap.to_bytes(2, "big") + b"".join(slots)


def ref_nibble(kh: bytes, depth: int) -> int:
    return int(kh.hex()[depth], 16)


def ref_slots(leaves: list[tuple[bytes, bytes]], depth: int) -> list[bytes]:
    return [ref_subtree([x for x in leaves if ref_nibble(x[0], depth) == n], depth + 1) for n in range(16)]


def ref_subtree(leaves: list[tuple[bytes, bytes]], depth: int) -> bytes:
    if not leaves:
        return b""
    if len(leaves) == 1:
        kh, lh = leaves[0]
        return lh + kh
    return h(ref_encode(ref_slots(leaves, depth)))


def ref_root(state: Mapping[bytes, bytes]) -> bytes:
    leaves = [(h(k), h(b"\x00" + h(k) + h(v))) for k, v in state.items()]
    return h(ref_encode(ref_slots(leaves, 0)))


# ---- helpers -------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "leveldb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend: Backend = MemoryBackend() if request.param == "memory" else LevelDBBackend(str(tmp_path / "db"))
    yield backend
    backend.close()


def commit(trie: StateTrie, changes: Mapping[bytes, bytes | None]) -> bytes:
    root, writes = trie.update(changes)
    trie.store.write(writes)
    return root


def key(i: int) -> bytes:
    return b"key-%d" % i


def val(i: int, gen: int = 0) -> bytes:
    return b"value-%d-%d" % (i, gen)


def make_state(n: int, gen: int = 0) -> dict[bytes, bytes]:
    return {key(i): val(i, gen) for i in range(n)}


def built(store: Backend, state: Mapping[bytes, bytes | None]) -> StateTrie:
    trie = StateTrie(store, PREFIX)
    commit(trie, state)
    return trie


# ---- roots ----------------------------------------------------------------------------------------


def test_empty_root_is_the_hash_of_an_empty_branch() -> None:
    assert h(b"\x01\x00\x00\x00\x00") == EMPTY_ROOT
    assert StateTrie(MemoryBackend(), PREFIX).root == EMPTY_ROOT


def test_update_matches_reference(store: Backend) -> None:
    for n in (1, 2, 3, 17, 300):
        state = make_state(n)
        trie = StateTrie(store, PREFIX)
        assert commit(trie, state) == ref_root(state)


def test_single_key_root_is_a_branch_with_an_inlined_leaf() -> None:
    trie = StateTrie(MemoryBackend(), PREFIX)
    root = commit(trie, {b"a": b"1"})
    kh = h(b"a")
    slots = [b""] * 16
    slots[kh[0] >> 4] = h(b"\x00" + kh + h(b"1")) + kh
    assert root == h(ref_encode(slots))


def test_updates_and_deletes_match_building_from_scratch(store: Backend) -> None:
    trie = built(store, make_state(500))
    changes: dict[bytes, bytes | None] = {key(i): None for i in range(0, 500, 3)}
    changes.update({key(i): val(i, 1) for i in range(1, 500, 3)})
    changes.update({key(i): val(i) for i in range(500, 600)})
    root = commit(trie, changes)
    final = {k: v for k, v in {**make_state(500), **changes}.items() if v is not None}
    assert root == ref_root(final)
    assert root == built(MemoryBackend(), final).root


def test_deleting_everything_returns_the_empty_root(store: Backend) -> None:
    trie = built(store, make_state(200))
    assert commit(trie, dict.fromkeys(make_state(200))) == EMPTY_ROOT


def test_delete_collapses_a_branch_into_the_remaining_leaf() -> None:
    trie = built(MemoryBackend(), make_state(2))
    assert commit(trie, {key(1): None}) == built(MemoryBackend(), make_state(1)).root


def test_deleting_a_missing_key_is_a_no_op() -> None:
    trie = built(MemoryBackend(), make_state(50))
    before = trie.root
    assert commit(trie, {b"absent": None, b"also absent": None}) == before


def test_unchanged_values_and_missing_deletes_write_no_nodes() -> None:
    state = make_state(300)
    trie = built(MemoryBackend(), state)
    before = trie.root
    changes: dict[bytes, bytes | None] = {key(i): val(i) for i in range(0, 300, 5)}
    changes.update({b"absent-%d" % i: None for i in range(50)})
    root, writes = trie.update(changes)
    assert (root, writes) == (before, [])
    assert trie.update({})[1] == []
    assert commit(trie, {key(1): b"new"}) == ref_root({**state, key(1): b"new"})


def shared_prefix_keys(nibbles: int, count: int) -> list[bytes]:
    """`count` keys (not of the form key(i)) whose keyhashes share their first `nibbles` nibbles."""
    groups: dict[str, list[bytes]] = {}
    i = 0
    while True:
        k = b"deep-%d" % i
        group = groups.setdefault(h(k).hex()[:nibbles], [])
        group.append(k)
        if len(group) == count:
            return group
        i += 1


def test_split_and_collapse_through_several_levels(store: Backend) -> None:
    a, b, c = shared_prefix_keys(3, 3)  # a path of at least 3 branches below the root
    state = {**make_state(40), a: b"a", b: b"b"}
    trie = built(store, state)
    assert trie.root == ref_root(state)
    assert commit(trie, {c: b"c"}) == ref_root({**state, c: b"c"})  # a third key on the deep path
    assert commit(trie, {a: None, c: None}) == ref_root({k: v for k, v in state.items() if k != a})
    assert commit(trie, {b: None}) == ref_root(make_state(40))  # collapses up to the root
    assert commit(trie, {a: b"a", b: b"b"}) == ref_root(state)  # split again, one batch
    for k in (a, b, c, key(3)):
        assert verify_proof(trie.root, k, trie.prove([k], values=state.get)) == state.get(k)


def test_update_fails_when_value_is_empty() -> None:
    with pytest.raises(ValueError):
        StateTrie(MemoryBackend(), PREFIX).update({b"k": b""})


ops = st.lists(
    st.tuples(st.binary(min_size=0, max_size=3), st.one_of(st.none(), st.binary(min_size=1, max_size=4))),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops=ops, cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6))
def test_root_is_independent_of_order_and_batching(
    ops: list[tuple[bytes, bytes | None]], cuts: list[int]
) -> None:
    trie = StateTrie(MemoryBackend(), PREFIX)
    bounds = [0, *sorted(cuts), len(ops)]
    final: dict[bytes, bytes] = {}
    for lo, hi in pairwise(bounds):
        batch = dict(ops[lo:hi])
        commit(trie, batch)
        for k, v in batch.items():
            if v is None:
                final.pop(k, None)
            else:
                final[k] = v
    assert trie.root == ref_root(final)
    assert trie.root == built(MemoryBackend(), dict(reversed(final.items()))).root


BASE = make_state(300)
BASE_TRIE = built(MemoryBackend(), BASE)
small_batches = st.lists(
    st.dictionaries(
        st.integers(min_value=0, max_value=399).map(key),
        st.one_of(st.none(), st.binary(min_size=1, max_size=3)),
        max_size=4,
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(batches=small_batches)
def test_small_batches_on_a_deeper_trie_match_reference(batches: list[dict[bytes, bytes | None]]) -> None:
    trie = StateTrie(MemoryBackend(), PREFIX)
    trie.store.write(BASE_TRIE.store.iterate(PREFIX))
    trie.set_root(BASE_TRIE.root)
    final = dict(BASE)
    for batch in batches:
        commit(trie, batch)
        for k, v in batch.items():
            if v is None:
                final.pop(k, None)
            else:
                final[k] = v
    assert trie.root == ref_root(final)


# ---- proofs ---------------------------------------------------------------------------------------


def test_proof_of_present_and_absent_keys(store: Backend) -> None:
    state = make_state(300)
    trie = built(store, state)
    for k in (key(7), key(299), b"missing", b""):
        proof = trie.prove([k], values=state.get)
        assert verify_proof(trie.root, k, proof) == state.get(k)


def test_multi_key_proof(store: Backend) -> None:
    state = make_state(300)
    state[key(1000)] = state[key(3)]  # two keys sharing one value node
    trie = built(store, state)
    keys = [key(3), key(1000), key(150), b"nope", key(3)]
    proof = trie.prove(keys, values=state.get)
    assert len(proof) == len(set(proof))
    assert verify_proof_multi(trie.root, keys, proof) == {k: state.get(k) for k in keys}


def test_proof_of_the_empty_trie() -> None:
    trie = StateTrie(MemoryBackend(), PREFIX)
    proof = trie.prove([b"x"])
    assert verify_proof(EMPTY_ROOT, b"x", proof) is None


def test_proof_fails_when_value_node_is_tampered() -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    proof = [p + b"!" if p[0] == 2 else p for p in trie.prove([key(5)], values=state.get)]
    with pytest.raises(ProofError):
        verify_proof(trie.root, key(5), proof)


@pytest.mark.parametrize("position", [0, 1, 4, 5, 40, -1])
def test_proof_fails_when_a_branch_byte_is_tampered(position: int) -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    proof = trie.prove([key(5)], values=state.get)
    for index, node in enumerate(proof):
        if node[0] != 1:
            continue
        raw = bytearray(node)
        raw[position] ^= 0x01
        tampered = [*proof[:index], bytes(raw), *proof[index + 1 :]]
        with pytest.raises(ProofError):
            verify_proof(trie.root, key(5), tampered)


def test_proof_fails_when_a_node_is_missing() -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    proof = trie.prove([key(5), b"absent"], values=state.get)
    for index in range(len(proof)):
        partial = proof[:index] + proof[index + 1 :]
        with pytest.raises(ProofError):
            verify_proof_multi(trie.root, [key(5), b"absent"], partial)


def test_proof_fails_against_another_root() -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    proof = trie.prove([key(5)], values=state.get)
    other = built(MemoryBackend(), make_state(100, gen=1)).root
    with pytest.raises(MissingNode):
        verify_proof(other, key(5), proof)


def test_prove_fails_when_value_does_not_match() -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    with pytest.raises(ProofError):
        trie.prove([key(5)], values=lambda k: b"wrong")
    with pytest.raises(ProofError):
        trie.prove([key(5)], values=lambda k: None)
    with pytest.raises(ProofError):
        trie.prove([key(5)])


def test_proof_fails_when_a_node_has_an_unknown_tag() -> None:
    state = make_state(10)
    trie = built(MemoryBackend(), state)
    proof = trie.prove([key(1)], values=state.get)
    for bad in (b"", b"\x02", b"\x03abc"):
        with pytest.raises(ProofError):
            verify_proof(trie.root, key(1), [*proof, bad])


def test_old_roots_still_prove_after_updates(store: Backend) -> None:
    history = [make_state(200, gen) for gen in range(3)]
    trie = StateTrie(store, PREFIX)
    roots = [commit(trie, state) for state in history]
    commit(trie, {key(i): None for i in range(100)})
    fresh = StateTrie(store, PREFIX, root=trie.root, cache_nodes=2)
    keys = [key(1), key(150)]
    for reader in (trie, fresh):
        for root, state in zip(roots, history, strict=True):
            proof = reader.prove(keys, root=root, values=state.get)
            assert verify_proof_multi(root, keys, proof) == {k: state[k] for k in keys}
    assert verify_proof(trie.root, key(1), trie.prove([key(1)])) is None


# ---- stores, caches, reopening -------------------------------------------------------------------


def test_reopen_leveldb_at_saved_root_gives_same_proofs(tmp_path: Path) -> None:
    state = make_state(400)
    db = LevelDBBackend(str(tmp_path / "db"))
    trie = built(db, state)
    saved, keys = trie.root, [key(1), key(399), b"absent"]
    before = trie.prove(keys, values=state.get)
    commit(trie, {key(1): b"later"})
    db.close()
    db = LevelDBBackend(str(tmp_path / "db"))
    try:
        reopened = StateTrie(db, PREFIX, root=saved)
        assert reopened.prove(keys, values=state.get) == before
        assert verify_proof_multi(saved, keys, before)[key(1)] == state[key(1)]
    finally:
        db.close()


def test_set_root_discards_an_uncommitted_update() -> None:
    state = make_state(100)
    trie = built(MemoryBackend(), state)
    good = trie.root
    trie.update({key(1): b"failed block"})  # node writes dropped
    trie.set_root(good)
    expected = built(MemoryBackend(), state).prove([key(1)], values=state.get)
    assert trie.prove([key(1)], values=state.get) == expected
    trie.clear_cache()
    assert trie.prove([key(1)], values=state.get) == expected
    assert commit(trie, {key(1): b"good block"}) == ref_root({**state, key(1): b"good block"})


def test_cache_stays_within_its_bound(store: Backend) -> None:
    state = make_state(600)
    trie = StateTrie(store, PREFIX, cache_nodes=64)
    commit(trie, state)
    reader = StateTrie(store, PREFIX, root=trie.root, cache_nodes=64)
    for gen in range(1, 6):
        changes = {key(i): val(i, gen) for i in range(gen, 600, 37)}
        root, writes = trie.update(changes)
        assert len(trie._cache) <= 64 or len(trie._cache) == len(writes)  # an update keeps all its nodes
        store.write(writes)
        state.update(changes)
        assert root == ref_root(state)
        keys = [key(i) for i in range(0, 600, 29)]
        reader.set_root(root)
        proof = reader.prove(keys, values=state.get)
        assert verify_proof_multi(root, keys, proof) == {k: state[k] for k in keys}
        assert len(reader._cache) <= 64


def test_tiny_cache_reads_nodes_back_from_the_store(store: Backend) -> None:
    trie = StateTrie(store, PREFIX, cache_nodes=2)
    commit(trie, make_state(300))
    root = commit(trie, {key(i): val(i, 1) for i in range(0, 300, 7)})
    assert root == ref_root({**make_state(300), **{key(i): val(i, 1) for i in range(0, 300, 7)}})


def test_missing_node_in_store_is_a_typed_error() -> None:
    store = MemoryBackend()
    trie = built(store, make_state(100))
    lost = StateTrie(MemoryBackend(), PREFIX, root=trie.root)
    with pytest.raises(MissingNode):
        lost.update({b"k": b"v"})
    with pytest.raises(MissingNode):
        lost.prove([b"k"])


def test_reads_work_before_the_commit() -> None:
    trie = StateTrie(MemoryBackend(), PREFIX)
    root, writes = trie.update(make_state(50))
    assert writes and trie.root == root
    assert trie.get_leaf(key(3)) == h(b"\x00" + h(key(3)) + h(val(3)))
    assert trie.get_leaf(b"absent") is None


# ---- node codec -----------------------------------------------------------------------------------


def test_encode_decode_round_trip() -> None:
    slots = [b""] * 16
    slots[0], slots[5], slots[15] = b"a" * 32, b"b" * 64, b"c" * 32
    raw = encode_branch(slots)
    assert raw == ref_encode(slots)
    assert decode_branch(raw) == tuple(slots)


@pytest.mark.parametrize("slots", [[b""] * 15, [b""] * 17, [b"x" * 33] + [b""] * 15, [b"x"] + [b""] * 15])
def test_encode_rejects_malformed_slots(slots: list[bytes]) -> None:
    with pytest.raises(ValueError):
        encode_branch(slots)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x01\x00\x00\x00",
        b"\x02\x00\x00\x00\x00",
        b"\x01\x00\x01\x00\x00",  # slot 0 present, no child hash
        b"\x01\x00\x01\x00\x00" + b"x" * 33,  # too long
        b"\x01\x00\x00\x00\x01" + b"x" * 64,  # leafmap bit without bitmap bit
        b"\x01\x00\x01\x00\x01" + b"x" * 32,  # leaf too short
        b"\x01\x00\x00\x00\x00\x00",  # trailing byte
    ],
)
def test_malformed_node_is_a_proof_error(raw: bytes) -> None:
    with pytest.raises(ProofError):
        decode_branch(raw)
    if raw[:1] == b"\x01":
        with pytest.raises(ProofError):
            verify_proof(h(raw), b"k", [raw])
