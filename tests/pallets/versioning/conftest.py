"""Fixtures of the Versioning tests (helpers live in versioning_helpers.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from versioning_chain import Chain
from versioning_helpers import TestMaintainers

from runtime.genesis import ChainSpec, dev_spec
from runtime.testing import MockRuntime


def _without_access() -> ChainSpec:
    """The dev spec minus Access: these tests name their Maintainers through their own hook (or none)."""
    base = dev_spec()
    return dataclasses.replace(base, pallets=tuple(p for p in base.pallets if p != "Access"))


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """ModelRegistry and Versioning, no access pallet (Maintainer = owner)."""
    return runtime_with("ModelRegistry", "Versioning", spec=_without_access())


@pytest.fixture
def rt_team(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """ModelRegistry, Versioning and TestMaintainers (extra Maintainers through the model_access hook)."""
    return runtime_with("ModelRegistry", "Versioning", TestMaintainers, spec=_without_access())


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """A real chain on LevelDB (Versioning, Access, TestTrainer) with the node's read API over it."""
    made = Chain(tmp_path / "db")
    yield made
    made.close()
