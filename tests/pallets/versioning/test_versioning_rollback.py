"""Versioning.rollback: a new version with an older version's weights; history is never rewritten."""

from __future__ import annotations

from versioning_helpers import V, initial_weights, publish_trained, register, training_step, versioning

from pallets.model_registry import ModelRegistry
from pallets.versioning import Versioning
from pallets.versioning.types import Cause
from runtime.testing import assert_noop, assert_ok


def rollback(rt, who, model, version):
    return rt.call(who, f"{V}.rollback", model=model, version=version, notes_hash=None)


def test_rollback_works(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    publish_trained(rt, model, 5)
    pallet = versioning(rt)
    before = [pallet.version(model, n) for n in range(3)]
    assert_ok(rollback(rt, "alice", model, 1))
    new = pallet.version(model, 3)
    assert (new.cause, new.parent, new.artifact, new.full) == (Cause.ROLLBACK, 1, before[1].artifact, True)
    assert [pallet.version(model, n) for n in range(3)] == before
    assert pallet.weights_at(model, 3) == pallet.weights_at(model, 1)
    assert pallet.latest(model) == 3
    assert rt.last_event() == Versioning.VersionCreated(
        model=model, version=3, parent=1, artifact=before[1].artifact, cause=Cause.ROLLBACK, full=True,
        author=rt.account("alice"), tag=None, notes_hash=None, metrics=(), contributions=(),
    )


def test_rollback_works_to_a_delta_version(rt):
    model = register(rt)
    pallet = versioning(rt)
    step = training_step(initial_weights(), 0)
    pallet.record_training_update(model, 1, step.indices, step.values)
    rt.next_block()
    publish_trained(rt, model, 4)
    assert not pallet.version(model, 1).full
    assert_ok(rollback(rt, "alice", model, 1))
    new = pallet.version(model, 3)
    assert (new.parent, new.artifact, new.depth) == (1, pallet.version(model, 1).artifact, 2)
    assert pallet.weights_at(model, 3) == step.weights


def test_rollback_fails_when_the_version_is_unknown(rt):
    model = register(rt)
    assert_noop(rollback(rt, "alice", model, 4), Versioning.UnknownVersion)


def test_rollback_fails_when_the_caller_is_not_a_maintainer(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_noop(rollback(rt, "bob", model, 0), Versioning.NotMaintainer)


def test_rollback_fails_when_the_version_is_deprecated(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", f"{V}.deprecate", model=model, version=0))
    assert_noop(rollback(rt, "alice", model, 0), Versioning.DeprecatedVersion)


def test_rollback_fails_when_the_model_is_retired(rt):
    model = register(rt)
    publish_trained(rt, model, 2)
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_noop(rollback(rt, "alice", model, 0), ModelRegistry.Retired)
