"""ModelRegistry.remove_artifact: a claimant releases its claim on an artifact no model uses and gets its
deposit back; the last release deletes the artifact, keeping chunks shared with other artifacts."""

from __future__ import annotations

from registry_helpers import (
    CHUNK,
    PER_BYTE,
    REG,
    held,
    random_bytes,
    register_ok,
    registry,
    trained_bytes,
    upload,
)

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from runtime.crypto import blake2_256
from runtime.testing import assert_noop, assert_ok

COMMON = random_bytes(2 * CHUNK, seed=31)  # two full chunks both artifacts start with
FIRST = COMMON + random_bytes(CHUNK + 50, seed=32)
SECOND = COMMON + random_bytes(70, seed=33)


def remove(rt, who, root):
    return rt.call(who, f"{REG}.remove_artifact", root=root)


def test_remove_artifact_works(rt):
    free = rt.free_balance("alice")
    root = upload(rt, "alice", FIRST)
    result = remove(rt, "alice", root)
    assert_ok(result)
    reg = registry(rt)
    assert root not in reg.artifacts
    assert list(reg.chunks.items()) == []
    assert list(reg.chunk_refs.items()) == []
    assert held(rt, "alice") == 0
    assert rt.free_balance("alice") == free
    alice = rt.account("alice")
    assert result.events == [
        Balances.Released(who=alice, reason=UPLOAD_REASON, amount=len(FIRST) * PER_BYTE),
        ModelRegistry.ArtifactRemoved(root=root, chunks_deleted=4),
    ]


def test_remove_artifact_works_storing_shared_chunks_once_and_deleting_only_unshared_ones(rt):
    first = upload(rt, "alice", FIRST)
    second = upload(rt, "bob", SECOND)
    reg = registry(rt)
    shared = [blake2_256(p) for p in art.split_chunks(COMMON)]
    assert [reg.chunk_refs[h] for h in shared] == [2, 2]
    assert len(list(reg.chunks.keys())) == 5  # 2 shared + 2 of FIRST's own + 1 of SECOND's own
    assert_ok(remove(rt, "alice", first))
    assert rt.last_event() == ModelRegistry.ArtifactRemoved(root=first, chunks_deleted=2)
    assert [reg.chunk_refs[h] for h in shared] == [1, 1]
    assert len(list(reg.chunks.keys())) == 3
    assert reg.artifact_bytes(second) == SECOND
    assert held(rt, "alice") == 0
    assert held(rt, "bob") == len(SECOND) * PER_BYTE
    assert_ok(remove(rt, "bob", second))
    assert rt.last_event() == ModelRegistry.ArtifactRemoved(root=second, chunks_deleted=3)
    assert list(reg.chunks.items()) == []


def test_remove_artifact_works_for_a_chunk_repeated_inside_one_artifact(rt):
    piece = random_bytes(CHUNK, seed=34)
    root = upload(rt, "alice", piece * 3)
    reg = registry(rt)
    assert reg.chunk_refs[blake2_256(piece)] == 3
    assert_ok(remove(rt, "alice", root))
    assert rt.last_event() == ModelRegistry.ArtifactRemoved(root=root, chunks_deleted=1)
    assert list(reg.chunks.items()) == []


def test_remove_artifact_works_once_the_model_moved_to_another_artifact(rt):
    model = register_ok(rt, "alice")
    reg = registry(rt)
    initial = reg.models[model].artifact
    assert_noop(remove(rt, "alice", initial), ModelRegistry.ArtifactInUse)
    trained = upload(rt, "alice", trained_bytes("dense_perceptron"))
    assert_ok(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=trained))
    assert_ok(remove(rt, "alice", initial))
    assert initial not in reg.artifacts
    assert held(rt, "alice") == len(trained_bytes("dense_perceptron")) * PER_BYTE


def test_remove_artifact_fails_when_the_artifact_is_unknown(rt):
    assert_noop(remove(rt, "alice", art.artifact_root(FIRST)), ModelRegistry.UnknownArtifact)


def test_remove_artifact_fails_when_the_caller_holds_no_claim(rt):
    root = upload(rt, "alice", FIRST)
    assert_noop(remove(rt, "bob", root), ModelRegistry.NotClaimant)


def test_remove_artifact_works_releasing_one_claim_while_others_keep_the_artifact(rt):
    root = upload(rt, "alice", FIRST)
    assert_ok(rt.call("bob", f"{REG}.claim_artifact", root=root))
    result = remove(rt, "alice", root)
    assert_ok(result)
    reg = registry(rt)
    assert result.events[-1] == ModelRegistry.ClaimReleased(root=root, who=rt.account("alice"))
    assert (reg.artifacts[root].claims, held(rt, "alice")) == (1, 0)
    assert reg.artifact_bytes(root) == FIRST
    assert_ok(remove(rt, "bob", root))
    assert rt.last_event() == ModelRegistry.ArtifactRemoved(root=root, chunks_deleted=4)
    assert (list(reg.chunks.items()), held(rt, "bob")) == ([], 0)


def test_remove_artifact_fails_when_a_claimant_model_uses_it_even_if_others_claim_it(rt):
    data = trained_bytes("dense_perceptron")
    root = upload(rt, "alice", data)
    assert_ok(rt.call("bob", f"{REG}.claim_artifact", root=root))
    register_ok(rt, "bob", artifact=root)
    assert_noop(remove(rt, "alice", root), ModelRegistry.ArtifactInUse)
    assert_noop(remove(rt, "bob", root), ModelRegistry.ArtifactInUse)


def test_remove_artifact_fails_when_a_model_uses_it(rt):
    root = upload(rt, "alice", trained_bytes("dense_perceptron"))
    register_ok(rt, "alice", artifact=root)
    assert_noop(remove(rt, "alice", root), ModelRegistry.ArtifactInUse)
