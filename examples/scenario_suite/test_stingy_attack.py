"""A user's scenario test suite: the fixtures come from the installed `cmu-scenarios` pytest plugin
(run_scenario runs a file once per session and caches the result; save_outputs writes CSV, JSON, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ATTACK = HERE / "stingy_attack.toml"


@pytest.fixture(scope="module")
def attacked(run_scenario: Any) -> Any:
    return run_scenario(ATTACK)


@pytest.fixture(scope="module")
def baseline(run_scenario: Any) -> Any:
    # the same file with the attacker silenced: it starts after the run ends
    return run_scenario(ATTACK, agents__mallory__start="2d")


def test_attack_costs_accuracy_at_most_5_points(attacked: Any, baseline: Any) -> None:
    assert attacked.accuracy >= baseline.accuracy - 5


def test_honest_contributors_do_not_lose_to_the_attacker(attacked: Any) -> None:
    assert attacked.balance_pct("alice") >= 99
    assert attacked.balance_pct("mallory") < 100


def test_every_contribution_is_accounted_for(attacked: Any) -> None:
    final = attacked.final
    assert final["accepted"] > 0
    assert final["refunded"] + final["taken"] <= final["accepted"]


def test_same_seed_same_state_root(attacked: Any, run_scenario: Any) -> None:
    again = run_scenario(ATTACK, seed=21, duration="1d")  # different arguments: a fresh run
    assert again.final_state_root == attacked.final_state_root


def test_custom_agent_kind_only_works_nights(run_scenario: Any, tmp_path: Path) -> None:
    text = ATTACK.read_text().replace('kind = "adversary"', 'kind = "night_shift"')
    text = text.replace("max_deposit = 20", "max_deposit = 60")
    night = tmp_path / "night.toml"
    night.write_text(text)
    result = run_scenario(night)
    ledger = result.world.ledger
    from cmu.scenarios.agents import agent_keypair

    mallory = agent_keypair("mallory").account
    hours = {(c.added_s // 3_600) % 24 for c in ledger.contributions.values() if c.contributor == mallory}
    assert hours and hours <= {22, 23, 0, 1, 2, 3, 4, 5}


def test_outputs_are_written(attacked: Any, save_outputs: Any) -> None:
    paths = save_outputs(attacked)
    assert sorted(p.name for p in paths) == ["metrics.csv", "plot.png", "result.json"]
