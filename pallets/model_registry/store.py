"""The registry's artifact store: content-addressed chunks, manifests, multi-extrinsic uploads with a
storage deposit, and claims (the accounts that hold a deposit for an artifact and may use it).

An artifact is stored once however many accounts hold it: the first upload stores its chunks; anyone
else with the same bytes either uploads them too (the duplicate chunks are dropped at finish) or claims
the stored artifact with `claim_artifact`, holding the same per-byte deposit. A model may only use an
artifact its owner holds a claim on. A claim is released with `remove_artifact` once no model or version
uses the artifact; the last release deletes the artifact and the chunks no other artifact shares.
"""

from __future__ import annotations

import dataclasses

from cmu.formats import artifact as art
from pallets.balances import Balances
from pallets.model_registry.types import Manifest, Upload
from runtime.crypto import blake2_256
from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageMap, StorageValue
from runtime.types import H256, U32, U64, AccountId, Balance, bounded_bytes

UPLOAD_REASON = "registry/upload"


class ArtifactStore(Pallet):
    """Artifact storage calls, storage items, events and errors (the base of ModelRegistry)."""

    CHUNK_SIZE = art.CHUNK_SIZE
    MAX_ARTIFACT_SIZE = 256 * 1024 * 1024
    DEPOSIT_PER_BYTE = 1_000
    UPLOAD_TTL = 600  # blocks

    artifacts: StorageMap[bytes, Manifest] = StorageMap(H256, Manifest, doc="Stored artifacts by root.")
    claims: StorageDoubleMap[bytes, AccountId, int] = StorageDoubleMap(
        H256, AccountId, Balance, doc="The deposit each claimant of an artifact holds for it."
    )
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
        """An upload finished: the artifact is stored under its root (or was already, and the uploader
        now holds a claim on it)."""

        root: H256
        size: U64
        uploader: AccountId

    @dataclasses.dataclass(frozen=True)
    class ArtifactClaimed(Event):
        """An account claimed a stored artifact: it holds a deposit for it and may use it in its models."""

        root: H256
        who: AccountId
        deposit: Balance

    @dataclasses.dataclass(frozen=True)
    class UploadAborted(Event):
        """An upload ended unfinished (aborted or expired); its deposit returned."""

        upload: U32
        expired: bool

    @dataclasses.dataclass(frozen=True)
    class ClaimReleased(Event):
        """A claimant gave up its claim and got its deposit back; other claimants keep the artifact."""

        root: H256
        who: AccountId

    @dataclasses.dataclass(frozen=True)
    class ArtifactRemoved(Event):
        """The last claim on an unused artifact was released: unshared chunks were deleted."""

        root: H256
        chunks_deleted: U32

    # --- errors ----------------------------------------------------------------------------------

    class ArtifactTooLarge(DispatchError):
        """The artifact is larger than MAX_ARTIFACT_SIZE (or empty)."""

    class ArtifactExists(DispatchError):
        """An artifact with this root is already stored: claim it with claim_artifact instead."""

    class UnknownArtifact(DispatchError):
        """No stored artifact has this root."""

    class ArtifactInUse(DispatchError):
        """The artifact is still used by a model or version."""

    class NotClaimant(DispatchError):
        """The account holds no claim on this artifact: upload it or claim it with claim_artifact."""

    class AlreadyClaimed(DispatchError):
        """The account already holds a claim on this artifact."""

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

    # --- helpers for the registry, other pallets and the RPC -------------------------------------

    @property
    def balances(self) -> Balances:
        """The Balances pallet (deposits)."""
        return self.runtime.pallet(Balances)

    def manifest(self, root: bytes) -> Manifest:
        """A stored artifact's manifest (UnknownArtifact otherwise)."""
        manifest = self.artifacts.get(root)
        if manifest is None:
            fail(self.UnknownArtifact, f"no artifact 0x{root.hex()}")
        return manifest

    def artifact_bytes(self, root: bytes) -> bytes:
        """The bytes of a stored artifact (UnknownArtifact otherwise)."""
        return b"".join(self.chunks[h] for h in self.manifest(root).chunks)

    def artifact_head(self, root: bytes) -> tuple[int, bytes]:
        """(size, first chunk) of a stored artifact, enough to read a header (UnknownArtifact otherwise)."""
        manifest = self.manifest(root)
        return manifest.size, self.chunks[manifest.chunks[0]] if manifest.chunks else b""

    def ensure_claimed_by(self, root: bytes, who: AccountId) -> None:
        """UnknownArtifact or NotClaimant unless `who` holds a claim on the artifact (pays for it)."""
        self.manifest(root)
        ensure((root, who) in self.claims, self.NotClaimant, "a model may only use artifacts its owner holds")

    def reference_artifact(self, root: bytes) -> None:
        """Record one more user of a stored artifact (models, versions)."""
        manifest = self.manifest(root)
        self.artifacts[root] = dataclasses.replace(manifest, refs=manifest.refs + 1)

    def release_artifact(self, root: bytes) -> None:
        """Record one user fewer (the artifact itself stays until its claimants release it)."""
        manifest = self.artifacts[root]
        self.artifacts[root] = dataclasses.replace(manifest, refs=max(0, manifest.refs - 1))

    def store_artifact(self, claimant: AccountId, data: bytes, deposit: int) -> bytes:
        """Store bytes as an artifact at once (genesis, initial weights, checkpoints made by the runtime),
        `claimant` holding `deposit` for it; returns the root. Already stored bytes are left as they are."""
        pieces = art.split_chunks(data)
        hashes = tuple(blake2_256(piece) for piece in pieces)
        root = art.root_of_hashes(len(data), hashes)
        if root in self.artifacts:
            return root
        for piece, digest in zip(pieces, hashes, strict=True):
            self._add_chunk(digest, piece)
        self.artifacts[root] = Manifest(len(data), hashes, 0, 1)
        self.claims[root, claimant] = deposit
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

    def _check_size(self, size: int) -> None:
        ensure(0 < size <= self.MAX_ARTIFACT_SIZE, self.ArtifactTooLarge, f"{size} bytes")

    # --- uploads and claims ----------------------------------------------------------------------

    @call(index=7, weight=80_000)
    def begin_upload(self, origin: Origin, root: H256, size: U64) -> None:
        """Announce an artifact by its root and size; holds DEPOSIT_PER_BYTE x size until it is removed."""
        who = origin.ensure_signed()
        self._check_size(size)
        ensure(root not in self.artifacts, self.ArtifactExists, "already stored: use claim_artifact")
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
        """Check the chunks against the announced root and store the artifact. If the same bytes were
        stored meanwhile, the duplicate chunks are dropped and the upload's deposit becomes a claim."""
        who = origin.ensure_signed()
        state = self._own_upload(who, upload)
        ensure(state.received == art.chunk_count(state.size), self.UploadIncomplete)
        hashes = tuple(digest for _, digest in self.upload_chunks.iter_prefix(upload))
        ensure(art.root_of_hashes(state.size, hashes) == state.root, self.RootMismatch)
        existing = self.artifacts.get(state.root)
        if existing is None:
            self.artifacts[state.root] = Manifest(state.size, hashes, 0, 1)
            self.claims[state.root, who] = state.deposit
        else:
            for digest in hashes:
                self._drop_chunk(digest)
            self._add_claim(state.root, who, existing, state.deposit)
        self._forget_upload(upload, state)
        self.deposit_event(self.ArtifactStored(root=state.root, size=state.size, uploader=who))

    @call(index=10, weight=100_000)
    def abort_upload(self, origin: Origin, upload: U32) -> None:
        """Give up an upload: its chunks are released and its deposit returned."""
        who = origin.ensure_signed()
        state = self._own_upload(who, upload)
        self._end_upload(upload, state, expired=False)

    @call(index=12, weight=80_000)
    def claim_artifact(self, origin: Origin, root: H256) -> None:
        """Hold DEPOSIT_PER_BYTE x size for a stored artifact, so that the caller's models may use it."""
        who = origin.ensure_signed()
        manifest = self.manifest(root)
        ensure((root, who) not in self.claims, self.AlreadyClaimed)
        deposit = manifest.size * self.DEPOSIT_PER_BYTE
        self.balances.hold(who, UPLOAD_REASON, deposit)
        self._add_claim(root, who, manifest, deposit)
        self.deposit_event(self.ArtifactClaimed(root=root, who=who, deposit=deposit))

    @call(index=11, weight=150_000)
    def remove_artifact(self, origin: Origin, root: H256) -> None:
        """Release the caller's claim on an artifact no model or version uses, returning its deposit; the
        last claim's release deletes the artifact and its unshared chunks."""
        who = origin.ensure_signed()
        manifest = self.manifest(root)
        deposit = self.claims.get(root, who)
        if deposit is None:
            fail(self.NotClaimant, f"no claim on 0x{root.hex()}")
        ensure(manifest.refs == 0, self.ArtifactInUse)
        del self.claims[root, who]
        if deposit:
            self.balances.release(who, UPLOAD_REASON, deposit)
        if manifest.claims > 1:
            self.artifacts[root] = dataclasses.replace(manifest, claims=manifest.claims - 1)
            self.deposit_event(self.ClaimReleased(root=root, who=who))
            return
        deleted = sum(1 for digest in manifest.chunks if self._drop_chunk(digest))
        del self.artifacts[root]
        self.deposit_event(self.ArtifactRemoved(root=root, chunks_deleted=deleted))

    def _add_claim(self, root: bytes, who: AccountId, manifest: Manifest, deposit: int) -> None:
        if (root, who) in self.claims:  # a second upload by a claimant: nothing more to hold
            self.balances.release(who, UPLOAD_REASON, deposit)
            return
        self.claims[root, who] = deposit
        self.artifacts[root] = dataclasses.replace(manifest, claims=manifest.claims + 1)

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
