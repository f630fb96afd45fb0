"""Fixed-point training reaches the held-out accuracy of an independent float reference (within 1 point).

Each kind trains from fresh weights on a fixed-order stream (the fixed split of model_data, a few passes
for the perceptrons); the float reference, written here, trains on the same stream in the same order:
the float perceptron with the same update rule, scikit-learn's MultinomialNB.partial_fit, and a float
running-mean nearest centroid. Both see the same (quantized) input values.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from model_data import SPARSE_DIGITS, Split, digit_counts, digit_indices
from sklearn.naive_bayes import MultinomialNB

from cmu.models import SCALE, InputSpec, SparseRow, get_kind

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
PASSES = 3


def dense_float(rows: object, n_features: int) -> F64:
    if isinstance(rows, np.ndarray):
        return rows / SCALE
    out = np.zeros((len(rows), n_features))  # type: ignore[arg-type]
    for r, row in enumerate(rows):  # type: ignore[attr-defined]
        assert isinstance(row, SparseRow)
        out[r, row.indices] = row.values / SCALE
    return out


def float_perceptron(x: F64, y: I64, n_labels: int, passes: int) -> tuple[F64, F64]:
    """The multiclass perceptron in float: on a mistake W[y] += x, W[p] -= x, b[y] += 1, b[p] -= 1."""
    mat, bias = np.zeros((n_labels, x.shape[1])), np.zeros(n_labels)
    for _ in range(passes):
        for xi, yi in zip(x, y, strict=True):
            p = int(np.argmax(mat @ xi + bias))
            if p != yi:
                mat[yi] += xi
                mat[p] -= xi
                bias[yi] += 1
                bias[p] -= 1
    return mat, bias


def float_running_centroid(x: F64, y: I64, n_labels: int) -> F64:
    """Nearest-centroid training in float as running means: mu += (x - mu) / n."""
    mu, n = np.zeros((n_labels, x.shape[1])), np.zeros(n_labels)
    for xi, yi in zip(x, y, strict=True):
        n[yi] += 1
        mu[yi] += (xi - mu[yi]) / n[yi]
    return mu


def fixed_accuracy(name: str, spec: InputSpec, data: Split, train: object, test: object,
                   passes: int = 1) -> float:
    kind = get_kind(name)
    w = kind.init_weights(spec, data.n_labels)
    for _ in range(passes):
        w = kind.train(w, train, data.y_train)
    labels, _ = kind.predict(w, test)
    return float(np.mean(labels == data.y_test))


@pytest.mark.parametrize(("dataset", "sparse"), [("iris", False), ("cancer", False), ("digits", False),
                                                 ("digits", True)])
def test_perceptron_training_matches_float(dataset: str, sparse: bool,
                                           request: pytest.FixtureRequest) -> None:
    data: Split = request.getfixturevalue(dataset)
    name, spec = ("sparse_perceptron", SPARSE_DIGITS) if sparse else ("dense_perceptron", data.spec)
    kind = get_kind(name)
    train = kind.quantize(digit_indices(data.x_train) if sparse else data.x_train, spec)
    test = kind.quantize(digit_indices(data.x_test) if sparse else data.x_test, spec)
    acc = fixed_accuracy(name, spec, data, train, test, PASSES)
    mat, bias = float_perceptron(dense_float(train, spec.n_features), data.y_train, data.n_labels, PASSES)
    ref = float(np.mean(np.argmax(dense_float(test, spec.n_features) @ mat.T + bias, axis=1) == data.y_test))
    assert abs(acc - ref) <= 0.01, (acc, ref)
    assert acc >= 0.8


@pytest.mark.parametrize("form", ["dense", "indices", "counts"])
def test_naive_bayes_training_matches_sklearn_partial_fit(form: str, digits: Split) -> None:
    kind = get_kind("naive_bayes")
    prep = {"dense": lambda x: x, "indices": digit_indices, "counts": digit_counts}[form]
    spec = digits.spec if form == "dense" else SPARSE_DIGITS
    train, test = kind.quantize(prep(digits.x_train), spec), kind.quantize(prep(digits.x_test), spec)
    acc = fixed_accuracy("naive_bayes", spec, digits, train, test)
    sk = MultinomialNB(alpha=1.0)
    x_train = dense_float(train, 64)
    for start in range(0, len(digits.y_train), 50):
        sk.partial_fit(x_train[start:start + 50], digits.y_train[start:start + 50], classes=np.arange(10))
    ref = float(np.mean(sk.predict(dense_float(test, 64)) == digits.y_test))
    assert abs(acc - ref) <= 0.01, (acc, ref)
    assert acc >= 0.8


@pytest.mark.parametrize("dataset", ["iris", "wine", "digits"])
def test_nearest_centroid_training_matches_float_running_mean(dataset: str,
                                                              request: pytest.FixtureRequest) -> None:
    data: Split = request.getfixturevalue(dataset)
    kind = get_kind("nearest_centroid")
    train, test = kind.quantize(data.x_train, data.spec), kind.quantize(data.x_test, data.spec)
    acc = fixed_accuracy("nearest_centroid", data.spec, data, train, test)
    mu = float_running_centroid(dense_float(train, data.spec.n_features), data.y_train, data.n_labels)
    xf = dense_float(test, data.spec.n_features)
    ref_labels = np.argmin(((xf[:, None, :] - mu[None]) ** 2).sum(axis=2), axis=1)
    ref = float(np.mean(ref_labels == data.y_test))
    assert abs(acc - ref) <= 0.01, (acc, ref)
    assert acc >= 0.8


def test_perceptron_fixed_training_is_exactly_the_float_trajectory(iris: Split) -> None:
    """Unsaturated, the fixed-point perceptron's weights are the float weights times SCALE, exactly."""
    kind = get_kind("dense_perceptron")
    train = kind.quantize(iris.x_train, iris.spec)
    w = kind.init_weights(iris.spec, 3)
    for _ in range(PASSES):
        w = kind.train(w, train, iris.y_train)
    mat, bias = float_perceptron(dense_float(train, 4), iris.y_train, 3, PASSES)
    assert np.array_equal(w.flat[:3], bias * SCALE)
    assert np.array_equal(w.flat[3:].reshape(3, 4), mat * SCALE)
