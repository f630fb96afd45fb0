"""Fixtures of the ModelRegistry tests (helpers live in registry_helpers.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from runtime.genesis import dev_spec
from runtime.testing import MockRuntime

#: The dev chain without Versioning: these tests are about the registry alone (with Versioning, an
#: artifact a model moved away from stays in use by the model's history; tests/pallets/versioning).
REGISTRY_ONLY = dataclasses.replace(
    dev_spec(), pallets=tuple(p for p in dev_spec().pallets if p != "Versioning")
)


@pytest.fixture
def rt(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    """A mock runtime with the ModelRegistry; the balance invariants are checked after the test."""
    return runtime_with("ModelRegistry", spec=REGISTRY_ONLY)
