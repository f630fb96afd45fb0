"""System.remark: a signed note whose blake2b-256 hash appears in the Remarked event."""

from __future__ import annotations

import pytest

from pallets.system import System
from pallets.system.pallet import MAX_REMARK
from runtime.crypto import blake2_256
from runtime.errors import BadArguments, BadOrigin
from runtime.testing import assert_noop, assert_ok


def test_remark_works(mock_runtime):
    rt = mock_runtime
    root = rt.state_root()
    assert_ok(rt.call("bob", "System.remark", remark=b"hello"))
    assert rt.last_event() == System.Remarked(sender=rt.account("bob"), hash=blake2_256(b"hello"))
    assert rt.state_root() == root  # a remark writes nothing but its event


def test_remark_works_at_the_maximum_length(mock_runtime):
    rt = mock_runtime
    assert_ok(rt.call("bob", "System.remark", remark=b"x" * MAX_REMARK))


def test_remark_works_as_a_signed_extrinsic_with_a_length_dependent_weight(mock_runtime):
    rt = mock_runtime
    short = rt.submit("bob", "System.remark", remark=b"a")
    long = rt.submit("bob", "System.remark", remark=b"a" * 1001)
    assert_ok(short)
    assert_ok(long)
    base = rt.runtime.fees.extrinsic_base_weight
    assert short.weight == base + 10_000 + 1
    assert long.weight == base + 10_000 + 1001
    assert rt.events()[-2] == System.Remarked(sender=rt.account("bob"), hash=blake2_256(b"a" * 1001))
    assert rt.account_info("bob").nonce == 2


def test_remark_fails_when_the_origin_is_root(mock_runtime):
    assert_noop(mock_runtime.call("root", "System.remark", remark=b"x"), BadOrigin)


def test_remark_fails_when_the_origin_is_none(mock_runtime):
    assert_noop(mock_runtime.call(None, "System.remark", remark=b"x"), BadOrigin)


def test_remark_fails_when_too_long(mock_runtime):
    with pytest.raises(BadArguments):
        mock_runtime.call("bob", "System.remark", remark=b"x" * (MAX_REMARK + 1))
