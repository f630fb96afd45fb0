"""Input steps stored with a model: a text featurizer or a scaling step, optional trailing fields of the
input spec that are left off the stored bytes while absent (models stored before them keep their bytes
and so the chain its roots); registering with them, and the refusals."""

from __future__ import annotations

import msgpack
import pytest
from registry_helpers import register, register_ok, registry

from cmu.models import SCALE
from cmu.node.rpc_views import model_registry as query
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import (
    FeatureScaling,
    InputSpec,
    ModelInfo,
    ModelMetadata,
    TextInput,
    TextNorm,
)
from runtime.errors import CodecError
from runtime.testing import assert_noop
from runtime.types import decode, encode

TEXT = TextInput(r"(?u)\b\w\w+\b", True, 1, 2, True, False, TextNorm.L2)
TEXT_SPEC = InputSpec(1024, True, -SCALE, SCALE, 64, text=TEXT)


def test_a_spec_without_steps_keeps_its_five_field_encoding() -> None:
    spec = InputSpec(4, False, 0, 8 * SCALE)
    assert encode(InputSpec, spec) == msgpack.packb([4, False, 0, 8 * SCALE, 0])
    info = ModelInfo(b"\x01" * 32, None, ModelMetadata("m", "d", "t", "MIT"), "dense_perceptron", spec,  # type: ignore[arg-type]
                     ("a", "b"), b"\x02" * 32, False, 7)
    old = msgpack.packb([b"\x01" * 32, None, ["m", "d", "t", "MIT"], "dense_perceptron",
                         [4, False, 0, 8 * SCALE, 0], ["a", "b"], b"\x02" * 32, False, 7])
    assert encode(ModelInfo, info) == old  # a model stored before input steps existed: same bytes
    assert decode(ModelInfo, old) == info


def test_steps_round_trip_and_a_trailing_null_is_refused() -> None:
    scaled = InputSpec(2, False, -SCALE, SCALE, 0, scaling=FeatureScaling((2**32, 2**31), (0, 5)))
    for spec in (TEXT_SPEC, scaled):
        assert decode(InputSpec, encode(InputSpec, spec)) == spec
    assert msgpack.unpackb(encode(InputSpec, scaled))[5] is None  # text absent, scaling present
    with pytest.raises(CodecError):
        decode(InputSpec, msgpack.packb([4, False, 0, 8 * SCALE, 0, None]))


def test_register_works_with_a_text_featurizer(rt) -> None:
    model = register_ok(rt, kind="sparse_perceptron", spec=TEXT_SPEC)
    assert registry(rt).models[model].input_spec.text == TEXT
    answer = query.predict(rt.runtime, model, ["A great movie", "dull"])
    assert [p["label"] for p in answer["predictions"]] == [0, 0]  # initial weights: all scores 0
    assert query.model_json(model, registry(rt).models[model])["inputSpec"]["text"]["norm"] == "l2"


@pytest.mark.parametrize("spec", [
    InputSpec(1024, False, -SCALE, SCALE, 0, text=TEXT),  # text needs a sparse spec
    InputSpec(3, False, -SCALE, SCALE, 0, scaling=FeatureScaling((1, 1), (0, 0))),  # one per feature
    InputSpec(64, True, -SCALE, SCALE, 8, text=TextInput("(", True, 1, 1, True, False, TextNorm.NONE)),
    InputSpec(64, True, -SCALE, SCALE, 8, text=TextInput("a", True, 3, 1, True, False, TextNorm.NONE)),
])
def test_register_fails_when_the_input_step_does_not_fit(rt, spec) -> None:
    kind = "sparse_perceptron" if spec.sparse else "dense_perceptron"
    assert_noop(register(rt, kind=kind, spec=spec), ModelRegistry.BadInputSpec)


def test_text_is_refused_by_a_numeric_model_and_numbers_by_a_text_model(rt) -> None:
    numeric = register_ok(rt)
    text = register_ok(rt, kind="sparse_perceptron", spec=TEXT_SPEC)
    with pytest.raises(query.QueryError) as refused:
        query.predict(rt.runtime, numeric, "a great movie")
    assert refused.value.error == "TextForNumericModel"
    with pytest.raises(query.QueryError) as refused:
        query.predict(rt.runtime, text, [[1, 2]])
    assert refused.value.error == "NotText"
    with pytest.raises(query.QueryError) as refused:
        query.predict(rt.runtime, text, "word " * 10_000)
    assert refused.value.error == "TextTooLong"
