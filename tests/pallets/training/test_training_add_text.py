"""Training.add_text / refund_text / report_text: a text model's contribution is a document, featurized on
chain by the model's stored featurizer and applied by the kind's own update rule; its record keeps the
hash of [text, label], and a refund presents the document again."""

from __future__ import annotations

from training_helpers import LABELS, WAITS, T, advance, configure, training

from cmu.models import SCALE, get_kind
from cmu.models.inputs import ModelInput
from cmu.models.spec import InputSpec as KindSpec
from cmu.models.text import TextFeaturizer
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec, TextInput, TextNorm
from pallets.training import Training
from pallets.training.rules import data_hash
from runtime.testing import assert_noop, assert_ok

TEXT = TextInput(r"(?u)\b\w\w+\b", True, 1, 1, False, False, TextNorm.L2)
SPEC = InputSpec(256, True, -SCALE, SCALE, 32, text=TEXT)
INPUTS = ModelInput(KindSpec(256, True, -SCALE, SCALE, 32), TextFeaturizer(256, alternate_sign=False))
DOC = "A wonderful, moving film"


def text_model(rt) -> int:
    result = rt.call("alice", "ModelRegistry.register", name="reviews", description="", task="t",
                     kind="sparse_perceptron", input_spec=SPEC, labels=LABELS, license="", artifact=None)
    assert_ok(result)
    model = int([e for e in result.events if isinstance(e, ModelRegistry.ModelRegistered)][-1].model)
    assert_ok(configure(rt, model))
    return model


def test_add_text_works_and_updates_by_the_perceptron_rule(rt) -> None:
    model = text_model(rt)
    kind = get_kind("sparse_perceptron")
    before = rt.pallet(Training).versioning.current_weights(model)
    result = rt.call("bob", f"{T}.add_text", model=model, text=DOC, label=1)
    assert_ok(result)
    expected = kind.update(before, INPUTS.row(kind, DOC), 1).weights  # initial argmax is 0: a mistake
    assert rt.pallet(Training).versioning.current_weights(model) == expected != before
    added = [e for e in result.events if isinstance(e, Training.DataAdded)][-1]
    assert added.features == [] and added.data_hash == data_hash(DOC, 1)
    assert rt.last_event() == Training.TextAdded(model=model, contribution=added.contribution, text=DOC)
    assert training(rt).contribution(added.contribution).data_hash == data_hash(DOC, 1)


def test_refund_text_works_with_the_same_document(rt) -> None:
    model = text_model(rt)
    assert_ok(rt.call("bob", f"{T}.add_text", model=model, text=DOC, label=1))
    advance(rt, WAITS["refund_wait_s"])
    assert_noop(rt.call("bob", f"{T}.refund_text", contribution=0, text=DOC + "!", label=1),
                Training.DataMismatch)
    assert_ok(rt.call("bob", f"{T}.refund_text", contribution=0, text=DOC, label=1))


def test_add_text_fails_for_a_numeric_model_and_add_data_for_a_text_model(rt) -> None:
    from training_helpers import setup

    numeric, text = setup(rt), text_model(rt)
    assert_noop(rt.call("bob", f"{T}.add_text", model=numeric, text=DOC, label=1), Training.BadData)
    assert_noop(rt.call("bob", f"{T}.add_data", model=text, features=[1, 2], label=1), Training.BadData)


def test_text_calls_and_event_come_after_the_existing_ones() -> None:
    """Stored events carry their index and extrinsics their call index: adding text support must not
    move the existing ones (it would change every stored event and so every state root)."""
    events = [Training.ConfigSet, Training.DataAdded, Training.Refunded, Training.Taken, Training.TextAdded]
    assert [e.index for e in events] == [0, 1, 2, 3, 4]
    calls = {name: spec.index for name, spec in Training.call_specs.items()}
    assert [calls[n] for n in ("set_config", "add_data", "add_batch", "refund", "report")] == [0, 1, 2, 3, 4]
    assert [calls[n] for n in ("add_text", "refund_text", "report_text")] == [10, 11, 12]
