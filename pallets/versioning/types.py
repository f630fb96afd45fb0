"""The Versioning pallet's stored types: version records (the immutable version tokens), pins, metrics
and the bounded names of tags and channels. Integers, bytes and bounded strings only (no floats)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated

from runtime.types import H256, I64, U32, U64, AccountId, BlockNumber, ByteLength, bounded_str

ModelId = U32
VersionNumber = U32
ContributionId = U64
Tag = bounded_str(32)
ChannelName = bounded_str(32)
MetricName = bounded_str(32)
BlsPublicKey = Annotated[bytes, ByteLength(exact=48)]
BlsSignature = Annotated[bytes, ByteLength(exact=96)]

LATEST = "latest"
"""The channel that always names the newest version; it moves by itself and cannot be set."""
STABLE = "stable"
"""The channel consumers resolve to by default when it is set; moving it may need a quorum."""


class Cause(enum.Enum):
    """Why a version exists."""

    UPLOAD = 0  # a Maintainer published an uploaded artifact (and version 0, the registry's artifact)
    TRAINING = 1  # the training updates of one block
    ROLLBACK = 2  # a copy of an older version's weights


@dataclasses.dataclass(frozen=True, slots=True)
class Metric:
    """A named evaluation figure in fixed point (real value x 2**16, as the model kinds use)."""

    name: MetricName  # type: ignore[valid-type]
    value: I64


@dataclasses.dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version of a model: the version token (model, number). Written once, never changed.

    `block` and `extrinsic` say where it was made: the extrinsic's index in the block, or None for a
    training version (minted in on_finalize; `contributions` lists what it includes) and for version 0
    (the registration: its extrinsic is the one whose events hold ModelRegistered for the model).
    `artifact` is always the root of the full weights' canonical bytes. `depth` says how they are stored:
    0 means the artifact itself is stored in the registry (and referenced by this version); k > 0 means a
    delta (models' encode_delta bytes) applied to `parent`'s weights, k deltas from the nearest full one.
    """

    model: ModelId
    number: VersionNumber
    parent: VersionNumber | None
    artifact: H256
    author: AccountId | None  # None: made by the runtime (training versions)
    block: BlockNumber
    extrinsic: U32 | None  # index in its block; None: made at the block's end (training) or version 0
    cause: Cause
    notes_hash: H256 | None
    metrics: tuple[Metric, ...]
    tag: Tag | None  # type: ignore[valid-type]
    contributions: tuple[ContributionId, ...]
    depth: U32

    @property
    def full(self) -> bool:
        """The version's full artifact is stored (a checkpoint), not a delta."""
        return self.depth == 0


@dataclasses.dataclass(frozen=True, slots=True)
class Pin:
    """What an account uses of a model: a fixed version, or whatever a channel names (exactly one)."""

    version: VersionNumber | None
    channel: ChannelName | None  # type: ignore[valid-type]


__all__ = [
    "LATEST",
    "STABLE",
    "BlsPublicKey",
    "BlsSignature",
    "Cause",
    "ChannelName",
    "ContributionId",
    "Metric",
    "MetricName",
    "ModelId",
    "Pin",
    "Tag",
    "VersionNumber",
    "VersionRecord",
]
