"""The agent base class and the registry of agent kinds. An agent is a plain Python class: it has a key,
a starting balance and a seeded numpy Generator, and `act(world)` does what it wants at `world.now`
(reads and submissions) and returns when it next wakes (absolute simulated seconds; None: never).

Write a new kind by subclassing `Agent`, listing its scenario-file fields in FIELDS and registering it:

    @register_agent
    class Lurker(Agent):
        kind = "lurker"
        FIELDS = (Field("interval", "duration", 3600),)
        def act(self, world): return world.now + self.params["interval"]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from cmu.scenarios.fields import Field, ScenarioError
from runtime.crypto import Keypair, dev_keypair

if TYPE_CHECKING:
    from cmu.scenarios.world import World

COMMON_FIELDS = (
    Field("name", "name", required=True, doc="unique; used in metric columns"),
    Field("kind", "text", required=True, doc="the agent kind"),
    Field("balance", "tokens", 10_000 * 10**12, doc="starting balance in tokens"),
    Field("start", "duration0", 0, doc="when the agent first wakes"),
)
A = TypeVar("A", bound="type[Agent]")
AGENT_KINDS: dict[str, type[Agent]] = {}


def agent_keypair(name: str) -> Keypair:
    """The key of a scenario agent, derived from its name (the same in every run)."""
    return dev_keypair(f"scenario/{name}")


class Agent:
    """A participant that signs and submits extrinsics at simulated times."""

    kind: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[Field, ...]] = ()

    def __init__(self, name: str, params: dict[str, Any], rng: np.random.Generator) -> None:
        self.name = name
        self.params = params
        self.rng = rng
        self.keypair = agent_keypair(name)
        self.start_balance: int = int(params.get("balance", 0))
        self.submitted = 0
        self.refused = 0
        self.failed = 0
        self.succeeded = 0

    @classmethod
    def all_fields(cls) -> tuple[Field, ...]:
        """Fields every agent has plus this kind's own."""
        return COMMON_FIELDS + cls.FIELDS

    def first_wake(self, world: World) -> int | None:
        """When the agent first acts (the `start` field, at least second 1)."""
        return max(1, int(self.params.get("start", 0)))

    def act(self, world: World) -> int | None:
        """Act at `world.now`; return the next wake time (> now), or None to stop."""
        return None

    def count(self, result: Any) -> None:
        """Tally one included extrinsic's outcome."""
        if result.ok:
            self.succeeded += 1
        else:
            self.failed += 1

    def wait(self, mean: int, jitter: float) -> int:
        """A wait of at least one second: uniform within mean * (1 +/- jitter), or exponential with
        that mean when the agent's `waits` field says "exponential" (a Poisson stream of actions)."""
        if self.params.get("waits") == "exponential":
            return max(1, int(self.rng.exponential(mean)))
        low, high = mean * (1.0 - jitter), mean * (1.0 + jitter)
        return max(1, int(self.rng.uniform(low, high)) if high > low else int(mean))


def register_agent(cls: A) -> A:
    """Make an agent class available to scenario files under its `kind` name."""
    if not cls.kind or cls.kind in AGENT_KINDS:
        raise ValueError(f"agent kind {cls.kind!r} is empty or taken")
    AGENT_KINDS[cls.kind] = cls
    return cls


def agent_class(kind: str, where: str) -> type[Agent]:
    """The class registered for `kind` (ScenarioError naming the field otherwise)."""
    found = AGENT_KINDS.get(kind)
    if found is None:
        raise ScenarioError(where, f"unknown agent kind {kind!r} (known: {', '.join(sorted(AGENT_KINDS))})")
    return found


def unique_names(names: Iterable[str]) -> None:
    """Refuse two agents with one name."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ScenarioError(f"agents[{index}].name", f"{name!r} is used by another agent")
        seen.add(name)
