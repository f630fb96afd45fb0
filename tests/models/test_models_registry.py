"""The kind registry: fixed built-ins, custom kinds registered by name, typed refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pytest

from cmu.models import (
    BUILTIN_KINDS,
    KINDS,
    SCALE,
    InputSpec,
    KindAlreadyRegistered,
    KindRegistry,
    ModelKind,
    NotTrainable,
    UnknownKind,
    Weights,
    WrongType,
    get_kind,
)
from cmu.models.spec import FixedRows

SPEC = InputSpec(2, False, 0, SCALE)


class ConstantKind(ModelKind):
    """A frozen model that scores each label by a stored constant (not trainable)."""

    name = "constant"
    trainable = False
    param_names: ClassVar[tuple[str, ...]] = ()

    def resolve_params(self, spec: InputSpec, n_labels: int, given: Mapping[str, int]) -> dict[str, int]:
        return {}

    def flat_size(self, spec: InputSpec, n_labels: int) -> int:
        return n_labels

    def check_flat(self, w: Weights) -> None:
        return None

    def scores_q32(self, w: Weights, rows: FixedRows) -> np.ndarray:
        return np.tile(w.flat << 16, (len(rows), 1))


def test_builtins_are_listed_in_sorted_order_and_fixed() -> None:
    assert list(KINDS) == ["dense_perceptron", "naive_bayes", "nearest_centroid", "sparse_perceptron"]
    assert get_kind("naive_bayes") is BUILTIN_KINDS["naive_bayes"]
    with pytest.raises(TypeError):
        BUILTIN_KINDS["naive_bayes"] = ConstantKind()  # type: ignore[index]


def test_get_kind_fails_on_unknown_name() -> None:
    with pytest.raises(UnknownKind, match="no model kind named 'svm'"):
        get_kind("svm")
    assert KINDS.get("svm") is None and "svm" not in KINDS


def test_register_custom_kind_works_as_decorator() -> None:
    registry = KindRegistry()
    assert registry.register(ConstantKind) is ConstantKind
    kind = get_kind("constant", registry)
    w = kind.init_weights(SPEC, 3)
    labels, scores = kind.predict(w, [[0, 0]])
    assert labels.tolist() == [0] and scores.tolist() == [[0, 0, 0]]
    assert kind.decode(kind.encode(w), SPEC, 3) == w
    with pytest.raises(NotTrainable):
        kind.update(w, [0, 0], 1)
    registry.unregister("constant")
    assert "constant" not in registry and "constant" not in KINDS


def test_register_fails_on_taken_or_builtin_names() -> None:
    registry = KindRegistry()
    registry.register(ConstantKind())
    with pytest.raises(KindAlreadyRegistered):
        registry.register(ConstantKind)

    class Impostor(ConstantKind):
        name = "naive_bayes"

    with pytest.raises(KindAlreadyRegistered):
        registry.register(Impostor)
    with pytest.raises(KindAlreadyRegistered):
        registry.unregister("naive_bayes")


def test_register_fails_on_bad_kinds() -> None:
    class BadName(ConstantKind):
        name = "Bad Name"

    registry = KindRegistry()
    with pytest.raises(WrongType):
        registry.register(BadName)
    with pytest.raises(WrongType):
        registry.register(object())  # type: ignore[type-var]
    with pytest.raises(WrongType, match="encoded"):
        BadName().encode(BadName().init_weights(SPEC, 2))
