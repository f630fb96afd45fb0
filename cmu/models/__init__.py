"""Fixed-point machine-learning model kinds (Q.16 integers, no float): predict, train and encode weights.

Chain-agnostic: pallets wrap these. Start with `get_kind(name)`, `InputSpec`, `quantize`/`validate_fixed`,
then `kind.init_weights`, `kind.predict`, `kind.update`/`kind.train`, `kind.encode`/`kind.decode`,
`diff`/`apply_delta` and `encode_delta`/`decode_delta`. Scale and tolerances: models.fixed and each kind.
"""

from cmu.models.base import Delta, ModelKind
from cmu.models.centroid import NearestCentroid
from cmu.models.codec import Header, decode_delta, encode_delta, read_header
from cmu.models.errors import (
    BadLabel,
    BadParams,
    BadSpec,
    IncompatibleWeights,
    IndexOutOfRange,
    KindAlreadyRegistered,
    MalformedDelta,
    MalformedWeights,
    ModelError,
    NegativeCount,
    NotFinite,
    NotTrainable,
    OutOfRange,
    TooManyNonZeros,
    UnknownKind,
    UnsortedIndices,
    WrongFeatureCount,
    WrongType,
)
from cmu.models.fixed import EMPTY_SCORE, FRAC_BITS, SCALE
from cmu.models.naive_bayes import NaiveBayes
from cmu.models.perceptron import DensePerceptron, SparsePerceptron
from cmu.models.registry import BUILTIN_KINDS, KINDS, KindRegistry, get_kind, register_kind
from cmu.models.rows import quantize, quantize_row, validate_fixed, validate_row
from cmu.models.spec import FixedRow, FixedRows, InputSpec, SparseRow
from cmu.models.weights import UpdateResult, Weights, apply_delta, diff

__all__ = [
    "BUILTIN_KINDS", "EMPTY_SCORE", "FRAC_BITS", "KINDS", "SCALE",
    "BadLabel", "BadParams", "BadSpec", "Delta", "DensePerceptron", "FixedRow", "FixedRows", "Header",
    "IncompatibleWeights", "IndexOutOfRange", "InputSpec", "KindAlreadyRegistered", "KindRegistry",
    "MalformedDelta", "MalformedWeights", "ModelError", "ModelKind", "NaiveBayes", "NearestCentroid",
    "NegativeCount", "NotFinite", "NotTrainable", "OutOfRange", "SparsePerceptron", "SparseRow",
    "TooManyNonZeros", "UnknownKind", "UnsortedIndices", "UpdateResult", "Weights", "WrongFeatureCount",
    "WrongType", "apply_delta", "decode_delta", "diff", "encode_delta", "get_kind", "quantize",
    "quantize_row", "read_header", "register_kind", "validate_fixed", "validate_row",
]
