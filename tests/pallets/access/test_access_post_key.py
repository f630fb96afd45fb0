"""Access.post_key: a Maintainer (or higher) posts the data key of a confidential model sealed to an
account holding a role; only that account opens it, and it is the key the chain's key id names."""

from __future__ import annotations

import pytest
from access_helpers import (
    MAINTAINER,
    READER,
    access,
    confidential_model,
    grant_ok,
    post_key,
    register_model,
)

from cmu.client.confidential import DecryptionFailed, unwrap_key
from cmu.formats import envelope
from pallets.access import Access
from runtime.crypto import dev_keypair
from runtime.testing import assert_noop, assert_ok

KEY = b"\x05" * 32


def test_post_key_works(rt):
    model = confidential_model(rt, KEY)
    grant_ok(rt, "alice", model, "bob", READER)
    assert_ok(post_key(rt, "alice", model, "bob", KEY))
    wrapped = access(rt).wrapped_keys[model, rt.account("bob")]
    assert wrapped.key_id == envelope.key_id_of(KEY)
    assert unwrap_key(wrapped.sealed, dev_keypair("bob")) == KEY
    with pytest.raises(DecryptionFailed):
        unwrap_key(wrapped.sealed, dev_keypair("charlie"))
    assert access(rt).key_holders[model] == 2  # alice (the publisher, by the helper) and bob
    assert rt.last_event() == Access.KeyPosted(
        model=model, who=rt.account("bob"), key_id=envelope.key_id_of(KEY), by=rt.account("alice")
    )


def test_post_key_works_for_a_maintainer_and_replaces_a_holders_key(rt):
    model = confidential_model(rt, KEY, holders=("bob",))
    grant_ok(rt, "alice", model, "charlie", MAINTAINER)
    assert_ok(post_key(rt, "charlie", model, "bob", KEY))
    assert access(rt).key_holders[model] == 2


def test_post_key_fails_when_the_model_is_not_confidential(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", READER)
    assert_noop(post_key(rt, "alice", model, "bob", KEY), Access.NotConfidential)


def test_post_key_fails_when_the_caller_is_a_reader(rt):
    model = confidential_model(rt, KEY, holders=("bob",))
    grant_ok(rt, "alice", model, "charlie", READER)
    assert_noop(post_key(rt, "bob", model, "charlie", KEY), Access.NotAllowed)


def test_post_key_fails_when_the_account_holds_no_role(rt):
    model = confidential_model(rt, KEY)
    assert_noop(post_key(rt, "alice", model, "eve", KEY), Access.NoReadRole)


def test_post_key_fails_when_the_wrapped_key_has_the_wrong_length(rt):
    model = confidential_model(rt, KEY)
    grant_ok(rt, "alice", model, "bob", READER)
    result = rt.call("alice", "Access.post_key", model=model, who=rt.account("bob"), sealed=b"\x00" * 79)
    assert_noop(result, Access.BadWrappedKey)


def test_post_key_fails_when_the_model_has_too_many_key_holders(rt, monkeypatch):
    monkeypatch.setattr(Access, "MAX_KEY_HOLDERS", 2)
    model = confidential_model(rt, KEY, holders=("bob",))
    grant_ok(rt, "alice", model, "charlie", READER)
    assert_noop(post_key(rt, "alice", model, "charlie", KEY), Access.TooManyKeyHolders)
    assert_ok(post_key(rt, "alice", model, "bob", KEY))  # replacing a holder's key is still fine
