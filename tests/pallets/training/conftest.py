"""Fixtures of the Training tests (helpers live in training_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runtime.testing import MockRuntime


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """The dev chain's pallets: ModelRegistry, Versioning, Access and Training."""
    return runtime_with("ModelRegistry", "Versioning", "Access", "Training")
