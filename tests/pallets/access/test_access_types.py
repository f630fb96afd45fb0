"""Access's stored types round-trip through the canonical encoding, and split_revenue conserves every
unit of a price whatever the share and the contribution counts."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pallets.access.types import PERMILL, Grant, PassTerms, Policy, Role, Training, Visibility, split_revenue
from runtime.testing import build_runtime
from runtime.types import decode, encode

VALUES = [
    (Grant, Grant(Role.ADMIN, None)),
    (Grant, Grant(Role.READER, 4_294_967_295)),
    (Policy, Policy(Visibility.PERMISSIONED, Training.TRAINERS)),
    (PassTerms, PassTerms(2**64 - 1, 1, PERMILL)),
]


def test_stored_values_round_trip():
    for tp, value in VALUES:
        raw = encode(tp, value)
        assert decode(tp, raw) == value
        assert encode(tp, decode(tp, raw)) == raw


def test_metadata_describes_access_as_json():
    rt = build_runtime("ModelRegistry", "Access")
    described = json.loads(json.dumps(rt.runtime.metadata()))
    access = next(p for p in described["pallets"] if p["name"] == "Access")
    assert access["index"] == 11
    assert [c["index"] for c in access["calls"]] == list(range(9))


def test_split_revenue_works_with_a_remainder_for_the_owner():
    owner, shares = split_revenue(100, 500_000, [1, 1, 1])
    assert shares == [16, 16, 16]
    assert owner == 52


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(0, 2**64 - 1),
    permill=st.integers(0, PERMILL),
    counts=st.lists(st.integers(1, 2**32 - 1), max_size=20),
)
def test_split_revenue_conserves_the_price(price, permill, counts):
    owner, shares = split_revenue(price, permill, counts)
    assert owner + sum(shares) == price
    assert owner >= price - price * permill // PERMILL >= 0
    assert all(share >= 0 for share in shares)
    assert len(shares) == len(counts)
