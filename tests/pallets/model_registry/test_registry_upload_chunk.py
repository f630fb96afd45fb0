"""ModelRegistry.upload_chunk: the uploader sends chunk `index` (CHUNK_SIZE bytes, the last one shorter),
in any order; each chunk is stored once under its hash, with a count of its users."""

from __future__ import annotations

from registry_helpers import CHUNK, REG, begin, error_message, random_bytes, registry, send_chunks, upload

from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from runtime.crypto import blake2_256
from runtime.testing import assert_noop, assert_ok

DATA = random_bytes(2 * CHUNK + 100, seed=11)
PIECES = art.split_chunks(DATA)


def chunk(rt, who, upload_id, index, data):
    return rt.call(who, f"{REG}.upload_chunk", upload=upload_id, index=index, data=data)


def test_upload_chunk_works(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_ok(chunk(rt, "alice", upload_id, 1, PIECES[1]))
    reg = registry(rt)
    digest = blake2_256(PIECES[1])
    assert reg.upload_chunks.get(upload_id, 1) == digest
    assert reg.chunks[digest] == PIECES[1]
    assert reg.chunk_refs[digest] == 1
    assert reg.uploads[upload_id].received == 1
    assert rt.last_event() == ModelRegistry.ChunkReceived(upload=upload_id, chunk=1, hash=digest)


def test_upload_chunk_works_in_any_order_with_a_short_last_chunk(rt):
    upload_id = begin(rt, "alice", DATA)
    for index in (2, 0, 1):
        assert_ok(chunk(rt, "alice", upload_id, index, PIECES[index]))
    assert len(PIECES[2]) == 100
    reg = registry(rt)
    assert reg.uploads[upload_id].received == 3
    assert [i for i, _ in reg.upload_chunks.iter_prefix(upload_id)] == [0, 1, 2]


def test_upload_chunk_works_sharing_a_chunk_already_stored(rt):
    upload(rt, "bob", PIECES[0] + b"tail of another artifact")
    reg = registry(rt)
    digest = blake2_256(PIECES[0])
    assert reg.chunk_refs[digest] == 1
    upload_id = begin(rt, "alice", DATA)
    assert_ok(chunk(rt, "alice", upload_id, 0, PIECES[0]))
    assert reg.chunk_refs[digest] == 2
    assert reg.chunks[digest] == PIECES[0]


def test_upload_chunk_fails_when_the_upload_is_unknown(rt):
    assert_noop(chunk(rt, "alice", 0, 0, PIECES[0]), ModelRegistry.UnknownUpload)


def test_upload_chunk_fails_when_the_upload_was_finished(rt):
    upload_id = begin(rt, "alice", DATA)
    send_chunks(rt, "alice", upload_id, DATA)
    assert_ok(rt.call("alice", f"{REG}.finish_upload", upload=upload_id))
    assert_noop(chunk(rt, "alice", upload_id, 0, PIECES[0]), ModelRegistry.UnknownUpload)


def test_upload_chunk_fails_when_the_caller_is_not_the_uploader(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_noop(chunk(rt, "bob", upload_id, 0, PIECES[0]), ModelRegistry.NotUploader)


def test_upload_chunk_fails_when_the_index_is_out_of_range(rt):
    upload_id = begin(rt, "alice", DATA)
    result = chunk(rt, "alice", upload_id, 3, PIECES[2])
    assert_noop(result, ModelRegistry.BadChunk)
    assert "out of range" in error_message(result)


def test_upload_chunk_fails_when_the_chunk_was_already_received(rt):
    upload_id = begin(rt, "alice", DATA)
    assert_ok(chunk(rt, "alice", upload_id, 0, PIECES[0]))
    result = chunk(rt, "alice", upload_id, 0, PIECES[0])
    assert_noop(result, ModelRegistry.BadChunk)
    assert "already received" in error_message(result)


def test_upload_chunk_fails_when_a_full_chunk_is_short(rt):
    upload_id = begin(rt, "alice", DATA)
    result = chunk(rt, "alice", upload_id, 1, PIECES[1][:-1])
    assert_noop(result, ModelRegistry.BadChunk)
    assert f"must be {CHUNK} bytes" in error_message(result)


def test_upload_chunk_fails_when_the_last_chunk_has_the_wrong_length(rt):
    upload_id = begin(rt, "alice", DATA)
    for wrong in (PIECES[2][:-1], PIECES[2] + b"x", PIECES[0]):
        result = chunk(rt, "alice", upload_id, 2, wrong)
        assert_noop(result, ModelRegistry.BadChunk)
        assert "must be 100 bytes" in error_message(result)
