"""Agents that do not (mainly) add data: the model's owner (registers the pre-trained model, configures
training, sells passes, claims deposits after the owner wait), the reporter (earns a record of good data,
then reports bad data to take deposits) and the reader (buys passes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmu import models
from cmu.formats import artifact as art
from cmu.scenarios.agents.base import Agent, register_agent
from cmu.scenarios.agents.contributors import FEE_MARGIN, Contributor
from cmu.scenarios.fields import Field
from pallets.model_registry.types import InputSpec as ChainSpec

if TYPE_CHECKING:
    from cmu.scenarios.world import World

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
        Field("sell_after", "duration0", 0, doc="when it makes the model Permissioned (its weights then "
              "encrypted, so no more training on chain) and starts selling passes"),
        Field("pass_blocks", "positive_int", 1_000, doc="blocks a pass lasts"),
        Field("contributor_share", "fraction", 0.5, doc="share of each pass sale for contributors"),
        Field("trainers", "names", (), doc="agents granted the Trainer role (mechanism Trainers)"),
    )

    def act(self, world: World) -> int | None:
        if world.model is None:
            self.register(world)
        else:
            if self.params["pass_price"] and not self.selling and world.now >= int(self.params["sell_after"]):
                self.sell_passes(world, world.model)
            if self.params["claims"]:
                self.claim(world)
            claim_revenue(world, self)
        return world.now + int(self.params["interval"])

    selling = False

    def upload(self, world: World, data: bytes, queued: int = 0) -> bytes:
        """Submit the upload of `data` (begin, every chunk, finish) after `queued` uploads submitted for
        the same block; its root."""
        rt = world.chain.runtime
        root = art.artifact_root(data)
        upload = int(rt.pallet_by_name("ModelRegistry").next_upload.get()) + queued  # type: ignore[attr-defined]
        world.submit(self, "ModelRegistry.begin_upload", root=root, size=len(data))
        for index, chunk in enumerate(art.split_chunks(data)):
            world.submit(self, "ModelRegistry.upload_chunk", upload=upload, index=index, data=chunk)
        world.submit(self, "ModelRegistry.finish_upload", upload=upload)
        return root

    def register(self, world: World) -> None:
        """Upload the pre-trained weights, register the model and configure training, in one block;
        with passes sold from the start, make it Permissioned at once."""
        rt = world.chain.runtime
        model = int(rt.pallet_by_name("ModelRegistry").next_model.get())  # type: ignore[attr-defined]
        root = self.upload(world, self.initial_weights(world))
        spec = world.data.spec
        chain_spec = ChainSpec(spec.n_features, spec.sparse, spec.min_value, spec.max_value,
                               spec.max_nonzeros)
        world.submit(
            self, "ModelRegistry.register", on_result=lambda r, ev: self._registered(world, model, r),
            name="scenario", description="", task="classification", kind=world.kind,
            input_spec=chain_spec, labels=tuple(world.data.label_names), license="", artifact=root,
        )
        if rt.has_pallet("Training"):
            self.configure(world, model)
        self.grant_trainers(world, model)
        if self.params["pass_price"] and int(self.params["sell_after"]) == 0:
            self.sell_passes(world, model, self.initial_weights(world), queued=1)

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

    def sell_passes(self, world: World, model: int, plaintext: bytes | None = None, queued: int = 0) -> None:
        """Make the model permissioned and sell Reader passes. A permissioned model's weights are
        confidential: its current weights (or `plaintext`) are published encrypted first."""
        from pallets.access.types import Training, Visibility

        self.selling = True
        if plaintext is None:
            versioning: Any = world.chain.runtime.pallet_by_name("Versioning")
            kind = models.get_kind(world.kind)
            plaintext = kind.encode(versioning.weights_at(model, versioning.latest(model)))
        sealed = self.upload(world, seal(plaintext, bytes(self.keypair.account), model), queued)
        world.submit(self, "Access.publish_confidential", model=model, artifact=sealed)
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


def seal(plaintext: bytes, owner: bytes, model: int) -> bytes:
    """`plaintext` as a confidential artifact under a data key derived from the owner and model, with a
    derived nonce: deterministic, so a scenario replays to the same chain (a real owner draws both)."""
    import nacl.secret

    from cmu.formats import envelope
    from runtime.crypto import blake2_256

    key = blake2_256(b"scenario-data-key" + owner + model.to_bytes(4, "little"))
    nonce = blake2_256(key + plaintext)[: nacl.secret.SecretBox.NONCE_SIZE]
    box = nacl.secret.SecretBox(key)
    sealed: bytes = envelope.header(envelope.key_id_of(key)) + bytes(box.encrypt(plaintext, nonce))
    return sealed


def claim_revenue(world: World, agent: Agent) -> None:
    """Claim pass revenue credited to the agent, if there is any."""
    rt = world.chain.runtime
    if world.model is None or not rt.has_pallet("Access"):
        return
    owed = rt.pallet_by_name("Access").revenue.get(world.model, agent.keypair.account, 0)  # type: ignore[attr-defined]
    if owed:
        world.submit(agent, "Access.claim_revenue", model=world.model)
