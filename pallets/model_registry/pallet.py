"""The ModelRegistry pallet: model tokens and content-addressed artifact storage.

Actions and who may take them: the owner (or an approved operator) transfers; the owner approves,
sets metadata, retires and sets the artifact. Anyone may upload an artifact (paying a storage deposit
per byte, held until the artifact is removed); an unfinished upload expires after UPLOAD_TTL blocks
and its deposit returns. Chunks are stored once whatever the number of artifacts that share them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pallets.balances import Balances
from pallets.model_registry import artifact as art
from pallets.model_registry.types import (
    MAX_FEATURES,
    MAX_LABELS,
    Description,
    InputSpec,
    KindName,
    Label,
    Manifest,
    ModelInfo,
    ModelMetadata,
    Name,
    Upload,
)
from runtime.crypto import blake2_256
from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap, StorageValue
from runtime.types import H256, U32, U64, AccountId, Balance, bounded_bytes

UPLOAD_REASON = "registry/upload"
_DECODED_MODELS = 256


def _register_weight(input_spec: InputSpec, labels: tuple[str, ...]) -> int:
    return 200_000 + 2 * input_spec.n_features * max(1, len(labels))


class ModelRegistry(Pallet):
    """Tokenized models and their artifacts."""

    name, index = "ModelRegistry", 10
    CHUNK_SIZE = art.CHUNK_SIZE
    MAX_ARTIFACT_SIZE = 256 * 1024 * 1024
    DEPOSIT_PER_BYTE = 1_000
    UPLOAD_TTL = 600  # blocks

    next_model: StorageValue[int] = StorageValue(U32, default=0, doc="The id the next model gets.")
    models: StorageMap[int, ModelInfo] = StorageMap(U32, ModelInfo, doc="Model tokens by id.")
    owned: StorageDoubleMap[AccountId, int, bool] = StorageDoubleMap(
        AccountId, U32, bool, doc="Models by owner (for listing)."
    )
    artifacts: StorageMap[bytes, Manifest] = StorageMap(H256, Manifest, doc="Stored artifacts by root.")
    chunks: StorageMap[bytes, bytes] = StorageMap(H256, bytes, doc="Chunk bytes by blake2b-256 hash.")
    chunk_refs: StorageMap[bytes, int] = StorageMap(H256, U32, default=0, doc="Users of each chunk.")
    next_upload: StorageValue[int] = StorageValue(U32, default=0, doc="The id the next upload gets.")
    uploads: StorageMap[int, Upload] = StorageMap(U32, Upload, doc="Uploads in progress.")
    upload_chunks: StorageDoubleMap[int, int, bytes] = StorageDoubleMap(
        U32, U32, H256, doc="Chunks received so far per upload."
    )
    upload_expiry: StorageDoubleMap[int, int, bool] = StorageDoubleMap(
        U32, U32, bool, doc="Uploads by the block at which they expire."
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

    @dataclasses.dataclass(frozen=True)
    class UploadStarted(Event):
        """An artifact upload began; chunks may now be sent."""

        upload: U32
        uploader: AccountId
        root: H256
        size: U64
        deposit: Balance

    @dataclasses.dataclass(frozen=True)
    class ChunkReceived(Event):
        """One chunk of an upload arrived."""

        upload: U32
        chunk: U32
        hash: H256

    @dataclasses.dataclass(frozen=True)
    class ArtifactStored(Event):
        """An upload finished: the artifact is stored under its root."""

        root: H256
        size: U64
        uploader: AccountId

    @dataclasses.dataclass(frozen=True)
    class UploadAborted(Event):
        """An upload ended unfinished (aborted or expired); its deposit returned."""

        upload: U32
        expired: bool

    @dataclasses.dataclass(frozen=True)
    class ArtifactRemoved(Event):
        """An unused artifact was removed; unshared chunks were deleted and the deposit released."""

        root: H256
        chunks_deleted: U32

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

    class ArtifactTooLarge(DispatchError):
        """The artifact is larger than MAX_ARTIFACT_SIZE (or empty)."""

    class ArtifactExists(DispatchError):
        """An artifact with this root is already stored: reference it instead."""

    class UnknownArtifact(DispatchError):
        """No stored artifact has this root."""

    class ArtifactInUse(DispatchError):
        """The artifact is still used by a model or version."""

    class UnknownUpload(DispatchError):
        """No upload in progress has this id."""

    class NotUploader(DispatchError):
        """Only the account that began the upload may do this."""

    class BadChunk(DispatchError):
        """The chunk index is out of range, already received, or the chunk has the wrong length."""

    class UploadIncomplete(DispatchError):
        """Chunks are still missing."""

    class RootMismatch(DispatchError):
        """The received chunks do not hash to the root announced at begin_upload."""

    class SameOwner(DispatchError):
        """The model already belongs to that account."""

    # --- helpers for other pallets and the RPC ---------------------------------------------------

    @property
    def balances(self) -> Balances:
        """The Balances pallet (deposits)."""
        return self.runtime.pallet(Balances)

    def model(self, model: int) -> ModelInfo:
        """A model token, or UnknownModel. Decoded tokens are kept by their stored bytes (a pure
        function of them), so the many reads of one model in a block decode it once."""
        raw = self.runtime.overlay.get(self.models.key(model))
        if raw is None:
            fail(self.UnknownModel, f"no model {model}")
        cache: dict[bytes, ModelInfo] = self.__dict__.setdefault("_decoded_models", {})
        info = cache.get(raw)
        if info is None:
            info = self.models[model]
            if len(cache) >= _DECODED_MODELS:
                cache.clear()
            cache[raw] = info
        return info

    def live_model(self, model: int) -> ModelInfo:
        """A model token that is not retired (UnknownModel or Retired otherwise)."""
        info = self.model(model)
        ensure(not info.retired, self.Retired, f"model {model} is retired")
        return info

    def kind(self, name: str) -> Any:
        """The model kind called `name` (built-in or added by a pallet), or UnknownKind."""
        from pallets.model_registry.kinds import find_kind

        found = find_kind(self.runtime, name)
        if found is None:
            fail(self.UnknownKind, f"no model kind {name!r}")
        return found

    def artifact_bytes(self, root: bytes) -> bytes:
        """The bytes of a stored artifact (UnknownArtifact otherwise)."""
        manifest = self.artifacts.get(root)
        if manifest is None:
            fail(self.UnknownArtifact, f"no artifact 0x{root.hex()}")
        return b"".join(self.chunks[h] for h in manifest.chunks)

    def ensure_uploaded_by(self, root: bytes, who: AccountId) -> None:
        """UnknownArtifact or NotUploader unless `who` uploaded the artifact (it pays for its storage)."""
        manifest = self.artifacts.get(root)
        if manifest is None:
            fail(self.UnknownArtifact, f"no artifact 0x{root.hex()}")
        ensure(
            manifest.uploader == who, self.NotUploader, "a model may only use artifacts its owner uploaded"
        )

    def reference_artifact(self, root: bytes) -> None:
        """Record one more user of a stored artifact (models, versions)."""
        manifest = self.artifacts.get(root)
        if manifest is None:
            fail(self.UnknownArtifact, f"no artifact 0x{root.hex()}")
        self.artifacts[root] = dataclasses.replace(manifest, refs=manifest.refs + 1)

    def release_artifact(self, root: bytes) -> None:
        """Record one user fewer (the artifact itself stays until its uploader removes it)."""
        manifest = self.artifacts[root]
        self.artifacts[root] = dataclasses.replace(manifest, refs=max(0, manifest.refs - 1))

    def store_artifact(self, uploader: AccountId, data: bytes, deposit: int) -> bytes:
        """Store bytes as an artifact at once (genesis, checkpoints made by the runtime); returns the root."""
        pieces = art.split_chunks(data)
        hashes = tuple(blake2_256(piece) for piece in pieces)
        root = art.root_of_hashes(len(data), hashes)
        if root in self.artifacts:
            return root
        for piece, digest in zip(pieces, hashes, strict=True):
            self._add_chunk(digest, piece)
        self.artifacts[root] = Manifest(len(data), hashes, uploader, deposit, 0)
        return root

    def _add_chunk(self, digest: bytes, piece: bytes) -> None:
        refs = self.chunk_refs[digest]
        if refs == 0:
            self.chunks[digest] = piece
        self.chunk_refs[digest] = refs + 1

    def _drop_chunk(self, digest: bytes) -> bool:
        refs = self.chunk_refs[digest] - 1
        if refs <= 0:
            del self.chunk_refs[digest]
            del self.chunks[digest]
            return True
        self.chunk_refs[digest] = refs
        return False

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
            self.ensure_uploaded_by(artifact, owner)
            data = self.artifact_bytes(artifact)
        self._check_weights(model_kind, data, input_spec, labels)
        if artifact is None:
            root = art.artifact_root(data)
            if root not in self.artifacts:  # identical initial weights are shared, not paid for twice
                deposit = len(data) * self.DEPOSIT_PER_BYTE
                self.balances.hold(owner, UPLOAD_REASON, deposit)
                self.store_artifact(owner, data, deposit)
        else:
            root = artifact
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
        """Point the model at another stored artifact (its weights are checked against the kind)."""
        info = self._owned_by(origin, model)
        ensure(not info.retired, self.Retired)
        self.ensure_uploaded_by(artifact, info.owner)
        self._check_weights(self.kind(info.kind), self.artifact_bytes(artifact), info.input_spec, info.labels)
        self.reference_artifact(artifact)
        self.release_artifact(info.artifact)
        self.models[model] = dataclasses.replace(info, artifact=artifact)
        self.deposit_event(self.ArtifactSet(model=model, artifact=artifact))

    def _owned_by(self, origin: Origin, model: int) -> ModelInfo:
        who = origin.ensure_signed()
        info = self.model(model)
        ensure(who == info.owner, self.NotOwner)
        return info

    def _check_spec(self, spec: InputSpec, labels: tuple[str, ...]) -> None:
        from models.base import ModelError

        ensure(0 < spec.n_features <= MAX_FEATURES, self.BadInputSpec, "n_features must be 1..10^7")
        ensure(spec.min_value < spec.max_value, self.BadInputSpec, "min_value must be below max_value")
        ensure(spec.max_nonzeros <= spec.n_features, self.BadInputSpec, "max_nonzeros exceeds n_features")
        try:  # the model kinds' own bounds (|value| <= 2**47, dense specs leave max_nonzeros at 0)
            _kind_spec(spec)
        except ModelError as exc:
            fail(self.BadInputSpec, str(exc))
        ensure(2 <= len(labels) <= MAX_LABELS and len(set(labels)) == len(labels), self.BadLabels)

    def _check_size(self, size: int) -> None:
        ensure(0 < size <= self.MAX_ARTIFACT_SIZE, self.ArtifactTooLarge, f"{size} bytes")

    def _check_weights(self, model_kind: Any, data: bytes, spec: InputSpec, labels: tuple[str, ...]) -> None:
        from models.base import ModelError

        try:
            model_kind.decode(data, _kind_spec(spec), len(labels))
        except ModelError as exc:
            fail(self.InvalidWeights, str(exc))

    def _initial_weights(self, model_kind: Any, spec: InputSpec, labels: tuple[str, ...]) -> bytes:
        from models.base import ModelError

        try:
            data: bytes = model_kind.encode(model_kind.init_weights(_kind_spec(spec), len(labels), {}))
        except ModelError as exc:
            fail(self.BadInputSpec, str(exc))
        self._check_size(len(data))
        return data

    # --- uploads ---------------------------------------------------------------------------------

    @call(index=7, weight=80_000)
    def begin_upload(self, origin: Origin, root: H256, size: U64) -> None:
        """Announce an artifact by its root and size; holds DEPOSIT_PER_BYTE x size until it is removed."""
        who = origin.ensure_signed()
        self._check_size(size)
        ensure(root not in self.artifacts, self.ArtifactExists)
        deposit = size * self.DEPOSIT_PER_BYTE
        self.balances.hold(who, UPLOAD_REASON, deposit)
        upload = self.next_upload.get()
        expires = self.block_number() + self.UPLOAD_TTL
        self.uploads[upload] = Upload(who, root, size, 0, expires, deposit)
        self.upload_expiry[expires, upload] = True
        self.next_upload.set(upload + 1)
        started = self.UploadStarted(upload=upload, uploader=who, root=root, size=size, deposit=deposit)
        self.deposit_event(started)

    @call(index=8, weight=lambda data: 60_000 + 4 * len(data))
    def upload_chunk(
        self,
        origin: Origin,
        upload: U32,
        index: U32,
        data: bounded_bytes(art.CHUNK_SIZE),  # type: ignore[valid-type]
    ) -> None:
        """Send chunk `index` of an upload (CHUNK_SIZE bytes, the last one shorter)."""
        who = origin.ensure_signed()
        state = self._own_upload(who, upload)
        ensure(index < art.chunk_count(state.size), self.BadChunk, f"index {index} out of range")
        ensure((upload, index) not in self.upload_chunks, self.BadChunk, f"chunk {index} already received")
        expected = art.expected_chunk_length(state.size, index)
        ensure(len(data) == expected, self.BadChunk, f"chunk {index} must be {expected} bytes")
        digest = blake2_256(data)
        self._add_chunk(digest, data)
        self.upload_chunks[upload, index] = digest
        self.uploads[upload] = dataclasses.replace(state, received=state.received + 1)
        self.deposit_event(self.ChunkReceived(upload=upload, chunk=index, hash=digest))

    @call(index=9, weight=100_000)
    def finish_upload(self, origin: Origin, upload: U32) -> None:
        """Check the chunks against the announced root and store the artifact."""
        who = origin.ensure_signed()
        state = self._own_upload(who, upload)
        ensure(state.received == art.chunk_count(state.size), self.UploadIncomplete)
        hashes = tuple(digest for _, digest in self.upload_chunks.iter_prefix(upload))
        ensure(art.root_of_hashes(state.size, hashes) == state.root, self.RootMismatch)
        ensure(state.root not in self.artifacts, self.ArtifactExists)
        self.artifacts[state.root] = Manifest(state.size, hashes, who, state.deposit, 0)
        self._forget_upload(upload, state)
        self.deposit_event(self.ArtifactStored(root=state.root, size=state.size, uploader=who))

    @call(index=10, weight=100_000)
    def abort_upload(self, origin: Origin, upload: U32) -> None:
        """Give up an upload: its chunks are released and its deposit returned."""
        who = origin.ensure_signed()
        state = self._own_upload(who, upload)
        self._end_upload(upload, state, expired=False)

    @call(index=11, weight=150_000)
    def remove_artifact(self, origin: Origin, root: H256) -> None:
        """The uploader removes an artifact no model or version uses; unshared chunks are deleted."""
        who = origin.ensure_signed()
        manifest = self.artifacts.get(root)
        if manifest is None:
            fail(self.UnknownArtifact, f"no artifact 0x{root.hex()}")
        ensure(manifest.uploader == who, self.NotUploader)
        ensure(manifest.refs == 0, self.ArtifactInUse)
        deleted = sum(1 for digest in manifest.chunks if self._drop_chunk(digest))
        del self.artifacts[root]
        if manifest.deposit:
            self.balances.release(who, UPLOAD_REASON, manifest.deposit)
        self.deposit_event(self.ArtifactRemoved(root=root, chunks_deleted=deleted))

    def _own_upload(self, who: AccountId, upload: int) -> Upload:
        state = self.uploads.get(upload)
        if state is None:
            fail(self.UnknownUpload, f"no upload {upload}")
        ensure(state.uploader == who, self.NotUploader)
        return state

    def _forget_upload(self, upload: int, state: Upload) -> None:
        self.upload_chunks.clear_prefix(upload)
        del self.upload_expiry[state.expires_at, upload]
        del self.uploads[upload]

    def _end_upload(self, upload: int, state: Upload, *, expired: bool) -> None:
        for _, digest in list(self.upload_chunks.iter_prefix(upload)):
            self._drop_chunk(digest)
        self._forget_upload(upload, state)
        self.balances.release(state.uploader, UPLOAD_REASON, state.deposit)
        self.deposit_event(self.UploadAborted(upload=upload, expired=expired))

    @hookimpl
    def on_initialize(self, block_number: int) -> int:
        """Expire uploads whose time is up, returning their deposits."""
        expired = [upload for upload, _ in self.upload_expiry.iter_prefix(block_number)]
        for upload in expired:
            self._end_upload(upload, self.uploads[upload], expired=True)
        return 50_000 * len(expired)


def _kind_spec(spec: InputSpec) -> Any:
    """The models package's InputSpec for an on-chain one."""
    from models.base import InputSpec as KindInputSpec

    return KindInputSpec(
        n_features=spec.n_features,
        sparse=spec.sparse,
        min_value=spec.min_value,
        max_value=spec.max_value,
        max_nonzeros=spec.max_nonzeros,
    )
