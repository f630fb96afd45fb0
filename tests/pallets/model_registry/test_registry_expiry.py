"""Upload expiry: an unfinished upload ends UPLOAD_TTL blocks after it began, in that block's
on_initialize, with no transaction: its deposit returns and its chunks are released."""

from __future__ import annotations

from registry_helpers import CHUNK, PER_BYTE, REG, begin, held, random_bytes, registry, send_chunks, upload

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from runtime.crypto import blake2_256
from runtime.testing import assert_noop, assert_ok

TTL = ModelRegistry.UPLOAD_TTL
DATA = random_bytes(2 * CHUNK + 40, seed=41)


def test_expiry_works_for_an_unfinished_upload(rt):
    free = rt.free_balance("alice")
    start = rt.block_number
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA, order=[1, 2])
    reg = registry(rt)
    rt.run_to_block(start + TTL - 1)
    assert upload_id in reg.uploads  # still alive one block before
    assert held(rt, "alice") == len(DATA) * PER_BYTE
    rt.run_to_block(start + TTL)
    assert upload_id not in reg.uploads
    assert list(reg.upload_chunks.items()) == []
    assert list(reg.upload_expiry.items()) == []
    assert list(reg.chunks.items()) == []
    assert list(reg.chunk_refs.items()) == []
    assert held(rt, "alice") == 0
    assert rt.free_balance("alice") == free
    alice = rt.account("alice")
    events = rt.events()
    assert ModelRegistry.UploadAborted(upload=upload_id, expired=True) in events
    assert Balances.Released(who=alice, reason=UPLOAD_REASON, amount=len(DATA) * PER_BYTE) in events


def test_expiry_works_and_the_expired_upload_refuses_further_calls(rt):
    upload_id = begin(rt, "alice", DATA)
    rt.run_to_block(rt.block_number + TTL)
    piece = art.split_chunks(DATA)[0]
    result = rt.call("alice", f"{REG}.upload_chunk", upload=upload_id, index=0, data=piece)
    assert_noop(result, ModelRegistry.UnknownUpload)
    assert_noop(rt.call("alice", f"{REG}.finish_upload", upload=upload_id), ModelRegistry.UnknownUpload)
    assert_noop(rt.call("alice", f"{REG}.abort_upload", upload=upload_id), ModelRegistry.UnknownUpload)


def test_expiry_works_for_each_upload_at_its_own_block(rt):
    start = rt.block_number
    early = begin(rt, "alice", DATA)
    rt.run_to_block(start + 10)
    late = begin(rt, "bob", random_bytes(500, seed=42))
    reg = registry(rt)
    rt.run_to_block(start + TTL)
    assert early not in reg.uploads
    assert late in reg.uploads
    assert held(rt, "alice") == 0
    assert held(rt, "bob") == 500 * PER_BYTE
    rt.run_to_block(start + 10 + TTL)
    assert late not in reg.uploads
    assert held(rt, "bob") == 0


def test_expiry_works_for_several_uploads_in_one_block(rt):
    uploads = [begin(rt, who, random_bytes(100 + i, seed=i)) for i, who in enumerate(("alice", "bob", "eve"))]
    rt.run_to_block(rt.block_number + TTL)
    assert all(u not in registry(rt).uploads for u in uploads)
    assert [held(rt, who) for who in ("alice", "bob", "eve")] == [0, 0, 0]
    aborted = [e for e in rt.events() if isinstance(e, ModelRegistry.UploadAborted)]
    assert aborted == [ModelRegistry.UploadAborted(upload=u, expired=True) for u in uploads]


def test_expiry_works_keeping_chunks_shared_with_a_stored_artifact(rt):
    piece = art.split_chunks(DATA)[0]
    stored = upload(rt, "bob", piece + b"more")
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA, order=[0])
    reg = registry(rt)
    assert reg.chunk_refs[blake2_256(piece)] == 2
    rt.run_to_block(rt.block_number + TTL)
    assert reg.chunk_refs[blake2_256(piece)] == 1
    assert reg.artifact_bytes(stored) == piece + b"more"


def test_expiry_leaves_a_finished_upload_alone(rt):
    start = rt.block_number
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA)
    assert_ok(rt.call("alice", f"{REG}.finish_upload", upload=upload_id))
    rt.run_to_block(start + TTL + 1)
    root = art.artifact_root(DATA)
    assert registry(rt).artifact_bytes(root) == DATA
    assert held(rt, "alice") == len(DATA) * PER_BYTE


def test_expiry_leaves_an_aborted_upload_alone(rt):
    start = rt.block_number
    upload_id = begin(rt, "alice", DATA)
    assert_ok(rt.call("alice", f"{REG}.abort_upload", upload=upload_id))
    later = begin(rt, "alice", random_bytes(50, seed=43))  # same expiry block, still in flight
    rt.run_to_block(start + TTL)
    assert later not in registry(rt).uploads
    assert held(rt, "alice") == 0
    aborted = [e for e in rt.events() if isinstance(e, ModelRegistry.UploadAborted)]
    assert aborted == [ModelRegistry.UploadAborted(upload=later, expired=True)]
