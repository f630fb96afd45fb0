"""Agents that do not (mainly) add data: the model's owner (registers the pre-trained model, configures
training, sells passes, claims deposits after the owner wait), the reporter (earns a record of good data,
then reports bad data to take deposits) and the reader (buys passes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import models
from formats import artifact as art
from pallets.model_registry.types import InputSpec as ChainSpec
from scenarios.agents.base import Agent, register_agent
from scenarios.agents.contributors import FEE_MARGIN, Contributor
from scenarios.fields import Field

if TYPE_CHECKING:
    from scenarios.world import World

PERMILL = 1_000_000


@register_agent
class Owner(Agent):
    """Registers the model (pre-trained off chain on the initial data, uploaded as an artifact), sets
    the training configuration, optionally sells passes, and claims what the owner may claim."""

    kind = "owner"
    FIELDS = (
        Field("interval", "duration", 6 * 3600, doc="how often it looks for deposits to claim"),
        Field("claims", "bool", True, doc="claims deposits after the owner-claim wait"),
        Field("pass_price", "tokens", 0, doc="sells Reader passes at this price (0: the model is public)"),
        Field("pass_blocks", "positive_int", 1_000, doc="blocks a pass lasts"),
        Field("contributor_share", "fraction", 0.5, doc="share of each pass sale for contributors"),
        Field("trainers", "names", (), doc="agents granted the Trainer role (mechanism Trainers)"),
    )

    def act(self, world: World) -> int | None:
        if world.model is None:
            self.register(world)
        else:
            if self.params["claims"]:
                self.claim(world)
            claim_revenue(world, self)
        return world.now + int(self.params["interval"])

    def register(self, world: World) -> None:
        """Upload the pre-trained weights, register the model and configure training, in one block."""
        rt = world.chain.runtime
        data = self.initial_weights(world)
        root = art.artifact_root(data)
        upload = int(rt.pallet_by_name("ModelRegistry").next_upload.get())  # type: ignore[attr-defined]
        model = int(rt.pallet_by_name("ModelRegistry").next_model.get())  # type: ignore[attr-defined]
        world.submit(self, "ModelRegistry.begin_upload", root=root, size=len(data))
        for index, chunk in enumerate(art.split_chunks(data)):
            world.submit(self, "ModelRegistry.upload_chunk", upload=upload, index=index, data=chunk)
        world.submit(self, "ModelRegistry.finish_upload", upload=upload)
        spec = world.data.spec
        chain_spec = ChainSpec(spec.n_features, spec.sparse, spec.min_value, spec.max_value,
                               spec.max_nonzeros)
        world.submit(
            self, "ModelRegistry.register", on_result=lambda r, ev: self._registered(world, model, r),
            name="scenario", description="", task="classification", kind=world.kind,
            input_spec=chain_spec, labels=tuple(world.data.label_names), license="", artifact=root,
        )
        if self.params["pass_price"]:
            self.sell_passes(world, model)
        if rt.has_pallet("Training"):
            self.configure(world, model)
        self.grant_trainers(world, model)

    def grant_trainers(self, world: World, model: int) -> None:
        """Give the agents named in `trainers` the Trainer role on the model, for good."""
        from pallets.access.types import Role

        for agent in world.agents:
            if agent.name in self.params["trainers"]:
                world.submit(self, "Access.grant", model=model, who=agent.keypair.account,
                             role=Role.TRAINER, expires_at=None)

    def configure(self, world: World, model: int) -> None:
        """Set the model's training configuration from the scenario's incentives."""
        from pallets.training.types import Mechanism

        incentives = world.incentives
        world.submit(
            self, "Training.set_config", model=model, enabled=True,
            mechanism=Mechanism(incentives.mechanism), refund_wait_s=incentives.refund_wait,
            owner_claim_wait_s=incentives.owner_claim_wait, any_claim_wait_s=incentives.any_claim_wait,
            cost_weight=incentives.cost_weight, batch_limit=incentives.batch_limit,
        )

    def _registered(self, world: World, model: int, result: Any) -> None:
        self.count(result)
        if result.ok:
            world.model = model

    def initial_weights(self, world: World) -> bytes:
        """The kind's weights trained (with the chain's own fixed-point rule) on the initial data."""
        kind = models.get_kind(world.kind)
        data = world.data
        weights = kind.init_weights(data.spec, data.n_labels)
        rows, labels = data.initial
        if rows:
            weights = kind.train(weights, rows, labels)
        return kind.encode(weights)

    def sell_passes(self, world: World, model: int) -> None:
        """Make the model permissioned and sell Reader passes."""
        from pallets.access.types import Training, Visibility

        world.submit(self, "Access.set_policy", model=model, visibility=Visibility.PERMISSIONED,
                     training=Training.OPEN)
        world.submit(self, "Access.set_pass_terms", model=model, price=self.params["pass_price"],
                     duration_blocks=self.params["pass_blocks"],
                     contributor_share_permill=int(self.params["contributor_share"] * PERMILL))

    def claim(self, world: World) -> None:
        """Take what remains of contributions older than the owner-claim wait."""
        wait = world.incentives.owner_claim_wait
        for contribution in world.ledger.open_contributions():
            if world.now - contribution.added_s < wait:
                break
            world.submit(self, "Training.report", contribution=contribution.id,
                         features=contribution.features, label=contribution.label)


@register_agent
class Reporter(Contributor):
    """Adds a few true examples to earn a record of good data, then reports bad data for its deposit."""

    kind = "reporter"
    FIELDS = (
        Field("interval", "duration", 3600, doc="how often it looks for data to report"),
        Field("jitter", "fraction", 0.2, doc="waits are uniform in interval * (1 +/- jitter)"),
        Field("max_deposit", "tokens", 100 * 10**12, doc="most it deposits for its own examples"),
        Field("contributions", "count", 2, doc="true examples it adds before reporting"),
        Field("refunds", "bool", True, doc="claims refunds of its own data"),
        Field("reports", "bool", True, doc="reports others' data the model disagrees with"),
        Field("waits", "text", "uniform", choices=("uniform", "exponential"), doc="wait distribution"),
    )

    def wants_to_contribute(self, world: World) -> bool:
        return self.succeeded_adds(world) < int(self.params["contributions"])

    def succeeded_adds(self, world: World) -> int:
        """How many of its examples the chain accepted."""
        me = self.keypair.account
        return sum(1 for c in world.ledger.contributions.values() if c.contributor == me)


@register_agent
class Reader(Agent):
    """Buys a Reader pass on the model every `interval` (the owner must sell passes)."""

    kind = "reader"
    FIELDS = (Field("interval", "duration", 86_400, doc="time between pass purchases"),)

    def act(self, world: World) -> int | None:
        if world.model is not None and world.free(self) > FEE_MARGIN:
            world.submit(self, "Access.buy_pass", on_result=lambda r, _e: self.count(r), model=world.model)
        return world.now + int(self.params["interval"])


def claim_revenue(world: World, agent: Agent) -> None:
    """Claim pass revenue credited to the agent, if there is any."""
    rt = world.chain.runtime
    if world.model is None or not rt.has_pallet("Access"):
        return
    owed = rt.pallet_by_name("Access").revenue.get(world.model, agent.keypair.account, 0)  # type: ignore[attr-defined]
    if owed:
        world.submit(agent, "Access.claim_revenue", model=world.model)
