"""The headline scenario's claims, on the bundled files shortened to five simulated days (the README's
figures come from the full ten-day runs): accuracy stays within 5 points of the no-attack baseline at
every evaluation, the honest agent ends above its start and the adversary below half of its start."""

from __future__ import annotations

from typing import Any

import pytest

DAYS = "5d"


@pytest.fixture(scope="module")
def runs(run_scenario: Any) -> tuple[Any, Any]:
    return run_scenario("headline", duration=DAYS), run_scenario("baseline", duration=DAYS)


def test_headline_accuracy_stays_within_5_points_of_the_baseline(runs: tuple[Any, Any]) -> None:
    attacked, baseline = runs
    assert [r["time_s"] for r in attacked.rows] == [r["time_s"] for r in baseline.rows]
    gaps = [b["accuracy"] - a["accuracy"] for a, b in zip(attacked.rows, baseline.rows, strict=True)]
    assert max(gaps) <= 5.0
    assert baseline.accuracy > 85.0  # the baseline itself learns something


def test_headline_honest_agent_ends_above_its_start(runs: tuple[Any, Any]) -> None:
    attacked, _ = runs
    assert attacked.balance_pct("honest") > 100.0


def test_headline_adversary_ends_below_half_its_start(runs: tuple[Any, Any]) -> None:
    attacked, _ = runs
    assert attacked.balance_pct("adversary") < 50.0
    assert attacked.final["taken"] > 0


def test_headline_agents_follow_the_papers_rhythm(runs: tuple[Any, Any]) -> None:
    """About 50 every ~10 minutes for the honest agent, about 100 every ~1 hour for the adversary."""
    from cmu.scenarios.agents import agent_keypair
    from runtime.genesis import TOKEN

    attacked, _ = runs
    ledger = attacked.world.ledger
    days = attacked.scenario.duration / 86_400
    for name, per_day, deposit in (("honest", 144, 50), ("adversary", 24, 100)):
        me = agent_keypair(name).account
        mine = [c.deposit for c in ledger.contributions.values() if c.contributor == me]
        assert 0.5 * per_day * days <= len(mine) <= 1.2 * per_day * days, name
        mean = sum(mine) / len(mine) / TOKEN
        assert 0.5 * deposit <= mean <= 1.2 * deposit, (name, mean)
