"""cmu/node/query_auth.py: signed model queries are accepted once within the window and refused by name
when expired, replayed, for another chain, for other parameters or by another signer. The clock is a
stand-in here (these tests are about how the node reads its clock)."""

from __future__ import annotations

from typing import Any

import pytest

from cmu.formats.signed_query import canonical_params, named_params, sign_query
from cmu.node.query_auth import QueryAuth
from cmu.node.rpc_views.model_registry import QueryError
from runtime.crypto import dev_keypair

GENESIS = b"\x11" * 32
ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")
T0 = 1_700_000_000.0  # seconds
PARAMS = named_params("model_predict", (3, [[1.0, 2.5]], None, False, None))


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signed(keypair=ALICE, params=PARAMS, model: int | None = 3, at_s: float = T0, genesis=GENESIS) -> Any:
    return sign_query(keypair, "model_predict", params, model, genesis, int(at_s * 1000))


def refused(auth_check, name: str) -> None:
    with pytest.raises(QueryError) as caught:
        auth_check()
    assert caught.value.error == name, caught.value


def test_verify_works_for_a_fresh_signed_query():
    auth = QueryAuth(GENESIS, clock=Clock())
    assert auth.verify("model_predict", PARAMS, 3, signed()) == ALICE.account
    assert len(auth) == 1


def test_verify_works_unsigned_as_anonymous():
    assert QueryAuth(GENESIS, clock=Clock()).verify("model_predict", PARAMS, 3, None) is None


def test_verify_works_at_both_edges_of_the_window():
    clock = Clock()
    auth = QueryAuth(GENESIS, window_s=60, clock=clock)
    assert auth.verify("model_predict", PARAMS, 3, signed(at_s=T0 - 60)) == ALICE.account
    assert auth.verify("model_predict", PARAMS, 3, signed(at_s=T0 + 60)) == ALICE.account


def test_verify_fails_when_the_query_expired():
    auth = QueryAuth(GENESIS, window_s=60, clock=Clock())
    refused(lambda: auth.verify("model_predict", PARAMS, 3, signed(at_s=T0 - 60.001)), "QueryExpired")
    refused(lambda: auth.verify("model_predict", PARAMS, 3, signed(at_s=T0 + 61)), "QueryExpired")


def test_verify_fails_when_the_query_is_replayed():
    auth = QueryAuth(GENESIS, clock=Clock())
    query = signed()
    auth.verify("model_predict", PARAMS, 3, query)
    refused(lambda: auth.verify("model_predict", PARAMS, 3, query), "QueryReplayed")


def test_verify_fails_when_a_replay_comes_after_the_window_as_expired():
    clock = Clock()
    auth = QueryAuth(GENESIS, window_s=60, clock=clock)
    query = signed()
    auth.verify("model_predict", PARAMS, 3, query)
    clock.now = T0 + 61
    refused(lambda: auth.verify("model_predict", PARAMS, 3, query), "QueryExpired")
    auth.verify("model_predict", PARAMS, 3, signed(at_s=clock.now))
    assert len(auth) == 1  # the first signature left the cache once outside the window


def test_verify_fails_when_signed_for_another_chain():
    auth = QueryAuth(GENESIS, clock=Clock())
    other = signed(genesis=b"\x22" * 32)
    refused(lambda: auth.verify("model_predict", PARAMS, 3, other), "BadQuerySignature")


def test_verify_fails_when_the_params_differ_from_the_signed_ones():
    auth = QueryAuth(GENESIS, clock=Clock())
    changed = named_params("model_predict", (3, [[1.0, 2.5000001]], None, False, None))
    assert canonical_params(changed) != canonical_params(PARAMS)
    refused(lambda: auth.verify("model_predict", changed, 3, signed()), "BadQuerySignature")
    refused(lambda: auth.verify("model_predict", PARAMS, 4, signed()), "BadQuerySignature")
    refused(lambda: auth.verify("model_download", PARAMS, 3, signed()), "BadQuerySignature")


def test_verify_fails_when_the_signer_is_not_the_one_named():
    auth = QueryAuth(GENESIS, clock=Clock())
    forged = dict(signed(keypair=BOB), signer="0x" + bytes(ALICE.account).hex())
    refused(lambda: auth.verify("model_predict", PARAMS, 3, forged), "BadQuerySignature")


@pytest.mark.parametrize(
    "auth_value",
    [
        "not an object",
        {"signer": "0x00", "timestamp": int(T0 * 1000), "signature": "0x" + "00" * 64},
        {"signer": "0x" + "00" * 32, "timestamp": "soon", "signature": "0x" + "00" * 64},
        {"signer": "0x" + "00" * 32, "timestamp": int(T0 * 1000), "signature": "zz"},
    ],
)
def test_verify_fails_when_auth_is_malformed(auth_value):
    auth = QueryAuth(GENESIS, clock=Clock())
    refused(lambda: auth.verify("model_predict", PARAMS, 3, auth_value), "BadQuerySignature")


def test_verify_fails_when_the_replay_cache_is_full():
    auth = QueryAuth(GENESIS, capacity=2, clock=Clock())
    for n in range(2):
        params = named_params("model_predict", (3, [[float(n)]], None, False, None))
        auth.verify("model_predict", params, 3, signed(params=params))
    params = named_params("model_predict", (3, [[9.0]], None, False, None))
    refused(lambda: auth.verify("model_predict", params, 3, signed(params=params)), "QueryCacheFull")


def test_canonical_params_do_not_depend_on_key_order():
    assert canonical_params({"a": 1, "b": {"y": 2.0, "x": None}}) == canonical_params(
        {"b": {"x": None, "y": 2.0}, "a": 1}
    )
    assert canonical_params({"a": 1}) != canonical_params({"a": 1.0})
