"""The registry's stored types: model tokens, their metadata and input spec, artifact manifests and
uploads in progress. All fields are integers, bytes or bounded strings (fixed point, no floats)."""

from __future__ import annotations

import dataclasses

from models import spec as models_spec
from runtime.types import H256, I64, U8, U32, U64, AccountId, Balance, BlockNumber, bounded_str

ModelId = U32
UploadId = U32
Name = bounded_str(64)
Description = bounded_str(1024)
Label = bounded_str(64)
KindName = bounded_str(32)
MAX_LABELS = 1_000
MAX_FEATURES = 10_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class InputSpec:
    """What a model takes: feature count, dense or sparse (feature indices), and the value range.

    min_value/max_value are in the model kinds' fixed point (real value x 2**16, see models.SCALE).
    """

    n_features: U32
    sparse: bool
    min_value: I64
    max_value: I64
    max_nonzeros: U32 = 0  # sparse inputs: most indices per row (0: n_features); bounds overflow checks

    def to_models(self) -> models_spec.InputSpec:
        """The models package's InputSpec with the same fields (the one chain-to-models conversion;
        models.ModelError if the kinds' own bounds refuse it)."""
        return models_spec.InputSpec(
            n_features=self.n_features,
            sparse=self.sparse,
            min_value=self.min_value,
            max_value=self.max_value,
            max_nonzeros=self.max_nonzeros,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ModelMetadata:
    """Descriptive metadata an owner may change with set_metadata."""

    name: Name  # type: ignore[valid-type]
    description: Description  # type: ignore[valid-type]
    task: Name  # type: ignore[valid-type]
    license: Name  # type: ignore[valid-type]


@dataclasses.dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model token: its owner, approved operator, metadata, kind, inputs, labels and current artifact."""

    owner: AccountId
    approved: AccountId | None
    metadata: ModelMetadata
    kind: KindName  # type: ignore[valid-type]
    input_spec: InputSpec
    labels: tuple[Label, ...]  # type: ignore[valid-type]
    artifact: H256
    retired: bool
    created_at: BlockNumber


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    """A stored artifact: size, ordered chunk hashes, its users (models, versions) and its claimants
    (accounts holding a storage deposit for it: the uploader and those who claimed it since)."""

    size: U64
    chunks: tuple[H256, ...]
    refs: U32
    claims: U32


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """An artifact upload in progress."""

    uploader: AccountId
    root: H256
    size: U64
    received: U32
    expires_at: BlockNumber
    deposit: Balance


@dataclasses.dataclass(frozen=True, slots=True)
class Prediction:
    """The node's answer to model_predict for one row: a label index, its name and per-class scores."""

    label: U32
    name: Label  # type: ignore[valid-type]
    scores: tuple[I64, ...]


__all__ = [
    "MAX_FEATURES",
    "MAX_LABELS",
    "U8",
    "Description",
    "InputSpec",
    "KindName",
    "Label",
    "Manifest",
    "ModelId",
    "ModelInfo",
    "ModelMetadata",
    "Name",
    "Prediction",
    "Upload",
    "UploadId",
]
