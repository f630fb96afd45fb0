"""ModelRegistry.retire: the owner retires a model; it stays and still predicts, but takes no new artifact."""

from __future__ import annotations

from registry_helpers import REG, initial_weights, kind_spec, register_ok, registry, trained_bytes, upload

from cmu import models
from cmu.node.rpc_views import model_registry as query
from pallets.model_registry import ModelRegistry
from runtime.testing import assert_noop, assert_ok


def test_retire_works(rt):
    model = register_ok(rt, "alice")
    before = registry(rt).models[model]
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    after = registry(rt).models[model]
    assert after.retired
    assert after.artifact == before.artifact
    assert after.owner == before.owner
    assert rt.last_event() == ModelRegistry.ModelRetired(model=model)


def test_retire_works_and_the_model_still_answers_predictions(rt):
    model = register_ok(rt, "alice", kind="nearest_centroid")
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    rt.next_block()
    row = [1.0, -2.0, 0.5, 3.0]
    info = registry(rt).models[model]
    kind = models.get_kind("nearest_centroid")
    rows = kind.quantize([row], kind_spec(info.input_spec))
    labels, scores = kind.predict(initial_weights("nearest_centroid"), rows)
    answer = query.predict(rt.runtime, model, row)
    assert answer["predictions"] == [
        {"label": int(labels[0]), "name": info.labels[int(labels[0])], "scores": [int(s) for s in scores[0]],
         "scoresReal": [int(s) / 2**16 for s in scores[0]]}
    ]


def test_retire_works_and_the_model_refuses_a_new_artifact(rt):
    model = register_ok(rt, "alice")
    root = upload(rt, "alice", trained_bytes("dense_perceptron"))
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    assert_noop(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=root), ModelRegistry.Retired)


def test_retire_fails_when_the_model_is_unknown(rt):
    assert_noop(rt.call("alice", f"{REG}.retire", model=0), ModelRegistry.UnknownModel)


def test_retire_fails_when_the_caller_is_not_the_owner(rt):
    model = register_ok(rt, "alice")
    assert_noop(rt.call("bob", f"{REG}.retire", model=model), ModelRegistry.NotOwner)


def test_retire_fails_when_the_model_is_already_retired(rt):
    model = register_ok(rt, "alice")
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    assert_noop(rt.call("alice", f"{REG}.retire", model=model), ModelRegistry.Retired)
