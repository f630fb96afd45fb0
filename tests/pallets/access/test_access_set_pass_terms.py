"""Access.set_pass_terms: the owner sets a pass's price, duration and contributor share (price 0 stops
sales)."""

from __future__ import annotations

from access_helpers import ADMIN, ED, PRICE, access, grant_ok, register_model

from pallets.access import Access
from pallets.access.types import PassTerms
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def set_terms(rt, who, model, price=PRICE, duration=10, permill=250_000):
    return rt.call(
        who,
        "Access.set_pass_terms",
        model=model,
        price=price,
        duration_blocks=duration,
        contributor_share_permill=permill,
    )


def test_set_pass_terms_works(rt):
    model = register_model(rt)
    assert_ok(set_terms(rt, "alice", model))
    assert access(rt).pass_terms[model] == PassTerms(PRICE, 10, 250_000)
    assert rt.last_event() == Access.PassTermsSet(
        model=model, price=PRICE, duration_blocks=10, contributor_share_permill=250_000
    )


def test_set_pass_terms_works_at_the_bounds(rt):
    model = register_model(rt)
    assert_ok(set_terms(rt, "alice", model, price=ED, duration=1, permill=1_000_000))
    assert access(rt).pass_terms[model] == PassTerms(ED, 1, 1_000_000)


def test_set_pass_terms_works_with_price_zero_to_stop_sales(rt):
    model = register_model(rt)
    assert_ok(set_terms(rt, "alice", model))
    assert_ok(set_terms(rt, "alice", model, price=0, duration=0, permill=0))
    assert model not in access(rt).pass_terms
    assert rt.last_event() == Access.PassSalesClosed(model=model)


def test_set_pass_terms_fails_when_not_the_owner(rt):
    model = register_model(rt)
    grant_ok(rt, "alice", model, "bob", ADMIN)
    assert_noop(set_terms(rt, "bob", model), Access.OwnerOnly)
    assert_noop(set_terms(rt, "charlie", model), Access.OwnerOnly)


def test_set_pass_terms_fails_when_the_price_is_below_the_existential_deposit(rt):
    model = register_model(rt)
    assert_noop(set_terms(rt, "alice", model, price=ED - 1), Access.PriceTooLow)


def test_set_pass_terms_fails_when_the_duration_is_zero(rt):
    model = register_model(rt)
    assert_noop(set_terms(rt, "alice", model, duration=0), Access.ZeroDuration)


def test_set_pass_terms_fails_when_the_share_is_too_large(rt):
    model = register_model(rt)
    assert_noop(set_terms(rt, "alice", model, permill=1_000_001), Access.ShareTooLarge)


def test_set_pass_terms_fails_when_the_model_is_unknown(rt):
    assert_noop(set_terms(rt, "alice", 9), ModelRegistry.UnknownModel)
