"""Sweeps: a grid of scenario variants (each a set of dotted-field overrides) run in parallel on local
processes, or as Ray tasks on a cluster when an address is given ("local" starts a one-machine Ray
instance for the sweep), gathered into one table.

    grid = {"incentive.cost_weight": [0.1, 0.3], "agents.adversary.interval": ["30m", "1h"]}
    table = sweep(load("headline.toml"), grid, workers=2)          # 4 rows, in grid order
"""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cmu.scenarios.config import Scenario, parse, set_dotted, to_raw
from cmu.scenarios.fields import ScenarioError


class RayMissing(RuntimeError):
    """--ray was given but Ray is not installed."""


def grid_variants(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in a stable order (keys as given, values as listed)."""
    keys = list(grid)
    for key in keys:
        if not grid[key]:
            raise ScenarioError(key, "a sweep needs at least one value")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def parse_assignment(text: str) -> tuple[str, list[Any]]:
    """`field=v1,v2,...` from the command line; values are read as TOML values (strings unquoted ok)."""
    import tomllib

    field, sep, values = text.partition("=")
    if not sep or not field:
        raise ScenarioError(text, "expected FIELD=VALUE[,VALUE...]")
    parsed = []
    for item in values.split(","):
        try:
            parsed.append(tomllib.loads(f"v = {item}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(item)
    return field.strip(), parsed


def run_variant(raw: dict[str, Any], base_dir: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Run one variant (in a worker process or a Ray task) and return its row of the sweep table."""
    from cmu.scenarios.runner import run

    variant = {key: value for key, value in raw.items()}
    variant["agents"] = [dict(a) for a in raw.get("agents", [])]
    for dotted, value in overrides.items():
        set_dotted(variant, dotted, value)
    result = run(parse(variant, Path(base_dir)))
    row: dict[str, Any] = dict(overrides)
    row["accuracy"] = result.accuracy
    for name in result.agent_names:
        row[f"{name}_balance_pct"] = result.balance_pct(name)
    final = result.final
    row.update({k: final[k] for k in ("deposits_held", "accepted", "refunded", "taken")})
    row["final_state_root"] = result.final_state_root
    return row


def sweep(scenario: Scenario, grid: Mapping[str, Sequence[Any]], *, workers: int = 2,
          ray_address: str | None = None) -> list[dict[str, Any]]:
    """Run every variant of the grid and return one row per variant, in grid order."""
    variants = grid_variants(grid)
    raw = to_raw(scenario)
    base_dir = str(scenario.base_dir)
    for overrides in variants:  # refuse a bad field before starting any process
        scenario.with_overrides(overrides)
    if ray_address is not None:
        return _on_ray(ray_address, raw, base_dir, variants)
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_variant, raw, base_dir, overrides) for overrides in variants]
        return [future.result() for future in futures]


def _on_ray(address: str, raw: dict[str, Any], base_dir: str,
            variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        import ray  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise RayMissing("--ray needs Ray: pip install 'cmu-chain[ray]'") from exc
    ray.init(address=address, ignore_reinit_error=True)
    try:
        task = ray.remote(run_variant)
        refs = [task.remote(raw, base_dir, overrides) for overrides in variants]
        rows: list[dict[str, Any]] = ray.get(refs)
    finally:
        ray.shutdown()  # disconnects from a cluster; stops a "local" one this call started
    return rows
