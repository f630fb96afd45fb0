"""Fixtures of the ModelRegistry tests (helpers live in registry_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runtime.testing import MockRuntime


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """A mock runtime with the ModelRegistry alone (no Versioning: with it, an artifact a model moved away
    from stays in use by the model's history); the balance invariants are checked after the test."""
    return runtime_with("ModelRegistry")
