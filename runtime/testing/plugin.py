"""The pytest plugin (entry point pytest11 "cmu"): fixtures for pallet tests.

- `mock_runtime`: the dev runtime (System, Balances, Sudo) with a block open.
- `runtime_with(*pallets, genesis=...)`: a factory for a runtime with more pallets.
Both check the balance invariants (total issuance) when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runtime.testing.mock import MockRuntime, build_runtime


@pytest.fixture
def mock_runtime() -> Iterator[MockRuntime]:
    """The dev runtime with a block open; invariants are checked after the test."""
    runtime = build_runtime()
    yield runtime
    runtime.check_invariants()


@pytest.fixture
def runtime_with() -> Iterator[Callable[..., MockRuntime]]:
    """Build mock runtimes with extra pallets: runtime_with("Notes", genesis={...})."""
    made: list[MockRuntime] = []

    def make(*pallets: Any, **kwargs: Any) -> MockRuntime:
        runtime = build_runtime(*pallets, **kwargs)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.check_invariants()
