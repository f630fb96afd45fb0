"""The ModelRegistry pallet: model tokens over the content-addressed artifact store (store.py).

Actions and who may take them: the owner (or an approved operator) transfers; the owner approves,
sets metadata, retires and sets the artifact, which must be one the owner holds a claim on. Uploads,
claims and their deposits are the store's (see store.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cmu.formats import artifact as art
from cmu.models.errors import ModelError
from cmu.models.spec import InputSpec as KindSpec
from pallets.model_registry import kinds as chain_kinds
from pallets.model_registry.store import UPLOAD_REASON, ArtifactStore
from pallets.model_registry.types import (
    MAX_FEATURES,
    MAX_LABELS,
    Description,
    InputSpec,
    KindName,
    Label,
    ModelInfo,
    ModelMetadata,
    Name,
)
from pallets.model_registry.weights import WeightsCache
from runtime.caches import BoundedCache
from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap, StorageValue
from runtime.types import H256, U32, AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

__all__ = ["UPLOAD_REASON", "ModelRegistry"]
_DECODED_MODELS = 256
PLAINTEXT = "plaintext_weights"  # the model_access action asked before plaintext weights go on chain


def _register_weight(input_spec: InputSpec, labels: tuple[str, ...]) -> int:
    return 200_000 + 2 * input_spec.n_features * max(1, len(labels))


class ModelRegistry(ArtifactStore):
    """Tokenized models and their artifacts."""

    name, index = "ModelRegistry", 10

    next_model: StorageValue[int] = StorageValue(U32, default=0, doc="The id the next model gets.")
    models: StorageMap[int, ModelInfo] = StorageMap(U32, ModelInfo, doc="Model tokens by id.")
    owned: StorageDoubleMap[AccountId, int, bool] = StorageDoubleMap(
        AccountId, U32, bool, doc="Models by owner (for listing)."
    )

    # --- events ----------------------------------------------------------------------------------

    @dataclasses.dataclass(frozen=True)
    class ModelRegistered(Event):
        """A model token was minted."""

        model: U32
        owner: AccountId
        kind: str
        artifact: H256

    @dataclasses.dataclass(frozen=True)
    class ModelTransferred(Event):
        """A model token changed hands."""

        model: U32
        sender: AccountId
        dest: AccountId

    @dataclasses.dataclass(frozen=True)
    class ApprovalSet(Event):
        """The owner approved an operator who may transfer the token."""

        model: U32
        operator: AccountId

    @dataclasses.dataclass(frozen=True)
    class ApprovalCancelled(Event):
        """The owner withdrew the approval."""

        model: U32

    @dataclasses.dataclass(frozen=True)
    class MetadataSet(Event):
        """The owner changed the model's descriptive metadata."""

        model: U32

    @dataclasses.dataclass(frozen=True)
    class ModelRetired(Event):
        """The model was retired: it stays in history but takes no new training or versions."""

        model: U32

    @dataclasses.dataclass(frozen=True)
    class ArtifactSet(Event):
        """The model's current artifact changed."""

        model: U32
        artifact: H256

    # --- errors ----------------------------------------------------------------------------------

    class UnknownModel(DispatchError):
        """No model has this id."""

    class NotOwner(DispatchError):
        """Only the model's owner may do this."""

    class NotOwnerOrApproved(DispatchError):
        """Only the owner or its approved operator may transfer the model."""

    class Retired(DispatchError):
        """The model is retired."""

    class UnknownKind(DispatchError):
        """No model kind has this name."""

    class BadInputSpec(DispatchError):
        """The input spec is out of bounds (feature count or value range)."""

    class BadLabels(DispatchError):
        """A model needs between 2 and MAX_LABELS distinct labels."""

    class InvalidWeights(DispatchError):
        """The artifact does not decode as weights of this kind, input spec and labels."""

    class ConfidentialModel(DispatchError):
        """The model is Permissioned: its weights are confidential, so plaintext weights are refused (publish
        them encrypted with Access.publish_confidential; `cmu model publish` does it)."""

    class SameOwner(DispatchError):
        """The model already belongs to that account."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.weights = WeightsCache()
        """The runtime's one cache of decoded weights (versions, training, the node's reads)."""
        self.decoded_models: BoundedCache[bytes, tuple[ModelInfo, KindSpec]] = BoundedCache(
            _DECODED_MODELS
        )

    # --- helpers for other pallets and the RPC ---------------------------------------------------

    def model(self, model: int) -> ModelInfo:
        """A model token, or UnknownModel. Decoded tokens are kept by their stored bytes (a pure
        function of them), so the many reads of one model in a block decode it once."""
        return self.model_entry(model)[0]

    def model_entry(self, model: int) -> tuple[ModelInfo, KindSpec]:
        """(model token, its input spec for the models package), or UnknownModel; decoded once per
        stored value (the cache is bounded and keyed by the stored bytes)."""
        raw = self.runtime.overlay.get(self.models.key(model))
        if raw is None:
            fail(self.UnknownModel, f"no model {model}")
        entry = self.decoded_models.get(raw)
        if entry is None:
            info = self.models[model]
            entry = (info, info.input_spec.to_models())
            self.decoded_models.put(raw, entry)
        return entry

    def live_model(self, model: int) -> ModelInfo:
        """A model token that is not retired (UnknownModel or Retired otherwise)."""
        info = self.model(model)
        ensure(not info.retired, self.Retired, f"model {model} is retired")
        return info

    @functools.cached_property
    def kinds(self) -> Mapping[str, Any]:
        """This runtime's model kinds by name, gathered once from the `model_kinds` hook (kinds are code,
        not state): the built-ins this pallet contributes plus those other pallets add."""
        return chain_kinds.gather(self.runtime.hooks.model_kinds())

    def kind(self, name: str) -> Any:
        """The model kind called `name` (built-in or added by a pallet), or UnknownKind."""
        found = self.kinds.get(name)
        if found is None:
            fail(self.UnknownKind, f"no model kind {name!r}")
        return found

    @hookimpl
    def integrity_check(self) -> None:
        """The chain spec may only choose built-in kinds that exist."""
        chain_kinds.builtin_kinds(self.runtime.spec.genesis.get(self.name, {}))

    @hookimpl
    def model_kinds(self) -> list[Any]:
        """The built-in kinds of the models package the chain spec chooses (all by default)."""
        return chain_kinds.builtin_kinds(self.runtime.spec.genesis.get(self.name, {}))

    # --- tokens ----------------------------------------------------------------------------------

    @call(index=0, weight=_register_weight)
    def register(
        self,
        origin: Origin,
        name: Name,
        description: Description,
        task: Name,
        kind: KindName,
        input_spec: InputSpec,
        labels: tuple[Label, ...],
        license: Name,
        artifact: H256 | None,
    ) -> None:
        """Mint a model token owned by the caller. With no artifact the kind's initial weights are stored."""
        owner = origin.ensure_signed()
        model_kind = self.kind(kind)
        self._check_spec(input_spec, labels)
        if artifact is None:
            data = self._initial_weights(model_kind, input_spec, labels)
        else:
            self.ensure_claimed_by(artifact, owner)
            data = self.artifact_bytes(artifact)
        self._check_weights(model_kind, data, input_spec, labels)
        root = self._hold_initial_weights(owner, data) if artifact is None else artifact
        model_id = self.next_model.get()
        self.reference_artifact(root)
        metadata = ModelMetadata(name=name, description=description, task=task, license=license)
        created = self.block_number()
        info = ModelInfo(owner, None, metadata, kind, input_spec, tuple(labels), root, False, created)
        self.models[model_id] = info
        self.owned[owner, model_id] = True
        self.next_model.set(model_id + 1)
        self.deposit_event(self.ModelRegistered(model=model_id, owner=owner, kind=kind, artifact=root))

    @call(index=1, weight=60_000)
    def transfer(self, origin: Origin, model: U32, dest: AccountId) -> None:
        """Give the token to `dest` (owner or approved operator); the approval is cleared."""
        who = origin.ensure_signed()
        info = self.model(model)
        ensure(who == info.owner or who == info.approved, self.NotOwnerOrApproved)
        ensure(dest != info.owner, self.SameOwner)
        access = self.runtime.hooks.model_access(who=who, model=model, action="transfer")
        ensure(access is not False, self.NotOwnerOrApproved)
        del self.owned[info.owner, model]
        self.owned[dest, model] = True
        self.models[model] = dataclasses.replace(info, owner=dest, approved=None)
        self.deposit_event(self.ModelTransferred(model=model, sender=info.owner, dest=dest))

    @call(index=2, weight=40_000)
    def approve(self, origin: Origin, model: U32, operator: AccountId) -> None:
        """Let `operator` transfer the token once."""
        info = self._owned_by(origin, model)
        self.models[model] = dataclasses.replace(info, approved=operator)
        self.deposit_event(self.ApprovalSet(model=model, operator=operator))

    @call(index=3, weight=40_000)
    def cancel_approval(self, origin: Origin, model: U32) -> None:
        """Withdraw the operator's approval."""
        info = self._owned_by(origin, model)
        self.models[model] = dataclasses.replace(info, approved=None)
        self.deposit_event(self.ApprovalCancelled(model=model))

    @call(index=4, weight=50_000)
    def set_metadata(
        self,
        origin: Origin,
        model: U32,
        name: Name,
        description: Description,
        task: Name,
        license: Name,
    ) -> None:
        """Change the descriptive metadata (kind, inputs and labels are fixed for the model's life)."""
        info = self._owned_by(origin, model)
        metadata = ModelMetadata(name=name, description=description, task=task, license=license)
        self.models[model] = dataclasses.replace(info, metadata=metadata)
        self.deposit_event(self.MetadataSet(model=model))

    @call(index=5, weight=40_000)
    def retire(self, origin: Origin, model: U32) -> None:
        """Retire the model: it stays in history, serves predictions, takes no training or versions."""
        info = self._owned_by(origin, model)
        ensure(not info.retired, self.Retired)
        self.models[model] = dataclasses.replace(info, retired=True)
        self.deposit_event(self.ModelRetired(model=model))

    @call(index=6, weight=lambda model: 150_000)
    def set_artifact(self, origin: Origin, model: U32, artifact: H256) -> None:
        """Point the model at another stored artifact (its weights are checked against the kind); with
        Versioning in the chain this also makes the artifact the model's next version."""
        info = self._owned_by(origin, model)
        ensure(not info.retired, self.Retired)
        if self.runtime.hooks.model_access(who=info.owner, model=model, action=PLAINTEXT) is False:
            fail(self.ConfidentialModel, f"model {model} is permissioned: its weights are published "
                 "encrypted (Access.publish_confidential), never as a plaintext artifact")
        self.ensure_claimed_by(artifact, info.owner)
        self._check_weights(self.kind(info.kind), self.artifact_bytes(artifact), info.input_spec, info.labels)
        self.runtime.hooks.model_artifact_changing(model=model, artifact=artifact, who=info.owner)
        self.reference_artifact(artifact)
        self.release_artifact(info.artifact)
        self.models[model] = dataclasses.replace(info, artifact=artifact)
        self.deposit_event(self.ArtifactSet(model=model, artifact=artifact))

    def _hold_initial_weights(self, owner: AccountId, data: bytes) -> bytes:
        """Store the initial weights, or claim them when identical ones are stored (chunks are shared,
        each claimant holds its own deposit); their root."""
        root = art.artifact_root(data)
        if (root, owner) in self.claims:
            return root
        deposit = len(data) * self.DEPOSIT_PER_BYTE
        self.balances.hold(owner, UPLOAD_REASON, deposit)
        manifest = self.artifacts.get(root)
        if manifest is None:
            self.store_artifact(owner, data, deposit)
        else:
            self._add_claim(root, owner, manifest, deposit)
        return root

    def _owned_by(self, origin: Origin, model: int) -> ModelInfo:
        who = origin.ensure_signed()
        info = self.model(model)
        ensure(who == info.owner, self.NotOwner)
        return info

    def _check_spec(self, spec: InputSpec, labels: tuple[str, ...]) -> None:
        ensure(0 < spec.n_features <= MAX_FEATURES, self.BadInputSpec, "n_features must be 1..10^7")
        ensure(spec.min_value < spec.max_value, self.BadInputSpec, "min_value must be below max_value")
        ensure(spec.max_nonzeros <= spec.n_features, self.BadInputSpec, "max_nonzeros exceeds n_features")
        try:  # the model kinds' own bounds (|value| <= 2**47, dense specs leave max_nonzeros at 0)
            spec.to_model_input()  # and the input step's (text featurizer or scaling) against the spec
        except ModelError as exc:
            fail(self.BadInputSpec, str(exc))
        ensure(2 <= len(labels) <= MAX_LABELS and len(set(labels)) == len(labels), self.BadLabels)

    def _check_weights(self, model_kind: Any, data: bytes, spec: InputSpec, labels: tuple[str, ...]) -> None:
        try:
            model_kind.decode(data, spec.to_models(), len(labels))
        except ModelError as exc:
            fail(self.InvalidWeights, str(exc))

    def _initial_weights(self, model_kind: Any, spec: InputSpec, labels: tuple[str, ...]) -> bytes:
        try:
            data: bytes = model_kind.encode(model_kind.init_weights(spec.to_models(), len(labels), {}))
        except ModelError as exc:
            fail(self.BadInputSpec, str(exc))
        self._check_size(len(data))
        return data

