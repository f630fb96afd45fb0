"""ModelRegistry.claim_artifact: an account holds the per-byte deposit for an artifact someone else stored,
so its models may use it; the bytes are stored once whatever the number of claimants."""

from __future__ import annotations

from registry_helpers import PER_BYTE, REG, fund, held, random_bytes, registry, upload

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from runtime.testing import assert_noop, assert_ok

DATA = random_bytes(3_000, seed=41)


def claim(rt, who, root):
    return rt.call(who, f"{REG}.claim_artifact", root=root)


def test_claim_artifact_works(rt):
    root = upload(rt, "alice", DATA)
    chunks_before = sorted(registry(rt).chunks.keys())
    free = rt.free_balance("bob")
    result = claim(rt, "bob", root)
    assert_ok(result)
    reg, bob, deposit = registry(rt), rt.account("bob"), len(DATA) * PER_BYTE
    assert reg.claims[root, bob] == deposit
    assert (reg.artifacts[root].claims, reg.artifacts[root].refs) == (2, 0)
    assert sorted(reg.chunks.keys()) == chunks_before  # nothing stored twice
    assert (held(rt, "bob"), rt.free_balance("bob")) == (deposit, free - deposit)
    assert result.events == [
        Balances.Held(who=bob, reason=UPLOAD_REASON, amount=deposit),
        ModelRegistry.ArtifactClaimed(root=root, who=bob, deposit=deposit),
    ]


def test_claim_artifact_fails_when_the_artifact_is_unknown(rt):
    assert_noop(claim(rt, "bob", art.artifact_root(DATA)), ModelRegistry.UnknownArtifact)


def test_claim_artifact_fails_when_the_caller_already_holds_a_claim(rt):
    root = upload(rt, "alice", DATA)
    assert_noop(claim(rt, "alice", root), ModelRegistry.AlreadyClaimed)
    assert_ok(claim(rt, "bob", root))
    assert_noop(claim(rt, "bob", root), ModelRegistry.AlreadyClaimed)


def test_claim_artifact_fails_when_the_caller_cannot_hold_the_deposit(rt):
    root = upload(rt, "alice", DATA)
    fund(rt, "pauper", len(DATA) * PER_BYTE - 1)
    assert_noop(claim(rt, "pauper", root), Balances.InsufficientBalance)
