"""Fixtures of the Versioning tests (helpers live in versioning_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from versioning_chain import Chain
from versioning_helpers import TestMaintainers

from runtime.testing import MockRuntime


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """ModelRegistry and Versioning, no access pallet (Maintainer = owner)."""
    return runtime_with("ModelRegistry", "Versioning")


@pytest.fixture
def rt_team(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """ModelRegistry, Versioning and TestMaintainers (extra Maintainers through the model_access hook)."""
    return runtime_with("ModelRegistry", "Versioning", TestMaintainers)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """A real chain on LevelDB (Versioning, Access, TestTrainer) with the node's read API over it."""
    made = Chain(tmp_path / "db")
    yield made
    made.close()
