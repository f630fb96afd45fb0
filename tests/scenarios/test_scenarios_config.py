"""Scenario files: valid ones parse with their defaults and units; malformed ones are refused with an
error that names the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmu.scenarios import ScenarioError, config
from runtime.genesis import TOKEN

HERE = Path(__file__).parent
BASE = """
name = "t"
duration = "2d"
eval_interval = "6h"
[data]
name = "iris"
[incentive]
cost_weight = 0.5
[[agents]]
name = "owner"
kind = "owner"
[[agents]]
name = "honest"
kind = "honest"
deposit_marker = 1
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _valid(tmp_path: Path, extra: str = "") -> Path:
    return _write(tmp_path, BASE.replace("deposit_marker = 1\n", extra))


def test_load_reads_units_and_defaults(tmp_path: Path) -> None:
    scenario = config.load(_valid(tmp_path, 'balance = 250.5\ninterval = "15m"\nmistake_rate = 0.1\n'))
    assert scenario.duration == 2 * 86_400
    assert scenario.eval_interval == 6 * 3_600
    assert scenario.incentives.cost_weight == TOKEN // 2
    assert scenario.incentives.refund_wait == 86_400
    honest = scenario.agents[1]
    assert honest.params["balance"] == 250 * TOKEN + TOKEN // 2
    assert honest.params["interval"] == 900
    assert honest.params["mistake_rate"] == 0.1
    assert honest.params["max_deposit"] == 100 * TOKEN  # the kind's default


def test_load_adds_a_default_owner(tmp_path: Path) -> None:
    text = BASE.replace('[[agents]]\nname = "owner"\nkind = "owner"\n', "")
    text = text.replace("deposit_marker = 1\n", "")
    scenario = config.load(_write(tmp_path, text))
    assert [a.kind for a in scenario.agents] == ["owner", "honest"]


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("balance = -5\n", "agents[1].balance", "positive number of tokens"),
        ('max_deposit = "lots"\n', "agents[1].max_deposit", "positive number of tokens"),
        ('interval = "ten minutes"\n', "agents[1].interval", "positive duration"),
        ("mistake_rate = 1.5\n", "agents[1].mistake_rate", "between 0 and 1"),
        ("check_size = 0\n", "agents[1].check_size", "positive integer"),
        ("reports = 1\n", "agents[1].reports", "true or false"),
        ("deposit = 3\n", "agents[1].deposit", "unknown field"),
        ('kind = "wizard"\n', "agents[1].kind", "unknown agent kind 'wizard'"),
    ],
)
def test_load_fails_when_an_agent_field_is_bad(tmp_path: Path, extra: str, field: str, problem: str) -> None:
    text = BASE.replace('kind = "honest"\ndeposit_marker = 1\n', 'kind = "honest"\n' + extra)
    if extra.startswith("kind"):
        text = BASE.replace('kind = "honest"\ndeposit_marker = 1\n', extra)
    with pytest.raises(ScenarioError) as caught:
        config.load(_write(tmp_path, text))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('duration = "2d"', 'duration = "forever"', "duration"),
        ('duration = "2d"', "duration = 0", "duration"),
        ('eval_interval = "6h"', 'eval_interval = "3d"', "eval_interval"),
        ('name = "iris"', 'name = "mnist"', "data.name"),
        ("cost_weight = 0.5", "cost_weight = 0", "incentive.cost_weight"),
        ("cost_weight = 0.5", 'mechanism = "Lottery"', "incentive.mechanism"),
        ("cost_weight = 0.5", 'refund_wait = "10d"', "incentive.owner_claim_wait"),
        ('name = "t"', 'name = "t"\nbackend = "tape"', "backend"),
        ('name = "t"', 'name = "t"\ncolour = "red"', "colour"),
        ('name = "honest"', 'name = "owner"', "agents[1].name"),
    ],
)
def test_load_fails_when_a_field_is_bad(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = BASE.replace("deposit_marker = 1\n", "").replace(old, new, 1)
    with pytest.raises(ScenarioError) as caught:
        config.load(_write(tmp_path, text))
    assert caught.value.field == field


def test_load_fails_when_agents_are_missing(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        config.load(_write(tmp_path, 'name = "t"\n'))
    assert caught.value.field == "agents"


def test_load_fails_when_the_toml_is_broken(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        config.load(_write(tmp_path, "name = \n"))


def test_load_fails_when_the_csv_has_no_such_column(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,x\n3,4,y\n5,6,x\n")
    text = BASE.replace("deposit_marker = 1\n", "").replace(
        'name = "iris"', 'source = "csv"\npath = "d.csv"\nlabel_column = "label"')
    scenario = config.load(_write(tmp_path, text))
    from cmu.scenarios.data import build_dataset

    with pytest.raises(ScenarioError) as caught:
        build_dataset(scenario.data, scenario.model_kind, scenario.base_dir, 0)
    assert caught.value.field == "data.label_column"


def test_with_overrides_round_trips_and_rechecks() -> None:
    scenario = config.load(HERE / "small.toml")
    same = scenario.with_overrides({})
    assert same == scenario
    changed = scenario.with_overrides({"agents.honest.interval": "20m", "incentive.cost_weight": 2})
    assert changed.agents[1].params["interval"] == 1_200
    assert changed.incentives.cost_weight == 2 * TOKEN
    with pytest.raises(ScenarioError) as caught:
        scenario.with_overrides({"agents.honest.interval": -1})
    assert caught.value.field == "agents[1].interval"


def test_every_bundled_scenario_parses() -> None:
    from cmu.scenarios.cli import BUNDLED

    names = sorted(p.stem for p in BUNDLED.glob("*.toml"))
    assert {"headline", "baseline"} <= set(names)
    for name in names:
        assert config.load(BUNDLED / f"{name}.toml").name == name


def test_load_fails_when_an_owner_names_an_unknown_trainer(tmp_path: Path) -> None:
    text = BASE.replace("deposit_marker = 1\n", "").replace(
        'kind = "owner"\n', 'kind = "owner"\ntrainers = ["honest", "carol"]\n')
    with pytest.raises(ScenarioError) as caught:
        config.load(_write(tmp_path, text))
    assert caught.value.field == "agents[0].trainers"
    assert "'carol'" in str(caught.value)


def test_load_fails_when_a_reader_has_no_pass_to_buy(tmp_path: Path) -> None:
    text = BASE.replace("deposit_marker = 1\n", "") + '[[agents]]\nname = "r"\nkind = "reader"\n'
    with pytest.raises(ScenarioError) as caught:
        config.load(_write(tmp_path, text))
    assert caught.value.field == "agents[2].kind"
