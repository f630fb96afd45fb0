"""Training.add_data: deposit from the time since the model's last update (cost_weight * 3600 //
isqrt(seconds), divisor 1 at 0 s), the record keeps the data's hash, the raw data is in the event only,
the model is updated at once (visible to the next contribution in the same block) and each block's
updates become one version; access, mechanism and data checks refuse with typed errors."""

from __future__ import annotations

import pytest
from training_helpers import (
    COST,
    SCALE,
    SPECS,
    WAITS,
    T,
    add,
    advance,
    configure,
    held,
    register,
    row,
    setup,
    training,
)

from pallets.access.types import Role, Visibility
from pallets.access.types import Training as TrainingPolicy
from pallets.model_registry import ModelRegistry
from pallets.training import Training, rules
from pallets.training.types import Contribution, Mechanism, Status
from pallets.versioning import Versioning
from pallets.versioning.types import Cause
from runtime.errors import DispatchError, PalletError
from runtime.pallet import Origin, Pallet, call
from runtime.testing import assert_noop, assert_ok
from runtime.testing.mock import build_runtime
from runtime.types import I64, U32

DENSE = "dense_perceptron"


def call_add(rt, who, model, features, label):
    return rt.call(who, f"{T}.add_data", model=model, features=features, label=label)


def test_add_data_works(rt):
    model = setup(rt)
    features = row(DENSE, True)
    free = rt.free_balance("bob")
    cid = add(rt, "bob", model, features, 1)
    deposit = COST * 3_600  # configured in this block: 0 s since the last update, divisor 1
    assert rt.free_balance("bob") == free - deposit and held(rt, "bob") == deposit
    data_hash = rules.data_hash(features, 1)
    assert training(rt).contribution(cid) == Contribution(
        model, rt.account("bob"), data_hash, 1, deposit, deposit, rt.now, 0, Status.OPEN,
        training(rt).model_terms[model],
    )
    assert rt.last_event() == Training.DataAdded(
        model=model, contribution=cid, contributor=rt.account("bob"), deposit=deposit, label=1,
        data_hash=data_hash, features=features, version=0, changed=True,
    )
    assert (model, cid) in training(rt).by_model and (rt.account("bob"), cid) in training(rt).by_contributor


def test_add_data_works_on_sparse_models(rt):
    model = setup(rt, "sparse_perceptron")
    cid = add(rt, "bob", model, [1, 2, 3], 1)
    weights = rt.pallet(Versioning).current_weights(model)
    n_features = SPECS["sparse_perceptron"].n_features
    assert [int(weights.flat[2 + n_features + i]) for i in (1, 2, 3)] == [SCALE] * 3  # W[pos, 1..3] += 1.0
    assert training(rt).contribution(cid).data_hash == rules.data_hash([1, 2, 3], 1)


def test_add_data_updates_the_model_at_once_for_the_next_contribution_in_the_block(rt):
    model = setup(rt)
    first = call_add(rt, "bob", model, row(DENSE, True), 1)
    assert first.events[-1].changed  # fresh perceptron predicts label 0: a mistake, so an update
    second = call_add(rt, "charlie", model, row(DENSE, True), 1)
    assert not second.events[-1].changed  # the first update is visible: predicted right, no update


def test_add_data_updates_of_a_block_become_one_version(rt):
    model = setup(rt)
    ids = [add(rt, "bob", model, row(DENSE, True), 1), add(rt, "charlie", model, row(DENSE, False), 0)]
    versioning = rt.pallet(Versioning)
    expected = versioning.current_weights(model).flat.copy()
    assert versioning.latest(model) == 0
    rt.next_block()
    assert versioning.latest(model) == 1
    record = versioning.version(model, 1)
    assert (record.cause, record.contributions) == (Cause.TRAINING, tuple(ids))
    assert (versioning.weights_at(model, 1).flat == expected).all()
    later = add(rt, "bob", model, row(DENSE, True), 1)
    assert training(rt).contribution(later).version == 1


@pytest.mark.parametrize(("gap_ms", "divisor"), [
    (0, 1), (999, 1), (1_000, 1), (3_999, 1), (4_000, 2), (8_999, 2), (9_000, 3), (3_600_000, 60),
])
def test_add_data_deposit_is_cost_weight_times_3600_over_isqrt_of_seconds(rt, gap_ms, divisor):
    model = setup(rt)
    add(rt, "bob", model, row(DENSE, True), 1)  # the model's last update: now
    rt.next_block(advance_ms=gap_ms) if gap_ms else None
    cid = add(rt, "charlie", model, row(DENSE, True), 1)
    assert training(rt).contribution(cid).initial_deposit == COST * 3_600 // divisor


def test_add_data_deposit_rounds_down_to_zero_and_holds_nothing(rt):
    model = setup(rt, cost_weight=1)
    rt.next_block(advance_ms=3_601**2 * 1_000)  # isqrt = 3601 > 3600
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    assert training(rt).contribution(cid).initial_deposit == 0 and held(rt, "bob") == 0


def test_add_data_deposit_counts_from_the_configuration_before_any_contribution(rt):
    model = setup(rt)
    advance(rt, 16)
    assert training(rt).deposit_at(model, rt.now) == COST * 3_600 // 4
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    assert training(rt).contribution(cid).initial_deposit == COST * 900


def test_add_data_holds_no_deposit_under_points(rt):
    model = setup(rt, mechanism=Mechanism.POINTS)
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    assert training(rt).contribution(cid).initial_deposit == 0 and held(rt, "bob") == 0


def test_add_data_works_for_a_trainer_under_trainers(rt):
    model = setup(rt, mechanism=Mechanism.TRAINERS)
    assert_ok(rt.call("alice", "Access.grant", model=model, who=rt.account("bob"), role=Role.TRAINER,
                      expires_at=None))
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    assert training(rt).contribution(cid).initial_deposit == 0 and held(rt, "bob") == 0


def test_add_data_fails_when_not_a_trainer_under_trainers(rt):
    model = setup(rt, mechanism=Mechanism.TRAINERS)
    assert_ok(rt.call("alice", "Access.grant", model=model, who=rt.account("bob"), role=Role.READER,
                      expires_at=None))
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), Training.NotTrainer)


def test_add_data_fails_when_the_access_policy_refuses(rt):
    model = setup(rt)
    assert_ok(rt.call("alice", "Access.set_policy", model=model, visibility=Visibility.PUBLIC,
                      training=TrainingPolicy.TRAINERS))
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), Training.NotAllowed)


def test_add_data_fails_when_the_model_is_permissioned(rt):
    """A permissioned model's weights are encrypted: the chain cannot train them, not even for its
    Trainers; contributions made while it was public still settle."""
    model = setup(rt)
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    publish_sealed(rt, model)
    assert_ok(rt.call("alice", "Access.set_policy", model=model, visibility=Visibility.PERMISSIONED,
                      training=TrainingPolicy.OPEN))
    assert_ok(rt.call("alice", "Access.grant", model=model, who=rt.account("charlie"), role=Role.TRAINER,
                      expires_at=None))
    assert_noop(call_add(rt, "charlie", model, row(DENSE, True), 1), Training.ConfidentialModel)
    assert_noop(call_add(rt, "alice", model, row(DENSE, True), 1), Training.ConfidentialModel)
    assert_noop(configure(rt, model, cost_weight=COST + 1), Training.ConfidentialModel)
    advance(rt, WAITS["refund_wait_s"])
    assert_ok(rt.call("bob", f"{T}.refund", contribution=cid, features=row(DENSE, True), label=1))


def publish_sealed(rt, model: int) -> None:
    """Alice uploads an encrypted artifact and publishes it as the model's confidential version."""
    from cmu.client.confidential import new_data_key, seal_artifact
    from cmu.formats import artifact as art

    data = seal_artifact(b"secret weights", new_data_key())
    root = art.artifact_root(data)
    begun = rt.call("alice", "ModelRegistry.begin_upload", root=root, size=len(data))
    assert_ok(begun)
    upload = int(begun.events[-1].upload)
    for index, piece in enumerate(art.split_chunks(data)):
        assert_ok(rt.call("alice", "ModelRegistry.upload_chunk", upload=upload, index=index, data=piece))
    assert_ok(rt.call("alice", "ModelRegistry.finish_upload", upload=upload))
    assert_ok(rt.call("alice", "Access.publish_confidential", model=model, artifact=root))


def test_add_data_fails_when_training_is_not_configured(rt):
    model = register(rt)
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), Training.TrainingDisabled)


def test_add_data_fails_when_training_is_disabled(rt):
    model = setup(rt)
    assert_ok(configure(rt, model, enabled=False))
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), Training.TrainingDisabled)


def test_add_data_fails_when_the_model_is_retired(rt):
    model = setup(rt)
    assert_ok(rt.call("alice", "ModelRegistry.retire", model=model))
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), ModelRegistry.Retired)


@pytest.mark.parametrize(("kind", "features", "label"), [
    (DENSE, [SCALE, 0], 1),  # too few features
    (DENSE, [SCALE, 0, 0, 0], 1),  # too many
    (DENSE, [5 * SCALE, 0, 0], 1),  # above max_value (4.0)
    (DENSE, [SCALE, 0, 0], 2),  # label outside the two labels
    ("sparse_perceptron", [3, 2], 1),  # not increasing
    ("sparse_perceptron", [2, 2], 1),  # repeated index
    ("sparse_perceptron", [1, 20], 1),  # index outside [0, 20)
    ("sparse_perceptron", [-1, 2], 1),  # negative index
    ("sparse_perceptron", list(range(9)), 1),  # more than max_nonzeros (8)
    ("naive_bayes", [-SCALE, 0, 0], 1),  # a negative count
])
def test_add_data_fails_when_the_data_does_not_fit_the_model(rt, kind, features, label):
    model = setup(rt, kind)
    assert_noop(call_add(rt, "bob", model, features, label), Training.BadData)


def test_add_data_fails_when_the_deposit_cannot_be_paid(rt):
    model = setup(rt)
    poor = rt.account("poor")
    assert_ok(rt.call("alice", "Balances.transfer", dest=poor, value=COST * 3_600 - 1))
    assert_noop(call_add(rt, poor, model, row(DENSE, True), 1), Training.CannotPayDeposit)


def test_add_data_fails_when_unsigned(rt):
    model = setup(rt)
    result = rt.call("root", f"{T}.add_data", model=model, features=row(DENSE, True), label=1)
    assert type(result.error).__name__ == "BadOrigin"


def test_add_data_works_without_an_access_pallet(runtime_with):
    rt = runtime_with("Versioning", "Training")
    model = setup(rt)
    cid = add(rt, "bob", model, row(DENSE, True), 1)
    advance(rt, 60)
    assert_ok(rt.call("bob", f"{T}.refund", contribution=cid, features=row(DENSE, True), label=1))
    assert training(rt).good_count(model, rt.account("bob")) == 1


def test_add_data_fails_when_not_the_owner_under_trainers_without_an_access_pallet(runtime_with):
    rt = runtime_with("Versioning", "Training")
    model = setup(rt, mechanism=Mechanism.TRAINERS)
    assert_noop(call_add(rt, "bob", model, row(DENSE, True), 1), Training.NotTrainer)
    assert_ok(call_add(rt, "alice", model, row(DENSE, True), 1))


def test_training_needs_the_versioning_pallet():
    with pytest.raises(PalletError, match="needs the Versioning pallet"):
        build_runtime("Training")


class AddThenFail(Pallet):
    """A caller that adds data through Training, then fails: everything it did must roll back."""

    name, index = "AddThenFail", 252

    class Boom(DispatchError):
        """Fails on purpose after the nested add_data succeeded."""

    @call(index=0, weight=10_000)
    def add_then_fail(self, origin: Origin, model: U32, features: list[I64], label: U32) -> None:
        """Training.add_data as the caller, then Boom."""
        nested = self.runtime.make_call("Training.add_data", model=model, features=features, label=label)
        assert self.runtime.dispatch_nested(nested, origin) == ""
        raise self.Boom("after the update")


def test_add_data_is_undone_with_its_model_update_when_an_enclosing_call_fails(runtime_with):
    rt = runtime_with("Versioning", "Access", "Training", AddThenFail)
    model = setup(rt)
    versioning = rt.pallet(Versioning)
    before = versioning.current_weights(model).flat.copy()
    result = rt.call("bob", "AddThenFail.add_then_fail", model=model, features=row(DENSE, True), label=1)
    assert_noop(result, AddThenFail.Boom)
    assert (versioning.current_weights(model).flat == before).all()
    assert training(rt).next_contribution.get() == 0 and held(rt, "bob") == 0
    rt.next_block()
    assert versioning.latest(model) == 0  # no training version for an update that was rolled back
