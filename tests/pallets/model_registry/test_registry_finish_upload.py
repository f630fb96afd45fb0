"""ModelRegistry.finish_upload: once every chunk arrived and they hash to the announced root, the artifact
is stored (its deposit stays held until it is removed) and the upload's bookkeeping is dropped."""

from __future__ import annotations

from registry_helpers import (
    CHUNK,
    PER_BYTE,
    REG,
    begin,
    held,
    random_bytes,
    register_ok,
    registry,
    send_chunks,
    stored_bytes,
    trained_bytes,
)

from cmu.formats import artifact as art
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import Manifest
from runtime.crypto import blake2_256
from runtime.testing import assert_noop, assert_ok


def finish(rt, who, upload_id):
    return rt.call(who, f"{REG}.finish_upload", upload=upload_id)


def test_finish_upload_works(rt):
    data = random_bytes(5_000)
    root = art.artifact_root(data)
    upload_id = begin(rt, "bob", data)
    send_chunks(rt, "bob", upload_id, data)
    assert_ok(finish(rt, "bob", upload_id))
    reg = registry(rt)
    bob = rt.account("bob")
    deposit = len(data) * PER_BYTE
    assert reg.artifacts[root] == Manifest(len(data), (blake2_256(data),), 0, 1)
    assert reg.claims[root, bob] == deposit
    assert stored_bytes(rt, root) == data
    assert upload_id not in reg.uploads
    assert list(reg.upload_chunks.iter_prefix(upload_id)) == []
    assert list(reg.upload_expiry.items()) == []
    assert held(rt, "bob") == deposit
    assert rt.last_event() == ModelRegistry.ArtifactStored(root=root, size=len(data), uploader=bob)


def test_finish_upload_works_for_a_large_artifact_sent_in_any_order(rt):
    data = random_bytes(3 * CHUNK + 100, seed=5)
    root = art.artifact_root(data)
    pieces = art.split_chunks(data)
    assert [len(p) for p in pieces] == [CHUNK, CHUNK, CHUNK, 100]
    upload_id = begin(rt, "alice", data)
    send_chunks(rt, "alice", upload_id, data, order=[2, 0, 3, 1])
    assert_ok(finish(rt, "alice", upload_id))
    reg = registry(rt)
    manifest = reg.artifacts[root]
    assert manifest.chunks == tuple(blake2_256(p) for p in pieces)
    assert all(reg.chunk_refs[h] == 1 for h in manifest.chunks)
    assert stored_bytes(rt, root) == data
    assert art.verify_artifact(stored_bytes(rt, root), root) == data
    assert held(rt, "alice") == len(data) * PER_BYTE


def test_finish_upload_works_over_several_blocks_and_the_artifact_serves_a_model(rt):
    data = trained_bytes("dense_perceptron")
    upload_id = begin(rt, "charlie", data)
    rt.next_block()
    send_chunks(rt, "charlie", upload_id, data)
    rt.next_block()
    assert_ok(finish(rt, "charlie", upload_id))
    root = art.artifact_root(data)
    model = register_ok(rt, "charlie", artifact=root)
    assert registry(rt).models[model].artifact == root


def test_finish_upload_fails_when_the_upload_is_unknown(rt):
    assert_noop(finish(rt, "alice", 0), ModelRegistry.UnknownUpload)


def test_finish_upload_fails_when_the_caller_is_not_the_uploader(rt):
    data = random_bytes(100)
    upload_id = begin(rt, "alice", data)
    send_chunks(rt, "alice", upload_id, data)
    assert_noop(finish(rt, "bob", upload_id), ModelRegistry.NotUploader)


def test_finish_upload_fails_when_chunks_are_missing(rt):
    data = random_bytes(2 * CHUNK + 1)
    upload_id = begin(rt, "alice", data)
    assert_noop(finish(rt, "alice", upload_id), ModelRegistry.UploadIncomplete)
    send_chunks(rt, "alice", upload_id, data, order=[0, 2])
    assert_noop(finish(rt, "alice", upload_id), ModelRegistry.UploadIncomplete)


def test_finish_upload_fails_when_the_chunks_do_not_hash_to_the_root(rt):
    data = random_bytes(CHUNK + 10, seed=1)
    other = random_bytes(CHUNK + 10, seed=2)  # the same size, other bytes
    upload_id = begin(rt, "alice", data)
    send_chunks(rt, "alice", upload_id, other)
    assert_noop(finish(rt, "alice", upload_id), ModelRegistry.RootMismatch)


def test_finish_upload_works_as_a_claim_when_another_upload_stored_the_artifact_first(rt):
    data = random_bytes(300)
    first = begin(rt, "alice", data)
    second = begin(rt, "bob", data)
    send_chunks(rt, "alice", first, data)
    send_chunks(rt, "bob", second, data)
    assert_ok(finish(rt, "alice", first))
    result = finish(rt, "bob", second)
    assert_ok(result)
    reg = registry(rt)
    root = art.artifact_root(data)
    assert reg.chunk_refs[blake2_256(data)] == 1  # bob's duplicate chunk was dropped
    assert (reg.artifacts[root].claims, second in reg.uploads) == (2, False)
    assert reg.claims[root, rt.account("bob")] == held(rt, "bob") == len(data) * PER_BYTE
    assert result.events[-1] == ModelRegistry.ArtifactStored(root=root, size=300, uploader=rt.account("bob"))


def test_finish_upload_works_releasing_the_deposit_of_a_second_upload_by_a_claimant(rt):
    data = random_bytes(300)
    uploads = [begin(rt, "alice", data), begin(rt, "alice", data)]
    for upload_id in uploads:
        send_chunks(rt, "alice", upload_id, data)
        assert_ok(finish(rt, "alice", upload_id))
    reg = registry(rt)
    assert (reg.artifacts[art.artifact_root(data)].claims, held(rt, "alice")) == (1, len(data) * PER_BYTE)
    assert reg.chunk_refs[blake2_256(data)] == 1
