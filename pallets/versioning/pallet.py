"""The Versioning pallet: immutable version tokens (model, n), channels, pins, rollback, deprecation,
quorum promotion of `stable` (one approval at a time or one BLS aggregate) and automatic training versions.

Maintainers are those the `model_access` hook allows the action "publish_version" (for publishing, rollback,
channels, deprecation, approvals and aggregate signers alike); when no access pallet answers (None) only
the model's owner is a Maintainer. set_quorum is the owner's alone.
With Versioning, a model's current weights are its latest version (model_get shows its root; predictions
and downloads read it unless a version, a pin or stable says otherwise). ModelInfo.artifact keeps the
registry's meaning, the artifact registered or last set with set_artifact, and set_artifact also makes it
the next version (the model_artifact_changing hook), so nothing changes the weights outside the history.
Version 0 is created lazily: the first call or API that writes versions of a model stores the registry's
current artifact as version 0 (ensure_genesis_version); until then reads see it as an implicit version 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import numpy.typing as npt

from cmu import models
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import ModelInfo
from pallets.versioning import quorum as bls_quorum
from pallets.versioning import store, training
from pallets.versioning.pending import PendingTraining
from pallets.versioning.types import (
    LATEST,
    STABLE,
    BlsPublicKey,
    BlsSignature,
    Cause,
    ChannelName,
    Metric,
    Pin,
    Tag,
    VersionRecord,
)
from runtime import bls, codec
from runtime.blockscoped import BlockScoped
from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap
from runtime.types import H256, U32, U64, AccountId, ByteLength

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAINTAIN = "publish_version"
PLAINTEXT = "plaintext_weights"  # the model_access action asked before plaintext weights go on chain
"""The model_access action that makes a Maintainer (the Access pallet's table: Maintainer and up)."""
MAX_METRICS, MAX_SIGNERS = 16, 64
Metrics = Annotated[list[Metric], ByteLength(most=MAX_METRICS)]
Signers = Annotated[list[AccountId], ByteLength(most=MAX_SIGNERS)]
I64 = npt.NDArray[np.int64]


class Versioning(Pallet):
    """Versions of tokenized models: history, channels, pins and quorum promotion."""

    name, index = "Versioning", 12
    CHECKPOINT_EVERY = 64  # a delta version this many deltas from a full one is stored in full instead
    MAX_QUORUM = MAX_SIGNERS

    versions: StorageDoubleMap[int, int, VersionRecord] = StorageDoubleMap(
        U32, U32, VersionRecord, doc="Version records (the version tokens) by model and number."
    )
    version_count: StorageMap[int, int] = StorageMap(U32, U32, doc="How many versions each model has.")
    deltas: StorageDoubleMap[int, int, bytes] = StorageDoubleMap(
        U32, U32, bytes, doc="encode_delta bytes of delta versions, applied to their parent's weights."
    )
    channels: StorageDoubleMap[int, str, int] = StorageDoubleMap(
        U32, ChannelName, U32, doc="Named channels (stable, ...) of each model; latest is implicit."
    )
    tags: StorageDoubleMap[int, str, int] = StorageDoubleMap(
        U32, Tag, U32, doc="Semantic tags of published versions."
    )
    deprecated: StorageDoubleMap[int, int, bool] = StorageDoubleMap(
        U32, U32, bool, doc="Deprecated versions (kept in history, refused for new pins)."
    )
    pins: StorageDoubleMap[int, AccountId, Pin] = StorageDoubleMap(
        U32, AccountId, Pin, doc="What each account uses of a model: a version or a channel."
    )
    quorum: StorageMap[int, int] = StorageMap(
        U32, U32, default=0, doc="Maintainer approvals needed to move stable (0 or 1: one is enough)."
    )
    approvals: StorageDoubleMap[int, tuple[int, AccountId], bool] = StorageDoubleMap(
        U32, tuple[U32, AccountId], bool, doc="Pending approvals to move stable, by (version, Maintainer)."
    )
    explicit: StorageDoubleMap[int, int, bool] = StorageDoubleMap(
        U32, U32, bool, doc="Versions made by a Maintainer or the owner (publish, rollback, set_artifact)."
    )
    bls_keys: StorageMap[AccountId, bytes] = StorageMap(
        AccountId, BlsPublicKey, doc="BLS public keys registered with a proof of possession."
    )

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.pending: BlockScoped[int, PendingTraining] = BlockScoped(runtime.overlay)
        """This block's training updates by model (block-scoped memory, rolled back with the layers)."""

    # --- events ----------------------------------------------------------------------------------

    @dataclasses.dataclass(frozen=True)
    class VersionCreated(Event):
        """A new version was minted (full: its artifact is stored, not a delta). With the event's block and
        phase (its extrinsic) it holds the whole record, so the history can be rebuilt from blocks alone."""

        model: U32
        version: U32
        parent: U32 | None
        artifact: H256
        cause: Cause
        full: bool
        author: AccountId | None
        tag: Tag | None
        notes_hash: H256 | None
        metrics: tuple[Metric, ...]
        contributions: tuple[U64, ...]

    @dataclasses.dataclass(frozen=True)
    class ChannelMoved(Event):
        """A named channel now points at a version."""

        model: U32
        channel: ChannelName
        version: U32

    @dataclasses.dataclass(frozen=True)
    class VersionDeprecated(Event):
        """A version was deprecated: it stays in history but takes no new pins."""

        model: U32
        version: U32

    @dataclasses.dataclass(frozen=True)
    class Pinned(Event):
        """An account pinned a version or started following a channel."""

        model: U32
        who: AccountId
        pin: Pin

    @dataclasses.dataclass(frozen=True)
    class Unpinned(Event):
        """An account dropped its pin (it resolves to the default again)."""

        model: U32
        who: AccountId

    @dataclasses.dataclass(frozen=True)
    class QuorumSet(Event):
        """The owner set how many Maintainer approvals moving stable needs."""

        model: U32
        threshold: U32

    @dataclasses.dataclass(frozen=True)
    class PromotionApproved(Event):
        """A Maintainer approved moving stable to a version."""

        model: U32
        version: U32
        approver: AccountId
        approvals: U32

    @dataclasses.dataclass(frozen=True)
    class BlsKeyRegistered(Event):
        """An account registered a BLS key (its proof of possession checked)."""

        who: AccountId
        public_key: BlsPublicKey

    # --- errors ----------------------------------------------------------------------------------

    class UnknownVersion(DispatchError):
        """The model has no version with this number."""

    class NotMaintainer(DispatchError):
        """Only a Maintainer of the model may do this (the owner when no access pallet answers)."""

    class NotOwner(DispatchError):
        """Only the model's owner may do this."""

    class InvalidWeights(DispatchError):
        """The artifact does not decode as weights of the model's kind, inputs and labels."""

    class TagInUse(DispatchError):
        """Another version of this model already has this tag."""

    class ReservedChannel(DispatchError):
        """The latest channel moves by itself and cannot be set."""

    class UnknownChannel(DispatchError):
        """The model has no channel with this name."""

    class DeprecatedVersion(DispatchError):
        """The version is deprecated: it cannot be pinned, promoted or rolled back to."""

    class AlreadyDeprecated(DispatchError):
        """The version is deprecated already."""

    class NotPinned(DispatchError):
        """The account has no pin on this model."""

    class QuorumRequired(DispatchError):
        """Moving stable needs a quorum of Maintainers: use approve_promotion or promote_with_aggregate."""

    class BadThreshold(DispatchError):
        """The quorum threshold must be between 0 and MAX_QUORUM."""

    class AlreadyApproved(DispatchError):
        """This Maintainer already approved this version."""

    class InvalidProofOfPossession(DispatchError):
        """The BLS public key is invalid or its proof of possession does not verify."""

    class NoSigners(DispatchError):
        """An aggregate approval needs at least one signer."""

    class DuplicateSigner(DispatchError):
        """A signer is listed twice."""

    class NoBlsKey(DispatchError):
        """A signer has registered no BLS key."""

    class QuorumNotMet(DispatchError):
        """Fewer distinct Maintainers approved than the quorum needs."""

    class BadAggregateSignature(DispatchError):
        """The aggregate signature does not verify over (model, version, artifact root) for the signers."""

    class ConfidentialModel(DispatchError):
        """The model is Permissioned: its weights are confidential, so plaintext weights are refused (publish
        them encrypted with Access.publish_confidential; `cmu model publish` does it)."""

    class InvalidDelta(DispatchError):
        """A training update's indices/values are malformed or break the kind's weight bounds."""

    # --- typed API for other pallets and queries -----------------------------------------------------

    @property
    def registry(self) -> ModelRegistry:
        """The ModelRegistry pallet (models and artifacts)."""
        return self.runtime.pallet(ModelRegistry)

    def version(self, model: int, number: int) -> VersionRecord:
        """A version record (version 0 of an untouched model is implicit), or UnknownVersion."""
        found = store.record(self, model, number)
        if found is None:
            self.registry.model(model)
            fail(self.UnknownVersion, f"model {model} has no version {number}")
        return found

    def latest(self, model: int) -> int:
        """The newest version's number."""
        return store.count(self, model) - 1

    def first_explicit_after(self, model: int, number: int) -> int | None:
        """The first version after `number` that a Maintainer or the owner made (publish, rollback,
        set_artifact), not training; None if every later version is a training version. Training uses it
        to judge a contribution by the model as its contributions left it (see docs/training.md)."""
        prefix = self.explicit.prefix_of(model)
        begin = self.explicit.key(model, number + 1)
        for raw_key, _ in self.runtime.overlay.iterate(prefix, begin):
            found: int = codec.unpack(raw_key[len(prefix):])
            return found
        return None

    def weights_at(self, model: int, number: int) -> models.Weights:
        """The full weights of a version, rebuilt from the nearest full artifact and the deltas after it."""
        return store.weights_at(self, model, number)

    def ensure_genesis_version(self, model: int) -> None:
        """Store version 0 (the registry's current artifact) unless the model has versions already."""
        store.ensure_genesis_version(self, model)

    def channel_version(self, model: int, channel: str) -> int:
        """The version a channel names (latest: the newest), or UnknownChannel."""
        if channel == LATEST:
            return self.latest(model)
        found = self.channels.get(model, channel)
        if found is None:
            self.registry.model(model)
            fail(self.UnknownChannel, f"model {model} has no channel {channel!r}")
        return found

    def resolve(self, model: int, who: AccountId | None = None, selector: int | str | None = None) -> int:
        """The version to use: `selector` (a number or channel), else `who`'s pin, else stable or latest."""
        if selector is None and who is not None:
            pin = self.pins.get(model, who)
            if pin is not None:
                selector = pin.version if pin.version is not None else pin.channel
        if selector is None:
            selector = STABLE if self.channels.get(model, STABLE) is not None else LATEST
        if isinstance(selector, int):
            return self.version(model, selector).number
        return self.channel_version(model, selector)

    def record_training_update(
        self, model: int, contribution_id: int, indices: Sequence[int] | I64, values: Sequence[int] | I64,
        *, trusted: bool = False,
    ) -> None:
        """Add one training step (changed flat indices, their new values) to this block's version of
        `model`. It is kept in memory and undone with the caller's storage layer if the call fails.
        `trusted`: the delta came from the kind's own update rule on current_weights (skips the O(flat)
        bounds check; the structure is still checked)."""
        training.record_update(self, model, contribution_id, indices, values, trusted=trusted)

    def current_weights(self, model: int) -> models.Weights:
        """The model as training sees it now: the latest version plus this block's updates so far
        (a read-only view that later updates in the block change: use it at once or copy it)."""
        return training.current_weights(self, model)

    def settle_training(self, model: int) -> None:
        """Mint this block's training updates of `model` as their version now, ahead of an explicit
        version (publish, rollback, set_artifact) in the same block: versions then follow the order of
        the block's extrinsics, so the explicit one is `latest` after the block, and later training in
        the block starts from it. A failed call gets the updates back as they were (a copy: the minted
        version's weights stay frozen)."""
        training.settle(self, model)

    # --- helpers ---------------------------------------------------------------------------------

    def _maintainer(self, origin: Origin, model: int, action: str) -> tuple[AccountId, ModelInfo]:
        who = origin.ensure_signed()
        info = self.registry.model(model)
        self.ensure_maintainer(who, model, info, action)
        return who, info

    def ensure_maintainer(self, who: AccountId, model: int, info: ModelInfo, action: str) -> None:
        """NotMaintainer unless `who` may take `action` (the model_access hook, else the owner)."""
        allowed = self.may_maintain(who, model, info, action)
        ensure(allowed, self.NotMaintainer, f"{who} may not {action} on model {model}")

    def may_maintain(self, who: AccountId, model: int, info: ModelInfo, action: str = MAINTAIN) -> bool:
        """Whether `who` may take `action` on the model now (the model_access hook, else the owner)."""
        answer = self.runtime.hooks.model_access(who=who, model=model, action=action)
        return bool(who == info.owner if answer is None else answer)

    def _ensure_plaintext_allowed(self, who: AccountId, model: int) -> None:
        """ConfidentialModel when the access policy keeps the model's weights confidential (Permissioned):
        no new plaintext version, published or rolled back to (the model_access hook, PLAINTEXT)."""
        allowed = self.runtime.hooks.model_access(who=who, model=model, action=PLAINTEXT)
        if allowed is False:
            fail(self.ConfidentialModel, f"model {model} is permissioned: its weights are published "
                 "encrypted (Access.publish_confidential), never as a plaintext version")

    def _usable(self, model: int, number: int) -> VersionRecord:
        found = self.version(model, number)
        ensure((model, number) not in self.deprecated, self.DeprecatedVersion, f"{number} is deprecated")
        return found

    def new_record(self, model: int, parent: int | None, artifact: bytes, **fields: Any) -> VersionRecord:
        """The record of the model's next version, made in this block (not stored yet: see mint)."""
        defaults: dict[str, Any] = {"notes_hash": None, "metrics": (), "tag": None, "contributions": (),
                                    "depth": 0}
        defaults.update(fields)
        number, block, phase = store.count(self, model), self.block_number(), self.runtime.phase
        return VersionRecord(model=model, number=number, parent=parent, artifact=artifact, block=block,
                             extrinsic=phase if phase >= 0 else None, **defaults)

    def mint(self, version: VersionRecord, delta: bytes = b"") -> None:
        """Store a new version (and version 0 first if needed), then emit VersionCreated."""
        store.ensure_genesis_version(self, version.model)
        store.append(self, version, delta)
        if version.cause is not Cause.TRAINING:
            self.explicit[version.model, version.number] = True
        if version.tag is not None:
            self.tags[version.model, version.tag] = version.number
        created = self.VersionCreated(
            model=version.model, version=version.number, parent=version.parent, artifact=version.artifact,
            cause=version.cause, full=version.full, author=version.author, tag=version.tag,
            notes_hash=version.notes_hash, metrics=version.metrics, contributions=version.contributions,
        )
        self.deposit_event(created)

    # --- calls: versions -------------------------------------------------------------------------

    @call(index=0, weight=250_000)
    def publish_version(
        self,
        origin: Origin,
        model: U32,
        artifact: H256,
        tag: Tag | None,
        notes_hash: H256 | None,
        metrics: Metrics,
    ) -> None:
        """A Maintainer publishes an artifact it uploaded as the model's next version (optional tag)."""
        who, info = self._maintainer(origin, model, MAINTAIN)
        self.registry.live_model(model)
        self._ensure_plaintext_allowed(who, model)
        self.registry.ensure_claimed_by(artifact, who)
        store.decode_weights(self, info, self.registry.artifact_bytes(artifact))
        ensure(tag is None or (model, tag) not in self.tags, self.TagInUse, f"tag {tag!r} is taken")
        self.settle_training(model)
        version = self.new_record(
            model, self.latest(model), artifact, author=who, cause=Cause.UPLOAD, depth=0,
            notes_hash=notes_hash, metrics=tuple(metrics), tag=tag,
        )
        self.mint(version)

    @call(index=1, weight=200_000)
    def rollback(self, origin: Origin, model: U32, version: U32, notes_hash: H256 | None) -> None:
        """A Maintainer makes a new version with an older version's weights (history is not rewritten)."""
        who, info = self._maintainer(origin, model, MAINTAIN)
        self.registry.live_model(model)
        self._ensure_plaintext_allowed(who, model)
        target = self._usable(model, version)
        self.settle_training(model)
        delta, depth = b"", target.depth + 1 if not target.full else 0
        if depth >= self.CHECKPOINT_EVERY:  # too far from a full artifact: store the weights in full
            data = store.encode_weights(self, info, self.weights_at(model, version))
            self.registry.store_artifact(info.owner, data, 0)
            depth = 0
        elif depth:
            delta = models.encode_delta(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        new = self.new_record(
            model, version, target.artifact, author=who, cause=Cause.ROLLBACK, depth=depth,
            notes_hash=notes_hash,
        )
        self.mint(new, delta)

    @call(index=2, weight=60_000)
    def deprecate(self, origin: Origin, model: U32, version: U32) -> None:
        """A Maintainer deprecates a version: it stays in history and in existing pins, takes no new pins."""
        self._maintainer(origin, model, MAINTAIN)
        self.version(model, version)
        ensure((model, version) not in self.deprecated, self.AlreadyDeprecated)
        self.ensure_genesis_version(model)
        self.deprecated[model, version] = True
        self.deposit_event(self.VersionDeprecated(model=model, version=version))

    # --- calls: channels and pins ----------------------------------------------------------------

    @call(index=3, weight=60_000)
    def set_channel(
        self,
        origin: Origin,
        model: U32,
        channel: ChannelName,
        version: U32,
    ) -> None:
        """A Maintainer points a named channel at a version (stable needs approvals when a quorum is set)."""
        self._maintainer(origin, model, MAINTAIN)
        ensure(channel != LATEST, self.ReservedChannel)
        ensure(channel != STABLE or self.quorum[model] <= 1, self.QuorumRequired)
        self._usable(model, version)
        self.ensure_genesis_version(model)
        self.channels[model, channel] = version
        self.deposit_event(self.ChannelMoved(model=model, channel=channel, version=version))

    @call(index=4, weight=50_000)
    def pin(self, origin: Origin, model: U32, version: U32) -> None:
        """The caller pins a version of the model: it resolves to it whatever new versions come."""
        who = origin.ensure_signed()
        self._usable(model, version)
        self._set_pin(model, who, Pin(version=version, channel=None))

    @call(index=5, weight=50_000)
    def follow(self, origin: Origin, model: U32, channel: ChannelName) -> None:
        """The caller follows a channel of the model: it resolves to whatever the channel names."""
        who = origin.ensure_signed()
        self.channel_version(model, channel)
        self._set_pin(model, who, Pin(version=None, channel=channel))

    @call(index=6, weight=40_000)
    def unpin(self, origin: Origin, model: U32) -> None:
        """The caller drops its pin or channel on the model."""
        who = origin.ensure_signed()
        ensure((model, who) in self.pins, self.NotPinned)
        del self.pins[model, who]
        self.deposit_event(self.Unpinned(model=model, who=who))

    def _set_pin(self, model: int, who: AccountId, pin: Pin) -> None:
        self.ensure_genesis_version(model)
        self.pins[model, who] = pin
        self.deposit_event(self.Pinned(model=model, who=who, pin=pin))

    # --- calls: quorum promotion -----------------------------------------------------------------

    @call(index=7, weight=80_000)
    def set_quorum(self, origin: Origin, model: U32, threshold: U32) -> None:
        """The owner sets how many Maintainers must approve moving stable; pending approvals are dropped."""
        who = origin.ensure_signed()
        info = self.registry.model(model)
        ensure(who == info.owner, self.NotOwner)
        ensure(threshold <= self.MAX_QUORUM, self.BadThreshold, f"at most {self.MAX_QUORUM}")
        self.quorum[model] = threshold
        self.approvals.clear_prefix(model)
        self.deposit_event(self.QuorumSet(model=model, threshold=threshold))

    @call(index=8, weight=100_000)
    def approve_promotion(self, origin: Origin, model: U32, version: U32) -> None:
        """A Maintainer approves moving stable to a version; at the quorum stable moves."""
        who, info = self._maintainer(origin, model, MAINTAIN)
        self._usable(model, version)
        ensure((model, (version, who)) not in self.approvals, self.AlreadyApproved)
        approvals = len(bls_quorum.approvers(self, model, version, info)) + 1
        self.ensure_genesis_version(model)
        promoted = approvals >= max(1, self.quorum[model])
        if promoted:
            bls_quorum.move_stable(self, model, version)
        else:
            self.approvals[model, (version, who)] = True
        self.deposit_event(
            self.PromotionApproved(model=model, version=version, approver=who, approvals=approvals)
        )
        if promoted:
            self.deposit_event(self.ChannelMoved(model=model, channel=STABLE, version=version))

    @call(index=9, weight=100_000 + bls_quorum.PAIRING_CHECK_WEIGHT)
    def register_bls_key(self, origin: Origin, public_key: BlsPublicKey, pop: BlsSignature) -> None:
        """Register (or replace) the caller's BLS key; refused unless `pop` proves possession of it."""
        who = origin.ensure_signed()
        ensure(bls.pop_verify(public_key, pop), self.InvalidProofOfPossession)
        self.bls_keys[who] = public_key
        self.deposit_event(self.BlsKeyRegistered(who=who, public_key=public_key))

    @call(index=10, weight=bls_quorum.aggregate_weight)
    def promote_with_aggregate(
        self, origin: Origin, model: U32, version: U32, signers: Signers, signature: BlsSignature
    ) -> None:
        """Move stable with one BLS aggregate signature of Maintainers over (model, version, artifact root);
        the signers and any pending approvals of the version together must meet the quorum."""
        origin.ensure_signed()
        info = self.registry.model(model)
        target = self._usable(model, version)
        ensure(signers, self.NoSigners)
        ensure(len(set(signers)) == len(signers), self.DuplicateSigner)
        keys = [bls_quorum.signer_key(self, who, model, info) for who in signers]
        approvers = set(signers) | set(bls_quorum.approvers(self, model, version, info))
        needed = max(1, self.quorum[model])
        ensure(len(approvers) >= needed, self.QuorumNotMet, f"{len(approvers)} of {needed} approvals")
        message = bls_quorum.promotion_message(model, version, target.artifact)
        ensure(bls_quorum.aggregate_valid(keys, message, signature), self.BadAggregateSignature)
        self.ensure_genesis_version(model)
        bls_quorum.move_stable(self, model, version)
        self.deposit_event(self.ChannelMoved(model=model, channel=STABLE, version=version))

    # --- hooks ------------------------------------------------------------------------------------

    @hookimpl
    def model_artifact_changing(self, model: int, artifact: bytes, who: bytes) -> None:
        """The owner's ModelRegistry.set_artifact makes the artifact the model's next version (upload)."""
        self.settle_training(model)
        new = self.new_record(model, self.latest(model), artifact, author=AccountId(who), cause=Cause.UPLOAD)
        self.mint(new)


    @hookimpl
    def on_initialize(self, block_number: int) -> int:
        """Forget training updates of any earlier, unfinished block."""
        self.pending.clear()
        return 0

    @hookimpl
    def on_finalize(self, block_number: int) -> None:
        """Turn each model's training updates of this block into one version (models in id order)."""
        for model, pending in self.pending.take():
            training.finalize(self, model, pending)
