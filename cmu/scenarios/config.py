"""Scenario files: TOML read with tomllib into a checked `Scenario`; every error names its field.

    name = "headline"            seed = 7                 duration = "10d"        eval_interval = "6h"
    backend = "memory"           # or "leveldb" (a fresh directory under the output directory)
    [data]       source = "sklearn" | "csv" | "generator" | "text", name, path, label_column, samples,
                 features, classes, test_fraction, initial_fraction, clip
    [model]      kind = "dense_perceptron" | "sparse_perceptron" | "naive_bayes" | "nearest_centroid"
    [incentive]  mechanism = "Stake" | "Points" | "Trainers", cost_weight (tokens), refund_wait,
                 owner_claim_wait, any_claim_wait (durations), batch_limit
    [[agents]]   name, kind, balance (tokens), start, and the kind's own fields (docs/scenarios.md)
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cmu.scenarios.agents import agent_class
from cmu.scenarios.agents.base import unique_names
from cmu.scenarios.data import GENERATORS, SKLEARN_SETS, DataConfig
from cmu.scenarios.fields import Field, ScenarioError, read_table
from cmu.scenarios.world import Incentives

KINDS = ("dense_perceptron", "sparse_perceptron", "naive_bayes", "nearest_centroid")
TOP_FIELDS = (
    Field("name", "name", "scenario"),
    Field("description", "text", "scenario"),
    Field("seed", "count", 0),
    Field("duration", "duration", 86_400),
    Field("eval_interval", "duration", 3_600),
    Field("backend", "text", "memory", choices=("memory", "leveldb")),
)
DATA_FIELDS = (
    Field("source", "text", "sklearn", choices=("sklearn", "csv", "generator", "text")),
    Field("name", "text", "breast_cancer"),
    Field("path", "text", ""),
    Field("label_column", "text", ""),
    Field("samples", "positive_int", 1_000),
    Field("features", "positive_int", 10),
    Field("classes", "positive_int", 2),
    Field("test_fraction", "fraction", 0.2),
    Field("initial_fraction", "fraction", 0.1),
    Field("clip", "positive_number", 4.0),
)
MODEL_FIELDS = (Field("kind", "text", "dense_perceptron", choices=KINDS),)
INCENTIVE_FIELDS = (
    Field("mechanism", "text", "Stake", choices=("Stake", "Points", "Trainers")),
    Field("cost_weight", "tokens", 10**12),
    Field("refund_wait", "duration", 86_400),
    Field("owner_claim_wait", "duration", 8 * 86_400),
    Field("any_claim_wait", "duration", 9 * 86_400),
    Field("batch_limit", "positive_int", 32),
)


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """One [[agents]] entry: its kind, name and checked parameters."""

    kind: str
    name: str
    params: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A checked scenario: everything a run needs."""

    name: str
    description: str
    seed: int
    duration: int
    eval_interval: int
    backend: str
    data: DataConfig
    model_kind: str
    incentives: Incentives
    agents: tuple[AgentSpec, ...]
    base_dir: Path = Path(".")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with dotted fields replaced (as a sweep varies them) and re-checked."""
        raw = to_raw(self)
        for dotted, value in overrides.items():
            set_dotted(raw, dotted, value)
        return parse(raw, self.base_dir)


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and check a scenario file (ScenarioError naming the field when it is wrong)."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text())
    except OSError as exc:
        raise ScenarioError("", f"cannot read {file}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"{file} is not valid TOML: {exc}") from exc
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    return parse(raw, file.parent)


def parse(raw: Mapping[str, Any], base_dir: Path = Path(".")) -> Scenario:
    """Check a scenario given as a dict (the parsed TOML, or built in Python)."""
    sections = ("data", "model", "incentive", "agents")
    top = read_table(raw, "", TOP_FIELDS, ignore=sections)
    data = DataConfig(**read_table(raw.get("data", {}), "data", DATA_FIELDS))
    model = read_table(raw.get("model", {}), "model", MODEL_FIELDS)
    incentives = Incentives(**read_table(raw.get("incentive", {}), "incentive", INCENTIVE_FIELDS))
    _check_waits(incentives)
    agents = _agents(raw.get("agents"))
    if top["eval_interval"] > top["duration"]:
        raise ScenarioError("eval_interval", "is longer than the duration")
    _check_data(data)
    if data.test_fraction + data.initial_fraction >= 1:
        raise ScenarioError("data.test_fraction", "test_fraction + initial_fraction must be below 1")
    return Scenario(
        name=top["name"], description=top["description"], seed=top["seed"], duration=top["duration"],
        eval_interval=top["eval_interval"], backend=top["backend"], data=data, model_kind=model["kind"],
        incentives=incentives, agents=agents, base_dir=base_dir,
    )


def _check_data(data: DataConfig) -> None:
    if data.source == "sklearn" and data.name not in SKLEARN_SETS:
        raise ScenarioError("data.name", f"expected one of {', '.join(SKLEARN_SETS)}, got {data.name!r}")
    if data.source == "generator" and data.name not in GENERATORS:
        raise ScenarioError("data.name", f"expected one of {', '.join(GENERATORS)}, got {data.name!r}")
    if data.source == "csv" and not data.path:
        raise ScenarioError("data.path", "missing: a csv data set needs a path")
    if data.source == "generator" and data.classes < 2:
        raise ScenarioError("data.classes", "a generator needs at least 2 classes")


def _check_waits(incentives: Incentives) -> None:
    if incentives.owner_claim_wait < incentives.refund_wait:
        raise ScenarioError("incentive.owner_claim_wait", "must be at least refund_wait")
    if incentives.any_claim_wait < incentives.owner_claim_wait:
        raise ScenarioError("incentive.any_claim_wait", "must be at least owner_claim_wait")


def _agents(raw: Any) -> tuple[AgentSpec, ...]:
    if raw is None:
        raise ScenarioError("agents", "missing: a scenario needs at least one [[agents]] entry")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("agents", "expected a non-empty array of tables ([[agents]])")
    specs = []
    for index, entry in enumerate(raw):
        where = f"agents[{index}]"
        if not isinstance(entry, Mapping):
            raise ScenarioError(where, "expected a table")
        kind = Field("kind", "text", required=True).read(entry, where)
        cls = agent_class(kind, f"{where}.kind")
        params = read_table(entry, where, cls.all_fields())
        specs.append(AgentSpec(kind, params["name"], params))
    unique_names(s.name for s in specs)
    _check_references(specs)
    owners = [i for i, s in enumerate(specs) if s.kind == "owner"]
    if len(owners) > 1:
        raise ScenarioError(f"agents[{owners[1]}].kind", "a scenario has at most one owner")
    if not owners:
        specs.insert(0, AgentSpec("owner", "owner", read_table({"name": "owner", "kind": "owner"}, "agents",
                                                               agent_class("owner", "").all_fields())))
    return tuple(specs)


def _check_references(specs: list[AgentSpec]) -> None:
    """Names an owner refers to exist; readers need an owner who sells passes."""
    names = {s.name for s in specs}
    sells = any(s.kind == "owner" and s.params.get("pass_price") for s in specs)
    for index, spec in enumerate(specs):
        for name in spec.params.get("trainers", ()) if spec.kind == "owner" else ():
            if name not in names:
                raise ScenarioError(f"agents[{index}].trainers", f"no agent named {name!r}")
        if spec.kind == "reader" and not sells:
            raise ScenarioError(f"agents[{index}].kind", "a reader needs an owner with a pass_price")


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b` or `agents.NAME.field` in a raw scenario dict."""
    parts = dotted.split(".")
    if parts[0] == "agents" and len(parts) == 3:
        for entry in raw.get("agents", []):
            if entry.get("name") == parts[1]:
                entry[parts[2]] = value
                return
        raise ScenarioError(dotted, f"no agent named {parts[1]!r}")
    target = raw
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def to_raw(scenario: Scenario) -> dict[str, Any]:
    """A raw dict that parses back to the same scenario (amounts in tokens, durations in seconds)."""
    from runtime.genesis import TOKEN

    def tokens(units: int) -> float | int:
        return units // TOKEN if units % TOKEN == 0 else units / TOKEN

    inc = dataclasses.asdict(scenario.incentives)
    inc["cost_weight"] = tokens(inc["cost_weight"])
    agents = []
    for spec in scenario.agents:
        params = dict(spec.params)
        for field in agent_class(spec.kind, "").all_fields():
            if field.kind == "tokens" and params.get(field.name):
                params[field.name] = tokens(params[field.name])
            elif field.kind == "tokens":
                params.pop(field.name, None)
            elif field.kind == "names":
                params[field.name] = list(params.get(field.name, ()))
        agents.append(params)
    return {
        "name": scenario.name, "description": scenario.description, "seed": scenario.seed,
        "duration": scenario.duration, "eval_interval": scenario.eval_interval,
        "backend": scenario.backend,
        "data": {k: v for k, v in dataclasses.asdict(scenario.data).items() if v != ""},
        "model": {"kind": scenario.model_kind}, "incentive": inc, "agents": agents,
    }
