"""The registry's stored types: model tokens, their metadata and input spec, artifact manifests and
uploads in progress. All fields are integers, bytes or bounded strings (fixed point, no floats)."""

from __future__ import annotations

import dataclasses
import enum

from cmu.models import spec as models_spec
from cmu.models.inputs import ModelInput
from cmu.models.scaling import Scaling
from cmu.models.text import TextFeaturizer
from runtime.types import (
    H256,
    I64,
    OMIT_IF_NONE,
    U8,
    U32,
    U64,
    AccountId,
    Balance,
    BlockNumber,
    bounded_str,
)

ModelId = U32
UploadId = U32
Name = bounded_str(64)
Description = bounded_str(1024)
Label = bounded_str(64)
KindName = bounded_str(32)
MAX_LABELS = 1_000
MAX_FEATURES = 10_000_000


TokenPattern = bounded_str(256)


class TextNorm(enum.Enum):
    """How a text featurizer normalizes a document's counts (integer math, see cmu/models/text.py)."""

    NONE = "none"
    L1 = "l1"
    L2 = "l2"


@dataclasses.dataclass(frozen=True, slots=True)
class TextInput:
    """A HashingVectorizer-compatible featurizer (cmu/models/text.py): the model takes documents, hashed
    on chain into its n_features (MurmurHash3, sign alternation, word n-grams, counts or binary, norm)."""

    token_pattern: TokenPattern  # type: ignore[valid-type]
    lowercase: bool
    ngram_min: U8
    ngram_max: U8
    alternate_sign: bool
    binary: bool
    norm: TextNorm


@dataclasses.dataclass(frozen=True, slots=True)
class FeatureScaling:
    """A per-feature affine step before the kind (cmu/models/scaling.py): x' = x * mult + add, mult in Q.32
    and add in Q.16, one of each per feature."""

    mult_q32: tuple[I64, ...]
    add_q16: tuple[I64, ...]


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
    # optional input steps, left off the stored bytes while None (models stored before them keep theirs)
    text: TextInput | None = dataclasses.field(default=None, metadata=OMIT_IF_NONE)
    scaling: FeatureScaling | None = dataclasses.field(default=None, metadata=OMIT_IF_NONE)

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

    def to_model_input(self) -> ModelInput:
        """The models package's ModelInput: to_models() plus the input step (text featurizer or scaling),
        the one conversion of a model's whole input path (models.ModelError if either is refused)."""
        text, steps = self.text, self.scaling
        featurizer = None if text is None else TextFeaturizer(
            self.n_features, text.token_pattern, text.lowercase, text.ngram_min, text.ngram_max,
            text.alternate_sign, text.binary, text.norm.value)
        scaling = None if steps is None else Scaling(tuple(steps.mult_q32), tuple(steps.add_q16))
        return ModelInput(self.to_models(), featurizer, scaling)


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
    "FeatureScaling",
    "InputSpec",
    "KindName",
    "Label",
    "Manifest",
    "ModelId",
    "ModelInfo",
    "ModelMetadata",
    "Name",
    "Prediction",
    "TextInput",
    "TextNorm",
    "Upload",
    "UploadId",
]
