"""ModelRegistry.abort_upload: the uploader gives up; the received chunks are released (deleted unless
another user shares them) and the deposit returns at once."""

from __future__ import annotations

from registry_helpers import CHUNK, REG, begin, held, random_bytes, registry, send_chunks, upload

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from runtime.crypto import blake2_256
from runtime.testing import assert_noop, assert_ok

DATA = random_bytes(2 * CHUNK + 7, seed=21)
PIECES = art.split_chunks(DATA)


def abort(rt, who, upload_id):
    return rt.call(who, f"{REG}.abort_upload", upload=upload_id)


def test_abort_upload_works(rt):
    free = rt.free_balance("alice")
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA, order=[0, 2])
    result = abort(rt, "alice", upload_id)
    assert_ok(result)
    reg = registry(rt)
    assert upload_id not in reg.uploads
    assert list(reg.upload_chunks.iter_prefix(upload_id)) == []
    assert list(reg.upload_expiry.items()) == []
    assert list(reg.chunks.items()) == []
    assert list(reg.chunk_refs.items()) == []
    assert held(rt, "alice") == 0
    assert rt.free_balance("alice") == free
    alice = rt.account("alice")
    assert result.events == [
        Balances.Released(who=alice, reason=UPLOAD_REASON, amount=len(DATA) * ModelRegistry.DEPOSIT_PER_BYTE),
        ModelRegistry.UploadAborted(upload=upload_id, expired=False),
    ]


def test_abort_upload_works_with_no_chunk_received(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_ok(abort(rt, "alice", upload_id))
    assert held(rt, "alice") == 0
    assert rt.last_event() == ModelRegistry.UploadAborted(upload=upload_id, expired=False)


def test_abort_upload_works_keeping_chunks_that_are_shared(rt):
    stored = upload(rt, "bob", PIECES[0] + b"other tail")
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA)
    reg = registry(rt)
    shared = blake2_256(PIECES[0])
    assert reg.chunk_refs[shared] == 2
    assert_ok(abort(rt, "alice", upload_id))
    assert reg.chunk_refs[shared] == 1
    assert reg.chunks[shared] == PIECES[0]
    assert blake2_256(PIECES[1]) not in reg.chunks
    assert blake2_256(PIECES[2]) not in reg.chunks
    assert reg.artifact_bytes(stored) == PIECES[0] + b"other tail"


def test_abort_upload_fails_when_the_upload_is_unknown(rt):
    assert_noop(abort(rt, "alice", 0), ModelRegistry.UnknownUpload)


def test_abort_upload_fails_when_it_was_already_aborted(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_ok(abort(rt, "alice", upload_id))
    assert_noop(abort(rt, "alice", upload_id), ModelRegistry.UnknownUpload)


def test_abort_upload_fails_when_the_caller_is_not_the_uploader(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_noop(abort(rt, "bob", upload_id), ModelRegistry.NotUploader)
