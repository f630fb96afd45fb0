"""service.rpc_views.versioning: history, verify and diff behind the RPC methods (on a mock runtime)."""

from __future__ import annotations

import pytest
from versioning_helpers import encode, initial_weights, publish_trained, register, training_step, versioning

from cmu.formats import artifact as art
from cmu.node.rpc_views import versioning as query
from cmu.node.rpc_views.model_registry import QueryError


def test_history_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    publish_trained(rt, model, 5)
    page = query.history(rt.runtime, model)
    assert [r["version"] for r in page["versions"]] == [0, 1, 2]
    assert [r["version"] for r in query.history(rt.runtime, model, 1, 1)["versions"]] == [1]
    assert query.history(rt.runtime, model, 5)["versions"] == []


def test_verify_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    root = versioning(rt).version(model, 1).artifact
    assert query.verify(rt.runtime, model, 1, root)["valid"]
    assert not query.verify(rt.runtime, model, 0, root)["valid"]
    with pytest.raises(QueryError):
        query.verify(rt.runtime, model, 7, root)


def test_verify_works_for_a_delta_version(rt):
    model = register(rt)
    step = training_step(initial_weights(), 0)
    versioning(rt).record_training_update(model, 0, step.indices, step.values)
    rt.next_block()
    assert query.verify(rt.runtime, model, 1, art.artifact_root(encode(step.weights)))["valid"]


def test_diff_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert query.diff(rt.runtime, model, 0, 0)["changed"] == []
    assert query.diff(rt.runtime, model, 0, 1)["changed"] == [0]  # a small model is one chunk
    step = training_step(versioning(rt).weights_at(model, 1), 1)
    versioning(rt).record_training_update(model, 0, step.indices, step.values)
    rt.next_block()
    assert query.diff(rt.runtime, model, 1, 2)["changed"] == ([0] if step.changed else [])


def test_verify_fails_when_the_model_is_unknown(rt):
    with pytest.raises(QueryError) as raised:
        query.verify(rt.runtime, 5, 0, b"\0" * 32)
    assert raised.value.error == "UnknownModel"


def test_resolve_known_works_like_the_pallets_resolve(rt):
    from runtime.testing import assert_ok

    untouched, model = register(rt), register(rt)
    publish_trained(rt, model, 2)
    publish_trained(rt, model, 4)
    pallet = versioning(rt)
    reg = pallet.registry
    for selector in (None, 0, "latest"):
        assert query.resolve_known(rt.runtime, untouched, reg.model(untouched), selector) == pallet.version(
            untouched, pallet.resolve(untouched, None, selector))
    for selectors in ((None, 0, 2, "latest"), (None, 0, 1, 2, "latest", "stable")):
        if "stable" in selectors:
            assert_ok(rt.call("alice", "Versioning.set_channel", model=model, channel="stable", version=1))
        for selector in selectors:
            expected = pallet.version(model, pallet.resolve(model, None, selector))
            assert query.resolve_known(rt.runtime, model, reg.model(model), selector) == expected
    for selector, error in ((3, "UnknownVersion"), ("beta", "UnknownChannel")):
        with pytest.raises(QueryError) as raised:
            query.resolve_known(rt.runtime, model, reg.model(model), selector)
        assert raised.value.error == error
