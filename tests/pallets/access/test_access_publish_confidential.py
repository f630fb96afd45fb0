"""Access.publish_confidential: a Maintainer makes an encrypted artifact a model's confidential version;
the old key id is refused once a key holder lost access (revoke, renounce, expiry, transfer), and a new
key drops the wrapped keys of the old one."""

from __future__ import annotations

from access_helpers import (
    MAINTAINER,
    READER,
    access,
    confidential_model,
    grant_ok,
    permissioned_model,
    post_key,
    publish,
    upload,
    upload_sealed,
)

from cmu.client.confidential import new_data_key
from cmu.formats import envelope
from pallets.access import Access
from pallets.access.types import Confidential
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok

KEY, NEW_KEY = b"\x01" * 32, b"\x02" * 32


def test_publish_confidential_works(rt):
    model = permissioned_model(rt)
    root = upload_sealed(rt, "alice", KEY)
    assert_ok(publish(rt, "alice", model, root))
    key_id = envelope.key_id_of(KEY)
    assert access(rt).confidential[model] == Confidential(root, key_id, rt.account("alice"), False)
    assert rt.pallet(ModelRegistry).artifacts[root].refs == 1
    assert rt.last_event() == Access.ConfidentialPublished(
        model=model, artifact=root, key_id=key_id, by=rt.account("alice")
    )


def test_publish_confidential_works_for_a_maintainer_and_releases_the_old_artifact(rt):
    model = confidential_model(rt, KEY)
    old = access(rt).confidential[model].artifact
    grant_ok(rt, "alice", model, "bob", MAINTAINER)
    root = upload_sealed(rt, "bob", KEY, b"better weights")
    assert_ok(publish(rt, "bob", model, root))
    assert access(rt).confidential[model].publisher == rt.account("bob")
    assert rt.pallet(ModelRegistry).artifacts[old].refs == 0


def test_publish_confidential_works_with_the_same_key_while_every_holder_may_read(rt):
    model = confidential_model(rt, KEY, holders=("bob",))
    assert_ok(publish(rt, "alice", model, upload_sealed(rt, "alice", KEY, b"v2")))
    assert (model, rt.account("bob")) in access(rt).wrapped_keys


def test_publish_confidential_works_with_a_new_key_and_drops_the_old_wrapped_keys(rt):
    model = confidential_model(rt, KEY, holders=("bob", "charlie"))
    assert_ok(rt.call("alice", "Access.revoke", model=model, who=rt.account("charlie")))
    assert_ok(publish(rt, "alice", model, upload_sealed(rt, "alice", NEW_KEY)))
    found = access(rt).confidential[model]
    assert found.key_id == envelope.key_id_of(NEW_KEY) and not found.rotation_pending
    assert list(access(rt).wrapped_keys.iter_prefix(model)) == []
    assert access(rt).key_holders[model] == 0


def test_publish_confidential_fails_when_a_holder_was_revoked(rt):
    model = confidential_model(rt, KEY, holders=("bob",))
    assert_ok(rt.call("alice", "Access.revoke", model=model, who=rt.account("bob")))
    assert rt.last_event() == Access.KeyRotationDue(model=model)
    assert access(rt).confidential[model].rotation_pending
    assert (model, rt.account("bob")) not in access(rt).wrapped_keys
    assert_noop(
        publish(rt, "alice", model, upload_sealed(rt, "alice", KEY, b"v2")), Access.KeyRotationPending
    )


def test_publish_confidential_fails_when_a_holder_renounced(rt):
    model = confidential_model(rt, KEY, holders=("bob",))
    assert_ok(rt.call("bob", "Access.renounce", model=model))
    assert_noop(
        publish(rt, "alice", model, upload_sealed(rt, "alice", KEY, b"v2")), Access.KeyRotationPending
    )


def test_publish_confidential_fails_when_a_holders_grant_expired(rt):
    model = confidential_model(rt, KEY)
    grant_ok(rt, "alice", model, "bob", READER, rt.block_number + 2)
    assert_ok(post_key(rt, "alice", model, "bob", KEY))
    root = upload_sealed(rt, "alice", KEY, b"v2")
    rt.run_to_block(rt.block_number + 1)
    assert_ok(publish(rt, "alice", model, root))
    rt.run_to_block(rt.block_number + 2)
    root3 = upload_sealed(rt, "alice", KEY, b"v3")
    assert_noop(publish(rt, "alice", model, root3), Access.KeyRotationPending)
    assert_ok(publish(rt, "alice", model, upload_sealed(rt, "alice", NEW_KEY, b"v3")))


def test_publish_confidential_fails_when_the_publisher_lost_the_token(rt):
    model = confidential_model(rt, KEY)
    assert_ok(rt.call("alice", "ModelRegistry.transfer", model=model, dest=rt.account("bob")))
    assert_noop(publish(rt, "bob", model, upload_sealed(rt, "bob", KEY, b"v2")), Access.KeyRotationPending)
    assert_ok(publish(rt, "bob", model, upload_sealed(rt, "bob", NEW_KEY, b"v2")))


def test_publish_confidential_fails_when_the_caller_is_a_reader(rt):
    model = permissioned_model(rt)
    grant_ok(rt, "alice", model, "bob", READER)
    assert_noop(publish(rt, "bob", model, upload_sealed(rt, "bob", KEY)), Access.NotAllowed)


def test_publish_confidential_fails_when_the_artifact_is_not_sealed(rt):
    model = permissioned_model(rt)
    plain = upload(rt, "alice", b"plain bytes, no header" * 4)
    assert_noop(publish(rt, "alice", model, plain), Access.NotSealed)


def test_publish_confidential_fails_when_the_caller_holds_no_claim_on_it(rt):
    model = permissioned_model(rt)
    assert_noop(publish(rt, "alice", model, upload_sealed(rt, "bob", KEY)), ModelRegistry.NotClaimant)


def test_publish_confidential_fails_when_the_model_is_retired(rt):
    model = permissioned_model(rt)
    root = upload_sealed(rt, "alice", new_data_key())
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_noop(publish(rt, "alice", model, root), ModelRegistry.Retired)


def test_publish_confidential_fails_when_the_artifact_is_unknown(rt):
    model = permissioned_model(rt)
    assert_noop(publish(rt, "alice", model, b"\x07" * 32), ModelRegistry.UnknownArtifact)
