"""Agent behaviours on short runs of the real runtime: what each kind does shows up in the chain's events
and balances. Every block a run authors replays on a fresh runtime to the same state root."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from cmu.scenarios import config, runner
from cmu.scenarios.agents import agent_keypair
from cmu.scenarios.runner import RunResult
from runtime.executive import Runtime
from runtime.genesis import TOKEN
from runtime.storage.backend import MemoryBackend

HERE = Path(__file__).parent
SMALL = HERE / "small.toml"


def _run(overrides: dict[str, Any] | None = None, agents: list[dict[str, Any]] | None = None,
         **kwargs: Any) -> RunResult:
    raw = config.to_raw(config.load(SMALL, overrides))
    if agents is not None:
        raw["agents"] = agents
    return runner.run(config.parse(raw, HERE), **kwargs)


def _contributions_of(result: RunResult, agent: str) -> list[Any]:
    assert result.world is not None
    me = agent_keypair(agent).account
    return [c for _, c in sorted(result.world.ledger.contributions.items()) if c.contributor == me]


@pytest.fixture(scope="module")
def small() -> RunResult:
    return _run(keep_blocks=True)


def test_blocks_replay_on_a_fresh_runtime_to_the_same_root(small: RunResult) -> None:
    assert small.world is not None
    chain = small.world.chain
    fresh = Runtime(chain.spec, MemoryBackend())
    for block in chain.blocks:
        fresh.commit(fresh.import_block(block))
    assert len(chain.blocks) == small.blocks > 100
    assert "0x" + fresh.head.state_root.hex() == small.final_state_root


def test_honest_contributor_refunds_its_data(small: RunResult) -> None:
    honest = _contributions_of(small, "honest")
    refunded = [c for c in honest if c.status == "refunded"]
    assert len(honest) > 100
    assert len(refunded) > len(honest) // 2
    assert small.final["refunded"] >= len(refunded)


def test_adversary_flips_labels_and_loses_its_deposits(small: RunResult) -> None:
    assert small.world is not None
    data = small.world.data
    truth = {tuple(row): label for row, label in zip(*data.pool, strict=True)}
    flipped = _contributions_of(small, "adversary")
    assert flipped and all(truth[tuple(c.features)] != c.label for c in flipped if tuple(c.features) in truth)
    honest = agent_keypair("honest").account
    taken = [c for c in flipped if c.reporters]
    assert taken and all(honest in c.reporters for c in taken)
    assert small.balance_pct("adversary") < 100 < small.balance_pct("honest")


def test_contributions_wait_for_an_acceptable_deposit(small: RunResult) -> None:
    for agent, most in (("honest", 60), ("adversary", 100)):
        deposits = [c.deposit for c in _contributions_of(small, agent)]
        assert deposits and max(deposits) <= most * TOKEN


def test_spammer_pays_the_zero_wait_deposit_for_a_burst() -> None:
    agents = [
        {"name": "owner", "kind": "owner", "interval": "1h"},
        {"name": "spammer", "kind": "spammer", "interval": "4h", "burst": 4},
    ]
    result = _run({"duration": "1d"}, agents)
    deposits = [c.deposit for c in _contributions_of(result, "spammer")]
    assert len(deposits) >= 8
    zero_wait = result.scenario.incentives.cost_weight * 3_600
    assert deposits.count(zero_wait) >= len(deposits) // 2  # every row after a burst's first
    assert result.balance_pct("spammer") < 100 < result.balance_pct("owner")  # the owner claimed spam


def test_reporter_takes_deposits_once_it_has_good_data() -> None:
    agents = [
        {"name": "owner", "kind": "owner"},
        {"name": "adversary", "kind": "adversary", "interval": "30m", "max_deposit": 100},
        {"name": "reporter", "kind": "reporter", "interval": "1h", "contributions": 2},
    ]
    result = _run({"duration": "1d"}, agents)
    assert result.world is not None
    reporter = agent_keypair("reporter").account
    assert result.world.ledger.good.get(reporter, 0) >= 1
    assert any(reporter in c.reporters for c in _contributions_of(result, "adversary"))
    assert result.balance_pct("reporter") > 100 > result.balance_pct("adversary")


def test_free_rider_copies_others_data() -> None:
    agents = [
        {"name": "owner", "kind": "owner"},
        {"name": "honest", "kind": "honest", "interval": "20m"},
        {"name": "copier", "kind": "free_rider", "interval": "2h"},
    ]
    result = _run({"duration": "12h"}, agents)
    honest = {(tuple(c.features), c.label) for c in _contributions_of(result, "honest")}
    copies = _contributions_of(result, "copier")
    assert copies and all((tuple(c.features), c.label) in honest for c in copies)


def test_reader_buys_passes_and_the_owner_claims_the_revenue() -> None:
    agents = [
        {"name": "owner", "kind": "owner", "interval": "2h", "pass_price": 10, "pass_blocks": 5},
        {"name": "reader", "kind": "reader", "interval": "3h", "balance": 100},
    ]
    result = _run({"duration": "12h"}, agents)
    assert result.agent_stats["reader"]["succeeded"] == 3  # at 3h, 6h, 9h (the model exists from 1 s)
    assert result.balance_pct("reader") < 71
    assert result.balance_pct("owner") > 100


def test_leveldb_backend_gives_the_memory_root(small: RunResult, tmp_path: Path) -> None:
    on_disk = _run({"backend": "leveldb"}, chain_dir=tmp_path / "db")
    assert on_disk.final_state_root == small.final_state_root
    assert on_disk.rows == small.rows
    assert (tmp_path / "db").is_dir()


def test_points_mechanism_adds_data_without_deposits() -> None:
    result = _run({"duration": "6h", "incentive.mechanism": "Points"})
    honest = _contributions_of(result, "honest")
    assert len(honest) >= 20 and all(c.deposit == 0 for c in honest)
    assert result.final["deposits_held"] == 0


def test_trainers_mechanism_lets_only_granted_agents_train() -> None:
    agents = [
        {"name": "owner", "kind": "owner", "trainers": ["honest"]},
        {"name": "honest", "kind": "honest", "interval": "20m"},
        {"name": "adversary", "kind": "adversary", "interval": "1h"},
    ]
    result = _run({"duration": "6h", "incentive.mechanism": "Trainers"}, agents)
    assert len(_contributions_of(result, "honest")) >= 10
    assert _contributions_of(result, "adversary") == []
    assert result.agent_stats["adversary"]["failed"] > 0  # its add_data calls were refused on chain


def test_honest_contributor_waits_while_the_model_is_not_good_enough() -> None:
    agents = [
        {"name": "owner", "kind": "owner"},
        {"name": "picky", "kind": "honest", "interval": "20m", "min_accuracy": 1.0},
        {"name": "easy", "kind": "honest", "interval": "20m", "min_accuracy": 0.5},
    ]
    result = _run({"duration": "6h"}, agents)
    assert _contributions_of(result, "picky") == []
    assert len(_contributions_of(result, "easy")) >= 10


def test_csv_data_source_runs(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris()
    lines = ["a,b,c,d,species"] + [
        ",".join(f"{v:.1f}" for v in row) + f",{iris.target_names[t]}"
        for row, t in zip(iris.data, iris.target, strict=True)
    ]
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    raw = config.to_raw(config.load(SMALL, {"duration": "6h"}))
    raw["data"] = {"source": "csv", "path": "iris.csv", "label_column": "species"}
    result = runner.run(config.parse(raw, tmp_path))
    assert result.world is not None
    assert result.world.data.label_names == ("setosa", "versicolor", "virginica")
    assert result.accuracy > 50 and result.final["accepted"] > 0


@pytest.mark.parametrize("name", ["headline", "baseline", "headline_perceptron", "spam", "market"])
def test_bundled_scenario_runs_its_first_hours(name: str) -> None:
    from cmu.scenarios.cli import resolve

    result = runner.run(config.load(resolve(name), {"duration": "8h", "eval_interval": "4h"}))
    assert len(result.rows) == 3 and result.blocks > 5
    assert result.final["accepted"] > 0


def test_exponential_waits_spread_contributions_wider_than_uniform() -> None:
    gaps = {}
    for waits in ("uniform", "exponential"):
        agents = [
            {"name": "owner", "kind": "owner"},
            {"name": "honest", "kind": "honest", "interval": "20m", "jitter": 0.1, "waits": waits,
             "max_deposit": 10_000},
        ]
        times = [c.added_s for c in _contributions_of(_run({"duration": "1d"}, agents), "honest")]
        gaps[waits] = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps["uniform"]) >= 1_000 and max(gaps["uniform"]) <= 1_400  # 20 min +/- 10 %
    assert min(gaps["exponential"]) < 600 and max(gaps["exponential"]) > 2_400


def test_contributors_with_good_data_share_pass_revenue() -> None:
    from cmu.scenarios.cli import resolve

    claimed: list[Any] = []
    scenario = config.load(resolve("market"), {"duration": "1d", "agents.reader.interval": "4h"})
    agents = runner.make_agents(scenario)
    world = runner.build_world(scenario, agents)
    observe = world.ledger.observe

    def watch(events: Any, now: int) -> None:
        events = list(events)
        claimed.extend(e for e in events if type(e).__name__ == "RevenueClaimed")
        observe(events, now)

    world.ledger.observe = watch  # type: ignore[method-assign]
    result = runner.Simulation(scenario, world, None).run()
    by = {bytes(e.who) for e in claimed}
    assert bytes(agent_keypair("honest").account) in by  # a contributor's share of the pass sales
    assert bytes(agent_keypair("owner").account) in by
    assert result.balance_pct("reader") < 100


def test_min_deposit_makes_an_agent_strike_right_after_updates() -> None:
    agents = [
        {"name": "owner", "kind": "owner"},
        {"name": "honest", "kind": "honest", "interval": "10m", "max_deposit": 60},
        {"name": "adversary", "kind": "adversary", "interval": "1h", "max_deposit": 100, "min_deposit": 80},
    ]
    result = _run({"duration": "12h"}, agents)
    deposits = [c.deposit for c in _contributions_of(result, "adversary")]
    assert len(deposits) >= 8
    assert all(80 * TOKEN <= d <= 100 * TOKEN for d in deposits)
