"""Agents that add data: the honest contributor, the label-flipping adversary, the free rider and the
spammer, with what every contributor shares (deposit-aware timing, refunds of its own data, reports of
others' data the model disagrees with, claims after the any-account wait).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cmu.scenarios.agents.base import Agent, register_agent
from cmu.scenarios.fields import Field
from cmu.scenarios.ledger import Contribution

if TYPE_CHECKING:
    from cmu.scenarios.world import World

NOT_READY_RETRY_S = 60
FEE_MARGIN = 10**9  # smallest units kept back for fees (fees are about 10**7 a call)
MAX_CLAIMS_PER_WAKE = 50
POLL_S = 20  # how often an agent with a min_deposit looks at the deposit while it waits for an update


class Contributor(Agent):
    """Adds labelled data when the deposit is at most `max_deposit`, then refunds and reports."""

    FIELDS: ClassVar[tuple[Field, ...]] = (
        Field("interval", "duration", 600, doc="mean time between contributions"),
        Field("jitter", "fraction", 0.5, doc="waits are uniform in interval * (1 +/- jitter)"),
        Field("max_deposit", "tokens", 100 * 10**12, doc="waits until a deposit costs at most this"),
        Field("refunds", "bool", True, doc="claims refunds of its own data"),
        Field("reports", "bool", False, doc="reports others' data the model disagrees with"),
        Field("waits", "text", "uniform", choices=("uniform", "exponential"), doc="wait distribution"),
        Field("min_deposit", "tokens", 0, doc="contributes only right after an update, while the "
                                              "deposit is at least this"),
    )

    def __init__(self, name: str, params: dict[str, Any], rng: Any) -> None:
        super().__init__(name, params, rng)
        self.pending: set[int] = set()  # contribution ids with a refund or report in flight
        self.deposited = 0
        self.pass_pending = 0
        self.polling = False  # between polls for a deposit of at least min_deposit

    def act(self, world: World) -> int | None:
        if not world.ready:
            return world.now + NOT_READY_RETRY_S
        if not self.polling:
            self.settle(world)
            if not self.may_train(world):
                return world.now + self.wait(self.params["interval"], self.params["jitter"])
        wait = world.wait_for_deposit(self.params["max_deposit"])
        if wait > 0:
            return world.now + wait
        if self.params.get("min_deposit") and world.deposit_now() < self.params["min_deposit"]:
            self.polling = True  # the deposit rises again at the model's next update
            return world.now + POLL_S
        self.polling = False
        if self.wants_to_contribute(world):
            self.contribute(world)
        return world.now + self.wait(self.params["interval"], self.params["jitter"])

    # --- what differs between kinds ----------------------------------------------------------------

    def wants_to_contribute(self, world: World) -> bool:
        """Whether to add data at this wake (the deposit is already acceptable)."""
        return True

    def example(self, world: World) -> tuple[list[int], int]:
        """The (features, label) to add."""
        return world.data.sample(self.rng)

    # --- shared behaviour --------------------------------------------------------------------------

    def may_train(self, world: World) -> bool:
        """Whether the Access policy lets this agent train now (never a permissioned model); if a pass
        would let it, buy one (it trains from its next wake), and claim any pass revenue its good data
        earned."""
        rt = world.chain.runtime
        if world.model is None or not rt.has_pallet("Access"):
            return True
        access: Any = rt.pallet_by_name("Access")
        if access.revenue.get(world.model, self.keypair.account, 0):
            world.submit(self, "Access.claim_revenue", model=world.model)
        if access.can(self.keypair.account, world.model, "plaintext_weights") is False:
            return False  # a permissioned model's weights are encrypted: the chain does not train it
        if access.can(self.keypair.account, world.model, "train"):
            return True
        if access.pass_terms.get(world.model) is not None and self.pass_pending <= world.now:
            self.pass_pending = world.now + 3_600  # don't buy twice while the first is in flight
            world.submit(self, "Access.buy_pass", on_result=lambda r, _e: self.count(r), model=world.model)
        return False

    def contribute(self, world: World) -> None:
        """Add one example if the free balance covers the deposit."""
        deposit = world.deposit_now()
        if world.free(self) < deposit + FEE_MARGIN or world.model is None:
            return
        features, label = self.example(world)
        self.deposited += deposit
        world.submit(self, "Training.add_data", on_result=self._counted, model=world.model,
                     features=features, label=label)

    def _counted(self, result: Any, _events: list[Any]) -> None:
        self.count(result)

    def settle(self, world: World) -> None:
        """Refund own data the model agrees with; report or claim others' data where allowed."""
        waits = world.incentives
        due = [c for c in world.ledger.open_contributions()
               if world.now - c.added_s >= waits.refund_wait and c.id not in self.pending]
        mine = [c for c in due if c.contributor == self.keypair.account] if self.params["refunds"] else []
        others = [c for c in due if c.contributor != self.keypair.account
                  and self.keypair.account not in c.reporters]
        if not self.params["reports"]:
            others = [c for c in others if world.now - c.added_s >= waits.any_claim_wait]
        candidates = mine + others
        if not candidates:
            return
        agrees = [p == c.label for p, c in
                  zip(world.predict([c.features for c in candidates]), candidates, strict=True)]
        good = world.ledger.good.get(self.keypair.account, 0)
        actions = []
        for contribution, agreed in zip(candidates, agrees, strict=True):
            if contribution.contributor == self.keypair.account:
                if agreed:
                    actions.append(("Training.refund", contribution))
            elif world.now - contribution.added_s >= waits.any_claim_wait or (not agreed and good > 0):
                actions.append(("Training.report", contribution))
        for call, contribution in actions[:MAX_CLAIMS_PER_WAKE]:
            self._claim(world, call, contribution)

    def _claim(self, world: World, call: str, contribution: Contribution) -> None:
        self.pending.add(contribution.id)

        def done(result: Any, _events: list[Any]) -> None:
            self.count(result)
            self.pending.discard(contribution.id)

        outcome = world.submit(self, call, on_result=done, contribution=contribution.id,
                               features=contribution.features, label=contribution.label)
        if not outcome.accepted:
            self.pending.discard(contribution.id)


@register_agent
class HonestContributor(Contributor):
    """Adds true labels (with a small mistake rate) while the model is good enough on its own sample."""

    kind = "honest"
    FIELDS = (
        *Contributor.FIELDS[:4],
        Field("reports", "bool", True, doc="reports others' data the model disagrees with"),
        Field("mistake_rate", "fraction", 0.0, doc="chance of a wrong label"),
        Field("min_accuracy", "fraction", 0.0, doc="stops adding while the model's accuracy on its "
                                                   "own sample is below this"),
        Field("check_size", "positive_int", 50, doc="rows in its own accuracy sample"),
        Field("waits", "text", "uniform", choices=("uniform", "exponential"), doc="wait distribution"),
    )

    def __init__(self, name: str, params: dict[str, Any], rng: Any) -> None:
        super().__init__(name, params, rng)
        self.check: tuple[list[list[int]], list[int]] | None = None

    def wants_to_contribute(self, world: World) -> bool:
        if self.params["min_accuracy"] <= 0:
            return True
        if self.check is None:
            drawn = [world.data.sample(self.rng) for _ in range(self.params["check_size"])]
            self.check = ([f for f, _ in drawn], [y for _, y in drawn])
        return world.accuracy(*self.check) >= float(self.params["min_accuracy"])

    def example(self, world: World) -> tuple[list[int], int]:
        features, label = world.data.sample(self.rng)
        if self.rng.random() < self.params["mistake_rate"]:
            label = other_label(self, label, world.data.n_labels)
        return features, label


def other_label(agent: Agent, label: int, n_labels: int) -> int:
    """A label other than `label`, drawn uniformly."""
    return (label + 1 + int(agent.rng.integers(n_labels - 1))) % n_labels


@register_agent
class LabelFlipper(Contributor):
    """The adversary: adds real examples with a wrong label, to drag the model away from the truth."""

    kind = "adversary"
    FIELDS = (
        Field("interval", "duration", 3600, doc="mean time between contributions"),
        *Contributor.FIELDS[1:],
    )

    def example(self, world: World) -> tuple[list[int], int]:
        features, label = world.data.sample(self.rng)
        return features, other_label(self, label, world.data.n_labels)


@register_agent
class FreeRider(Contributor):
    """Adds copies of data others contributed recently instead of collecting its own."""

    kind = "free_rider"
    FIELDS = (
        Field("interval", "duration", 3600, doc="mean time between contributions"),
        *Contributor.FIELDS[1:],
    )

    def wants_to_contribute(self, world: World) -> bool:
        return any(c.contributor != self.keypair.account for c in world.ledger.contributions.values())

    def example(self, world: World) -> tuple[list[int], int]:
        others = [c for _, c in sorted(world.ledger.contributions.items())
                  if c.contributor != self.keypair.account][-20:]
        chosen = others[int(self.rng.integers(len(others)))]
        return list(chosen.features), chosen.label


@register_agent
class Spammer(Contributor):
    """Sends bursts of random rows with random labels, whatever the deposit costs."""

    kind = "spammer"
    FIELDS = (
        Field("interval", "duration", 3600, doc="mean time between bursts"),
        Field("jitter", "fraction", 0.5, doc="waits are uniform in interval * (1 +/- jitter)"),
        Field("burst", "positive_int", 5, doc="contributions per burst"),
        Field("refunds", "bool", True, doc="claims refunds of its own data"),
        Field("reports", "bool", False, doc="reports others' data"),
        Field("waits", "text", "uniform", choices=("uniform", "exponential"), doc="wait distribution"),
    )

    def act(self, world: World) -> int | None:
        if not world.ready:
            return world.now + NOT_READY_RETRY_S
        self.settle(world)
        if not self.may_train(world):
            return world.now + self.wait(self.params["interval"], self.params["jitter"])
        for _ in range(self.params["burst"]):
            self.contribute(world)
        return world.now + self.wait(self.params["interval"], self.params["jitter"])

    def example(self, world: World) -> tuple[list[int], int]:
        return world.data.noise_row(self.rng), int(self.rng.integers(world.data.n_labels))
