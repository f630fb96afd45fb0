"""Shared data for the model-kind tests: bundled scikit-learn data sets, a fixed split, fixed-point specs.

Float is fine here: tests compute float references; the models under test never see a float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

from cmu.models import SCALE, InputSpec

SEED = 20240607
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """A fixed train/test split of real-valued features, with the spec they fit in."""

    name: str
    x_train: F64
    y_train: I64
    x_test: F64
    y_test: I64
    n_labels: int
    spec: InputSpec


def split(name: str, x: F64, y: I64, spec: InputSpec) -> Split:
    order = np.random.default_rng(SEED).permutation(len(y))
    cut = int(0.75 * len(y))
    tr, te = order[:cut], order[cut:]
    return Split(name, x[tr], y[tr].astype(np.int64), x[te], y[te].astype(np.int64), int(y.max()) + 1, spec)


def standardized(x: F64, bound: float = 8.0) -> F64:
    """z-scores clipped to +/-bound (data preparation, done once in float)."""
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return np.clip(z, -bound, bound)


def dense_spec(n_features: int, lo: float, hi: float) -> InputSpec:
    return InputSpec(n_features, False, round(lo * SCALE), round(hi * SCALE))


@pytest.fixture(scope="session")
def iris() -> Split:
    x, y = load_iris(return_X_y=True)
    return split("iris", standardized(x), y, dense_spec(4, -8, 8))


@pytest.fixture(scope="session")
def wine() -> Split:
    x, y = load_wine(return_X_y=True)
    return split("wine", standardized(x), y, dense_spec(13, -8, 8))


@pytest.fixture(scope="session")
def cancer() -> Split:
    x, y = load_breast_cancer(return_X_y=True)
    return split("breast_cancer", standardized(x), y, dense_spec(30, -8, 8))


@pytest.fixture(scope="session")
def digits() -> Split:
    """Digits pixels (0..16) as dense counts."""
    x, y = load_digits(return_X_y=True)
    return split("digits", x, y, dense_spec(64, 0, 16))


def digit_indices(x: F64, threshold: float = 8.0) -> list[list[int]]:
    """Digits thresholded into binary features: the list of 'on' pixel indices of each image."""
    return [np.flatnonzero(row >= threshold).tolist() for row in x]


def digit_counts(x: F64) -> list[dict[int, int]]:
    """Digits as sparse counts: {pixel index: intensity} for the non-zero pixels."""
    return [{int(i): int(row[i]) for i in np.flatnonzero(row)} for row in x]


SPARSE_DIGITS = InputSpec(64, True, 0, 16 * SCALE)


def training_hashes() -> dict[str, str]:
    """Train every built-in kind on a fixed stream and return blake2b-256 of each encoded artifact.

    Run in-process and in a fresh interpreter by test_models_determinism.py: the hashes must agree.
    """
    import hashlib

    from cmu.models import get_kind

    out: dict[str, str] = {}
    x, y = load_iris(return_X_y=True)
    iris_split = split("iris", standardized(x), y, dense_spec(4, -8, 8))
    xd, yd = load_digits(return_X_y=True)
    dig = split("digits", xd, yd, dense_spec(64, 0, 16))
    jobs = [("dense_perceptron", iris_split.spec, iris_split.x_train, iris_split.y_train, 3),
            ("sparse_perceptron", SPARSE_DIGITS, digit_indices(dig.x_train), dig.y_train, 10),
            ("naive_bayes", dig.spec, dig.x_train, dig.y_train, 10),
            ("nearest_centroid", dig.spec, dig.x_train, dig.y_train, 10)]
    for name, spec, rows, labels, n_labels in jobs:
        kind = get_kind(name)
        w = kind.init_weights(spec, n_labels)
        for _ in range(2):
            w = kind.train(w, kind.quantize(rows, spec), labels)
        out[name] = hashlib.blake2b(kind.encode(w), digest_size=32).hexdigest()
    return out
