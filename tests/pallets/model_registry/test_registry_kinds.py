"""A runtime's model kinds are its own: the built-ins ModelRegistry contributes through the `model_kinds`
hook (all four, or the chain spec's choice) plus what other pallets add; the process-global
`models.register_kind` registry never changes what a chain accepts."""

from __future__ import annotations

import numpy as np
import pytest
from registry_helpers import DENSE, register

from cmu import models
from pallets.model_registry import ModelRegistry
from runtime.errors import PalletError
from runtime.pallet import Pallet, hookimpl
from runtime.testing import assert_noop, assert_ok, build_runtime

BUILT_IN = ["dense_perceptron", "naive_bayes", "nearest_centroid", "sparse_perceptron"]


class EchoKind(models.ModelKind):
    """A frozen kind that scores each label by a stored constant."""

    name = "echo_constant"
    trainable = False

    def resolve_params(self, spec, n_labels, given):
        return {}

    def flat_size(self, spec, n_labels):
        return n_labels

    def check_flat(self, w):
        return None

    def scores_q32(self, w, rows):
        return np.tile(w.flat << 16, (len(rows), 1))


class EchoKinds(Pallet):
    """Adds EchoKind through the model_kinds hook."""

    name, index = "EchoKinds", 252

    @hookimpl
    def model_kinds(self):
        return [EchoKind()]


class ShadowKinds(Pallet):
    """Tries to give a built-in name a second kind."""

    name, index = "ShadowKinds", 253

    @hookimpl
    def model_kinds(self):
        return [models.BUILTIN_KINDS["naive_bayes"]]


def test_kinds_works_with_the_four_built_ins_by_default():
    rt = build_runtime("ModelRegistry")
    assert list(rt.pallet(ModelRegistry).kinds) == BUILT_IN


def test_kinds_works_with_the_chain_specs_choice_of_built_ins():
    rt = build_runtime("ModelRegistry", genesis={"ModelRegistry": {"kinds": ["naive_bayes"]}})
    assert list(rt.pallet(ModelRegistry).kinds) == ["naive_bayes"]
    assert_ok(register(rt, kind="naive_bayes"))
    assert_noop(register(rt, kind="dense_perceptron"), ModelRegistry.UnknownKind)


def test_kinds_fails_when_the_chain_spec_names_no_built_in_kind():
    with pytest.raises(PalletError, match=r"no built-in kinds \['svm'\]"):
        build_runtime("ModelRegistry", genesis={"ModelRegistry": {"kinds": ["svm"]}})
    with pytest.raises(PalletError, match="must be a list of kind names"):
        build_runtime("ModelRegistry", genesis={"ModelRegistry": {"kinds": "naive_bayes"}})


def test_kinds_works_with_a_kind_a_pallet_adds_in_that_runtime_only():
    with_echo = build_runtime("ModelRegistry", EchoKinds)
    without = build_runtime("ModelRegistry")
    assert "echo_constant" in with_echo.pallet(ModelRegistry).kinds
    assert "echo_constant" not in without.pallet(ModelRegistry).kinds
    assert_ok(register(with_echo, kind="echo_constant", spec=DENSE))
    assert_noop(register(without, kind="echo_constant", spec=DENSE), ModelRegistry.UnknownKind)


def test_kinds_fails_when_a_pallet_gives_a_built_in_name_again():
    rt = build_runtime("ModelRegistry", ShadowKinds)
    with pytest.raises(PalletError, match="'naive_bayes' is defined twice"):
        rt.pallet(ModelRegistry).kinds  # noqa: B018


def test_kinds_ignores_the_process_global_registry():
    registry = models.KINDS
    registry.register(EchoKind)
    try:
        rt = build_runtime("ModelRegistry")
        assert "echo_constant" not in rt.pallet(ModelRegistry).kinds
        assert_noop(register(rt, kind="echo_constant", spec=DENSE), ModelRegistry.UnknownKind)
    finally:
        registry.unregister("echo_constant")
