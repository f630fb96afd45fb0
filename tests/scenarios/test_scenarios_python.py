"""A scenario written in Python: parse() a dict, add an agent instance of a class defined here (not
registered), run it; the agent's calls reach the chain like any other's."""

from __future__ import annotations

from typing import Any

import numpy as np

from cmu.scenarios import Agent, parse, run
from cmu.scenarios.agents import agent_keypair


class Snoop(Agent):
    """Reports every contribution older than `age` that the model disagrees with (it never earns the
    good contributions a reporter needs, so the chain refuses its reports after the refund wait)."""

    kind = "snoop_test"

    def act(self, world: Any) -> int | None:
        for c in world.ledger.open_contributions():
            if world.now - c.added_s >= self.params["age"] and not world.agrees(c.features, c.label):
                world.submit(self, "Training.report", contribution=c.id, features=c.features,
                             label=c.label, on_result=lambda result, _events: self.count(result))
        return world.now + int(self.params["interval"])


def test_python_scenario_with_an_unregistered_agent_instance() -> None:
    scenario = parse({
        "name": "py", "seed": 4, "duration": 3 * 3_600, "eval_interval": 3_600,  # before any-account claims
        "data": {"name": "iris"},
        "incentive": {"refund_wait": 1_800, "owner_claim_wait": 7_200, "any_claim_wait": 10_800},
        "agents": [{"name": "h", "kind": "honest", "interval": "10m"},
                   {"name": "bad", "kind": "adversary", "interval": "30m"}],
    })
    snoop = Snoop("snoop", {"interval": 1_800, "age": 1_800, "balance": 10**15}, np.random.default_rng(1))
    result = run(scenario, extra_agents=[snoop])
    assert result.agent_names == ["owner", "h", "bad", "snoop"]
    assert result.world is not None
    assert result.world.balance(snoop) < 10**15  # it paid fees: its extrinsics were included
    assert snoop.submitted > 0 and snoop.failed == snoop.submitted  # NoGoodContributions, as the rules say
    assert "snoop_balance_pct=" in result.summary_line()
    assert result.world.chain.total_balance(agent_keypair("snoop").account) == result.world.balance(snoop)
