"""ModelRegistry.register: mint a model token owned by the caller, with the kind's initial weights stored as
an artifact (deposit held) or an already uploaded artifact referenced."""

from __future__ import annotations

import pytest
from registry_helpers import (
    DENSE,
    ED,
    KIND_NAMES,
    LABELS,
    PER_BYTE,
    REG,
    SCALE,
    fund,
    held,
    initial_bytes,
    random_bytes,
    register,
    register_ok,
    registry,
    stored_bytes,
    trained_bytes,
    upload,
)

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry import ModelRegistry
from pallets.model_registry.pallet import UPLOAD_REASON
from pallets.model_registry.types import MAX_FEATURES, MAX_LABELS, InputSpec, ModelMetadata
from runtime.errors import BadOrigin
from runtime.testing import assert_noop, assert_ok


def test_register_works_minting_sequential_ids_owned_by_the_caller(rt):
    reg = registry(rt)
    assert [register_ok(rt, who) for who in ("alice", "bob", "alice")] == [0, 1, 2]
    assert reg.next_model.get() == 3
    assert [reg.models[m].owner for m in range(3)] == [rt.account(w) for w in ("alice", "bob", "alice")]
    assert [m for m, _ in reg.owned.iter_prefix(rt.account("alice"))] == [0, 2]
    assert [m for m, _ in reg.owned.iter_prefix(rt.account("bob"))] == [1]


def test_register_works_storing_the_initial_weights_with_a_deposit(rt):
    data = initial_bytes("dense_perceptron")
    root = art.artifact_root(data)
    free = rt.free_balance("alice")
    result = register(rt, "alice", name="m", description="d", task="t", license="L")
    assert_ok(result)
    reg = registry(rt)
    info = reg.models[0]
    assert info.owner == rt.account("alice")
    assert info.approved is None
    assert info.metadata == ModelMetadata(name="m", description="d", task="t", license="L")
    assert (info.kind, info.input_spec, info.labels) == ("dense_perceptron", DENSE, LABELS)
    assert info.artifact == root
    assert not info.retired
    assert info.created_at == rt.block_number
    assert stored_bytes(rt, root) == data
    manifest = reg.artifacts[root]
    assert (manifest.size, manifest.refs, manifest.claims) == (len(data), 1, 1)
    assert reg.claims[root, rt.account("alice")] == len(data) * PER_BYTE
    assert held(rt, "alice") == len(data) * PER_BYTE
    assert rt.free_balance("alice") == free - len(data) * PER_BYTE
    assert result.events == [
        Balances.Held(who=rt.account("alice"), reason=UPLOAD_REASON, amount=len(data) * PER_BYTE),
        ModelRegistry.ModelRegistered(
            model=0, owner=rt.account("alice"), kind="dense_perceptron", artifact=root
        ),
    ]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_register_works_for_each_kind(rt, kind):
    model = register_ok(rt, "bob", kind=kind)
    info = registry(rt).models[model]
    assert info.kind == kind
    assert stored_bytes(rt, info.artifact) == initial_bytes(kind)
    assert rt.last_event() == ModelRegistry.ModelRegistered(
        model=model, owner=rt.account("bob"), kind=kind, artifact=info.artifact
    )


def test_register_works_with_an_uploaded_artifact_of_initial_weights(rt):
    data = initial_bytes("naive_bayes")
    root = upload(rt, "charlie", data)
    deposit = held(rt, "charlie")
    assert deposit == len(data) * PER_BYTE
    model = register_ok(rt, "charlie", kind="naive_bayes", artifact=root)
    reg = registry(rt)
    assert reg.models[model].artifact == root
    assert reg.artifacts[root].refs == 1
    assert held(rt, "charlie") == deposit  # no second deposit for a referenced artifact
    assert rt.last_event() == ModelRegistry.ModelRegistered(
        model=model, owner=rt.account("charlie"), kind="naive_bayes", artifact=root
    )


def test_register_fails_when_the_owner_holds_no_claim_on_the_artifact(rt):
    root = upload(rt, "dave", trained_bytes("nearest_centroid"))
    assert_noop(register(rt, "eve", kind="nearest_centroid", artifact=root), ModelRegistry.NotClaimant)


def test_register_works_with_an_artifact_claimed_from_another_uploader(rt):
    data = trained_bytes("nearest_centroid")
    root = upload(rt, "dave", data)
    assert_ok(rt.call("eve", f"{REG}.claim_artifact", root=root))
    model = register_ok(rt, "eve", kind="nearest_centroid", artifact=root)
    reg = registry(rt)
    assert reg.models[model].artifact == root
    assert (reg.artifacts[root].refs, reg.artifacts[root].claims) == (1, 2)
    assert held(rt, "eve") == held(rt, "dave") == len(data) * PER_BYTE


def test_register_works_with_trained_weights(rt):
    data = trained_bytes("sparse_perceptron")
    assert data != initial_bytes("sparse_perceptron")
    root = upload(rt, "alice", data)
    model = register_ok(rt, "alice", kind="sparse_perceptron", artifact=root)
    assert stored_bytes(rt, registry(rt).models[model].artifact) == data


def test_register_works_sharing_identical_initial_weights_each_owner_holding_a_claim(rt):
    first = register_ok(rt, "alice")
    second = register_ok(rt, "bob")
    third = register_ok(rt, "bob")
    reg = registry(rt)
    root = reg.models[first].artifact
    assert reg.models[second].artifact == reg.models[third].artifact == root
    assert (reg.artifacts[root].refs, reg.artifacts[root].claims) == (3, 2)  # stored once
    deposit = reg.artifacts[root].size * PER_BYTE
    assert reg.claims[root, rt.account("alice")] == reg.claims[root, rt.account("bob")] == deposit
    assert held(rt, "alice") == held(rt, "bob") == deposit  # one claim each, however many models


def test_register_works_through_a_signed_extrinsic_charging_fee_and_nonce(rt):
    free = rt.free_balance("bob")
    nonce = rt.account_info("bob").nonce
    result = rt.submit(
        "bob",
        f"{REG}.register",
        name="m",
        description="",
        task="t",
        kind="dense_perceptron",
        input_spec=DENSE,
        labels=LABELS,
        license="MIT",
        artifact=None,
    )
    assert_ok(result)
    deposit = len(initial_bytes("dense_perceptron")) * PER_BYTE
    assert result.fee > 0
    assert rt.account_info("bob").nonce == nonce + 1
    assert held(rt, "bob") == deposit
    assert rt.free_balance("bob") == free - result.fee - deposit
    assert registry(rt).models[0].owner == rt.account("bob")


def test_register_fails_when_the_origin_is_not_signed(rt):
    assert_noop(register(rt, "root"), BadOrigin)


def test_register_fails_when_the_kind_is_unknown(rt):
    assert_noop(register(rt, "alice", kind="random_forest", spec=DENSE), ModelRegistry.UnknownKind)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("dense_perceptron", InputSpec(0, False, 0, SCALE)),  # no features
        ("dense_perceptron", InputSpec(MAX_FEATURES + 1, False, 0, SCALE)),  # too many features
        ("dense_perceptron", InputSpec(4, False, SCALE, SCALE)),  # empty value range
        ("dense_perceptron", InputSpec(4, False, 2 * SCALE, -2 * SCALE)),  # inverted value range
        ("sparse_perceptron", InputSpec(4, True, 0, SCALE, 5)),  # max_nonzeros > n_features
        ("dense_perceptron", InputSpec(4, False, 0, SCALE, 2)),  # dense with max_nonzeros
        ("dense_perceptron", InputSpec(4, False, -(2**48), SCALE)),  # beyond the kinds' 2**47 bound
        ("dense_perceptron", InputSpec(4, True, 0, SCALE)),  # a dense kind given a sparse spec
        ("nearest_centroid", InputSpec(4, True, 0, SCALE)),  # a dense kind given a sparse spec
        ("sparse_perceptron", InputSpec(4, False, 0, SCALE)),  # a sparse kind given a dense spec
        ("naive_bayes", InputSpec(4, False, -SCALE, SCALE)),  # counts cannot be negative
    ],
)
def test_register_fails_when_the_input_spec_is_bad(rt, kind, spec):
    assert_noop(register(rt, "alice", kind=kind, spec=spec), ModelRegistry.BadInputSpec)


def test_register_fails_when_the_input_spec_is_bad_even_with_an_artifact(rt):
    root = upload(rt, "alice", initial_bytes("dense_perceptron"))
    bad = InputSpec(4, False, 0, SCALE, 2)  # dense with max_nonzeros: refused as a spec, not as weights
    assert_noop(register(rt, "alice", spec=bad, artifact=root), ModelRegistry.BadInputSpec)


@pytest.mark.parametrize(
    "labels",
    [(), ("only",), ("a", "b", "a"), tuple(f"l{i}" for i in range(MAX_LABELS + 1))],
    ids=["none", "one", "duplicate", "too-many"],
)
def test_register_fails_when_the_labels_are_bad(rt, labels):
    assert_noop(register(rt, "alice", labels=labels), ModelRegistry.BadLabels)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (initial_bytes("nearest_centroid"), "another kind"),
        (initial_bytes("dense_perceptron", labels=("a", "b")), "another label count"),
        (initial_bytes("dense_perceptron", spec=InputSpec(5, False, -8 * SCALE, 8 * SCALE)), "another spec"),
        (random_bytes(300), "not weights at all"),
    ],
    ids=["kind", "labels", "spec", "garbage"],
)
def test_register_fails_when_the_artifact_is_not_weights_of_this_model(rt, data, why):
    root = upload(rt, "alice", data)
    assert_noop(register(rt, "alice", kind="dense_perceptron", artifact=root), ModelRegistry.InvalidWeights)


def test_register_fails_when_the_artifact_is_unknown(rt):
    missing = art.artifact_root(initial_bytes("dense_perceptron"))
    assert_noop(register(rt, "alice", artifact=missing), ModelRegistry.UnknownArtifact)


def test_register_fails_when_the_initial_weights_are_too_large(rt, monkeypatch):
    monkeypatch.setattr(ModelRegistry, "MAX_ARTIFACT_SIZE", len(initial_bytes("dense_perceptron")) - 1)
    assert_noop(register(rt, "alice"), ModelRegistry.ArtifactTooLarge)


def test_register_fails_when_the_caller_cannot_pay_the_deposit(rt):
    fund(rt, "pauper", ED)
    spec = InputSpec(200, False, -SCALE, SCALE)
    assert len(initial_bytes("dense_perceptron", spec=spec)) * PER_BYTE > ED
    assert_noop(register(rt, "pauper", spec=spec), Balances.InsufficientBalance)
    assert registry(rt).next_model.get() == 0


def test_register_fails_through_an_extrinsic_keeping_the_fee_and_nonce(rt):
    spec = InputSpec(2_000, False, -SCALE, SCALE)  # a deposit of about 48 * ED
    deposit = len(initial_bytes("dense_perceptron", spec=spec)) * PER_BYTE
    fund(rt, "pauper", deposit - 1)  # the fee, but then not the deposit
    result = rt.submit(
        "pauper",
        f"{REG}.register",
        name="m",
        description="",
        task="t",
        kind="dense_perceptron",
        input_spec=spec,
        labels=LABELS,
        license="MIT",
        artifact=None,
    )
    assert result.error == "Balances.InsufficientBalance"
    assert rt.account_info("pauper").nonce == 1
    assert rt.free_balance("pauper") == deposit - 1 - result.fee
    assert held(rt, "pauper") == 0
    assert registry(rt).next_model.get() == 0
