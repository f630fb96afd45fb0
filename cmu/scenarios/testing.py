"""The pytest plugin for scenario suites (entry point pytest11 "cmu-scenarios"): fixtures that run a
scenario file once per test session and hand its metrics to every test that asks.

- `run_scenario(path_or_bundled_name, seed=None, **overrides)`: the RunResult (cached per session by its
  arguments); overrides use dotted fields with `__` for dots: `incentive__cost_weight=0.5`.
- `scenario_dir`: a pytest option `--scenario-out DIR` (default: a temporary directory) where
  `save_outputs(result)` writes the CSV, JSON and plot of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_CACHE: dict[tuple[Any, ...], Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    """--scenario-out: keep scenario outputs in this directory."""
    parser.addoption("--scenario-out", default=None, help="directory for scenario outputs (CSV, JSON, PNG)")


@pytest.fixture(scope="session")
def run_scenario() -> Callable[..., Any]:
    """Run a scenario file (or a bundled scenario by name) and return its RunResult, once per session."""

    def run(path: str | Path, seed: int | None = None, **overrides: Any) -> Any:
        from cmu.scenarios import config, runner
        from cmu.scenarios.cli import resolve

        fields = {key.replace("__", "."): value for key, value in overrides.items()}
        if seed is not None:
            fields["seed"] = seed
        key = (str(resolve(str(path)).resolve()), tuple(sorted((k, repr(v)) for k, v in fields.items())))
        if key not in _CACHE:
            _CACHE[key] = runner.run(config.load(resolve(str(path)), fields))
        return _CACHE[key]

    return run


@pytest.fixture(scope="session")
def scenario_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where scenario outputs go (--scenario-out, or a session temporary directory)."""
    chosen = request.config.getoption("--scenario-out")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("scenario-out")


@pytest.fixture
def save_outputs(scenario_dir: Path) -> Iterator[Callable[..., list[Path]]]:
    """Write a RunResult's metrics.csv, result.json and plot.png under scenario_dir/<scenario name>."""
    from cmu.scenarios import outputs

    def save(result: Any, *, plot: bool = True) -> list[Path]:
        return outputs.write_all(result, scenario_dir / result.scenario.name, plot=plot)

    yield save
