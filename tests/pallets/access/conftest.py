"""Fixtures of the Access tests (helpers live in access_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runtime.testing import MockRuntime


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """A mock runtime with ModelRegistry and Access; the balance invariants are checked after the test."""
    return runtime_with("ModelRegistry", "Access")
