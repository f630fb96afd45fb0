"""ModelRegistry.begin_upload: announce an artifact by root and size, holding size x DEPOSIT_PER_BYTE."""

from __future__ import annotations

from registry_helpers import CHUNK, ED, PER_BYTE, REG, begin, fund, held, random_bytes, registry, upload

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from pallets.model_registry.types import Upload
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok

TTL = ModelRegistry.UPLOAD_TTL


def test_begin_upload_works(rt):
    data = random_bytes(3 * CHUNK + 100)
    root = art.artifact_root(data)
    free = rt.free_balance("bob")
    result = rt.call("bob", f"{REG}.begin_upload", root=root, size=len(data))
    assert_ok(result)
    deposit = len(data) * PER_BYTE
    bob = rt.account("bob")
    reg = registry(rt)
    expires = rt.block_number + TTL
    assert reg.uploads[0] == Upload(bob, root, len(data), 0, expires, deposit)
    assert reg.upload_expiry.get(expires, 0) is True
    assert reg.next_upload.get() == 1
    assert held(rt, "bob") == deposit
    assert rt.free_balance("bob") == free - deposit
    assert result.events == [
        Balances.Held(who=bob, reason=UPLOAD_REASON, amount=deposit),
        ModelRegistry.UploadStarted(upload=0, uploader=bob, root=root, size=len(data), deposit=deposit),
    ]


def test_begin_upload_works_for_several_uploads_with_sequential_ids(rt):
    first = begin(rt, "alice", random_bytes(10, seed=1))
    second = begin(rt, "bob", random_bytes(20, seed=2))
    third = begin(rt, "alice", random_bytes(10, seed=1))  # the same root twice in flight is allowed
    assert (first, second, third) == (0, 1, 2)
    assert held(rt, "alice") == 20 * PER_BYTE
    assert held(rt, "bob") == 20 * PER_BYTE


def test_begin_upload_works_through_a_signed_extrinsic(rt):
    data = random_bytes(1_000)
    free = rt.free_balance("charlie")
    result = rt.submit("charlie", f"{REG}.begin_upload", root=art.artifact_root(data), size=len(data))
    assert_ok(result)
    assert rt.free_balance("charlie") == free - result.fee - len(data) * PER_BYTE
    assert rt.account_info("charlie").nonce == 1


def test_begin_upload_fails_when_the_origin_is_not_signed(rt):
    data = random_bytes(10)
    assert_noop(rt.call(None, f"{REG}.begin_upload", root=art.artifact_root(data), size=10), BadOrigin)


def test_begin_upload_fails_when_the_artifact_is_empty(rt):
    result = rt.call("alice", f"{REG}.begin_upload", root=art.artifact_root(b""), size=0)
    assert_noop(result, ModelRegistry.ArtifactTooLarge)


def test_begin_upload_fails_when_the_artifact_is_too_large(rt):
    size = ModelRegistry.MAX_ARTIFACT_SIZE + 1
    result = rt.call("alice", f"{REG}.begin_upload", root=b"\x01" * 32, size=size)
    assert_noop(result, ModelRegistry.ArtifactTooLarge)


def test_begin_upload_fails_when_the_artifact_is_already_stored(rt):
    data = random_bytes(100)
    root = upload(rt, "alice", data)
    result = rt.call("bob", f"{REG}.begin_upload", root=root, size=len(data))
    assert_noop(result, ModelRegistry.ArtifactExists)


def test_begin_upload_fails_when_the_caller_cannot_pay_the_deposit(rt):
    fund(rt, "pauper", ED)
    size = ED // PER_BYTE + 1
    result = rt.call("pauper", f"{REG}.begin_upload", root=art.artifact_root(random_bytes(size)), size=size)
    assert_noop(result, Balances.InsufficientBalance)
    assert registry(rt).next_upload.get() == 0
