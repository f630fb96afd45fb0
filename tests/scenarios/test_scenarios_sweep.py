"""Sweeps: every grid variant runs in its own process and lands in one table, in grid order, with the
same figures as a direct run of that variant; Ray is optional and its absence is a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cmu.scenarios import ScenarioError, config, runner
from cmu.scenarios.sweep import RayMissing, grid_variants, parse_assignment, sweep

SMALL = Path(__file__).parent / "small.toml"


def test_grid_variants_cover_the_product_in_order() -> None:
    grid = {"a": [1, 2], "b": ["x", "y", "z"]}
    variants = grid_variants(grid)
    assert len(variants) == 6
    assert variants[0] == {"a": 1, "b": "x"} and variants[-1] == {"a": 2, "b": "z"}


def test_parse_assignment_reads_toml_values() -> None:
    assert parse_assignment("incentive.cost_weight=0.5,2") == ("incentive.cost_weight", [0.5, 2])
    assert parse_assignment('agents.honest.interval="5m",10m') == ("agents.honest.interval", ["5m", "10m"])
    with pytest.raises(ScenarioError):
        parse_assignment("no-equals-sign")


def test_sweep_runs_variants_in_processes_and_gathers_one_table() -> None:
    scenario = config.load(SMALL, {"duration": "8h"})
    grid = {"incentive.cost_weight": [0.2, 0.5]}
    rows = sweep(scenario, grid, workers=2)
    assert [row["incentive.cost_weight"] for row in rows] == [0.2, 0.5]
    for row in rows:
        direct = runner.run(scenario.with_overrides({"incentive.cost_weight": row["incentive.cost_weight"]}))
        assert row["final_state_root"] == direct.final_state_root
        assert row["honest_balance_pct"] == direct.balance_pct("honest")
        assert row["accepted"] == direct.final["accepted"]
    assert rows[0]["final_state_root"] != rows[1]["final_state_root"]


def test_sweep_fails_when_a_variant_names_a_bad_field() -> None:
    scenario = config.load(SMALL, {"duration": "8h"})
    with pytest.raises(ScenarioError) as caught:
        sweep(scenario, {"agents.honest.interval": ["10m", "never"]})
    assert caught.value.field == "agents[1].interval"


def test_sweep_on_ray_fails_clearly_without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    scenario = config.load(SMALL, {"duration": "8h"})
    with pytest.raises(RayMissing, match=r"pip install 'cmu-chain\[ray\]'"):
        sweep(scenario, {"seed": [1]}, ray_address="ray://127.0.0.1:10001")


def test_sweep_on_a_local_ray_instance_matches_local_processes() -> None:
    pytest.importorskip("ray")  # the optional `ray` extra
    scenario = config.load(SMALL, {"duration": "4h"})
    grid = {"seed": [11, 12]}
    on_ray = sweep(scenario, grid, ray_address="local")
    local = sweep(scenario, grid, workers=2)
    assert [row["final_state_root"] for row in on_ray] == [row["final_state_root"] for row in local]
