"""The scenario runner: builds the chain and the agents, advances simulated time in jumps from one agent
wake-up to the next (a block only when a transaction is waiting), evaluates the metrics every
`eval_interval`, and returns the metrics table and the final head state root.

Randomness lives only in the agents (one numpy Generator each, seeded from the scenario seed and the
agent's position); the runtime sees only signed extrinsics and block timestamps, so the same scenario and
seed give the same blocks, state root and metrics in any process.
"""

from __future__ import annotations

import dataclasses
import heapq
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cmu.scenarios.agents import Agent, agent_class
from cmu.scenarios.chain import SimChain, open_backend, scenario_spec
from cmu.scenarios.config import Scenario
from cmu.scenarios.data import build_dataset
from cmu.scenarios.world import GENESIS_MS, World
from runtime.genesis import TOKEN

#: Pallets a scenario chain adds to the dev chain's, in this order (those installed).
SCENARIO_PALLETS = ("Versioning", "Access", "Training")
Progress = Callable[[int, int], None]


@dataclasses.dataclass
class RunResult:
    """What a run produced: the metrics table (one dict per evaluation), the final state root, counts."""

    scenario: Scenario
    rows: list[dict[str, Any]]
    final_state_root: str
    blocks: int
    extrinsics: int
    agent_names: list[str]
    agent_stats: dict[str, dict[str, int]]
    world: World | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def final(self) -> dict[str, Any]:
        """The last metrics row."""
        return self.rows[-1]

    def balance_pct(self, agent: str) -> float:
        """An agent's final balance as a percentage of its start."""
        return float(self.final[f"{agent}_balance_pct"])

    @property
    def accuracy(self) -> float:
        """The final held-out accuracy, in percent."""
        return float(self.final["accuracy"])

    def summary_line(self) -> str:
        """`final_state_root=<hex> accuracy=<n> <agent>_balance_pct=<n> ...` (the CLI's last line)."""
        parts = [f"final_state_root={self.final_state_root}", f"accuracy={self.accuracy:.2f}"]
        parts += [f"{name}_balance_pct={self.balance_pct(name):.2f}" for name in self.agent_names]
        return " ".join(parts)


def make_agents(scenario: Scenario, extra: Sequence[Agent] = ()) -> list[Agent]:
    """The scenario's agents, each with its own Generator seeded from (seed, position), then `extra`."""
    agents: list[Agent] = []
    for index, spec in enumerate(scenario.agents):
        rng = np.random.default_rng([scenario.seed, index])
        agents.append(agent_class(spec.kind, f"agents[{index}].kind")(spec.name, dict(spec.params), rng))
    return agents + list(extra)


def build_world(scenario: Scenario, agents: list[Agent], chain_dir: str | None = None, *,
                keep_blocks: bool = False) -> World:
    """The data set, the chain (funded agents, scenario pallets) and the world the agents act in."""
    data = build_dataset(scenario.data, scenario.model_kind, scenario.base_dir, scenario.seed)
    from runtime.genesis import resolve_pallets

    pallets = []
    for name in SCENARIO_PALLETS:
        try:
            resolve_pallets(["System", name])
        except Exception:  # a pallet this installation does not have: the chain runs without it
            continue
        pallets.append(name)
    spec = scenario_spec({a.keypair.account: a.start_balance for a in agents}, pallets=pallets,
                         genesis_ms=GENESIS_MS)
    chain = SimChain(spec, open_backend(scenario.backend, chain_dir), keep_blocks=keep_blocks)
    world = World(chain, data, scenario.model_kind, scenario.incentives)
    world.agents = agents
    return world


def run(scenario: Scenario, *, extra_agents: Sequence[Agent] = (), progress: Progress | None = None,
        chain_dir: str | Path | None = None, keep_blocks: bool = False) -> RunResult:
    """Run a scenario to its end and return its metrics (`result.world` keeps the chain and ledger;
    `keep_blocks` also keeps every authored block in `result.world.chain.blocks`)."""
    agents = make_agents(scenario, extra_agents)
    with tempfile.TemporaryDirectory(prefix="cmu-scenario-") as scratch:
        directory = str(chain_dir) if chain_dir is not None else str(Path(scratch) / "chain")
        world = build_world(scenario, agents, directory if scenario.backend == "leveldb" else None,
                            keep_blocks=keep_blocks)
        try:
            return Simulation(scenario, world, progress).run()
        finally:
            close = getattr(world.chain.runtime.backend, "close", None)
            if close is not None and scenario.backend == "leveldb":
                close()


class Simulation:
    """One run's loop: wake agents in time order, author blocks, evaluate."""

    def __init__(self, scenario: Scenario, world: World, progress: Progress | None) -> None:
        self.scenario = scenario
        self.world = world
        self.progress = progress
        self.rows: list[dict[str, Any]] = []
        self.blocks = 0
        self.evals = _evaluation_times(scenario.duration, scenario.eval_interval)
        self.queue: list[tuple[int, int]] = []

    def run(self) -> RunResult:
        world = self.world
        for index, agent in enumerate(world.agents):
            first = agent.first_wake(world)
            if first is not None:
                heapq.heappush(self.queue, (first, index))
        while self.queue and self.queue[0][0] <= self.scenario.duration:
            now = self.queue[0][0]
            self._evaluate_until(now - 1)
            self._step(now)
            if self.progress is not None:
                self.progress(now, self.scenario.duration)
        self._evaluate_until(self.scenario.duration)
        if self.progress is not None:
            self.progress(self.scenario.duration, self.scenario.duration)
        return self._result()

    def _step(self, now: int) -> None:
        world = self.world
        world.now = now
        while self.queue and self.queue[0][0] == now:
            _, index = heapq.heappop(self.queue)
            following = world.agents[index].act(world)
            if following is not None:
                heapq.heappush(self.queue, (max(following, now + 1), index))
        if world.chain.pending_count():
            report = world.chain.author_block(world.timestamp_ms(now))
            self.blocks += 1
            world.ledger.observe((event for _, event in report.events), now)

    def _evaluate_until(self, until: int) -> None:
        while self.evals and self.evals[0] <= until:
            self.rows.append(self._metrics(self.evals.pop(0)))

    def _metrics(self, at: int) -> dict[str, Any]:
        world = self.world
        rows, labels = world.data.test
        ledger = world.ledger
        row: dict[str, Any] = {
            "time_s": at,
            "day": round(at / 86_400, 4),
            "block": world.chain.runtime.head.number,
            "accuracy": round(100.0 * world.accuracy(rows, labels), 4),
        }
        for agent in world.agents:
            start = agent.start_balance or 1
            row[f"{agent.name}_balance_pct"] = round(100.0 * world.balance(agent) / start, 4)
        row["deposits_held"] = round(ledger.deposits_held / TOKEN, 6)
        row["accepted"] = ledger.accepted
        row["refunded"] = ledger.refunded
        row["taken"] = ledger.taken
        return row

    def _result(self) -> RunResult:
        world = self.world
        stats = {
            a.name: {"submitted": a.submitted, "refused": a.refused, "succeeded": a.succeeded,
                     "failed": a.failed}
            for a in world.agents
        }
        return RunResult(
            scenario=self.scenario, rows=self.rows, final_state_root="0x" + world.chain.state_root().hex(),
            blocks=self.blocks, extrinsics=world.chain.extrinsics_applied,
            agent_names=[a.name for a in world.agents], agent_stats=stats, world=world,
        )


def _evaluation_times(duration: int, interval: int) -> list[int]:
    """Second 1 (just after the owner's setup block), every multiple of `interval`, and the end."""
    times = [1, *range(interval, duration + 1, interval)]
    if times[-1] != duration:
        times.append(duration)
    return sorted(set(times))
