"""Each built-in kind predicts what its float formula predicts for the same weights, row by row.

The fixed-point weights are trained on a bundled data set, converted to float (divided by SCALE), and
the float formula (numpy, or scikit-learn where it has the same model) is run on the same quantized
inputs. Labels must match except on rows whose top two float scores are within the kind's documented
tolerance (counted, and required to be rare); scores must match within that tolerance.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp
from model_data import SPARSE_DIGITS, Split, digit_counts, digit_indices
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import NearestCentroid as SkNearestCentroid

from cmu.models import SCALE, InputSpec, ModelKind, SparseRow, Weights, get_kind
from cmu.models.fixed import LN_ERROR_ULPS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
ULP = 2.0**-16
FLOAT_SLACK = 1e-9


def trained(kind: ModelKind, spec: InputSpec, n_labels: int, rows: object, labels: I64, passes: int = 1,
            **params: int) -> Weights:
    w = kind.init_weights(spec, n_labels, params)
    for _ in range(passes):
        w = kind.train(w, rows, labels)
    return w


def as_float_matrix(rows: object, n_features: int) -> F64:
    """Fixed rows (dense array or SparseRows) as a dense float matrix in real units."""
    if isinstance(rows, np.ndarray):
        return rows / SCALE
    out = np.zeros((len(rows), n_features))  # type: ignore[arg-type]
    for r, row in enumerate(rows):  # type: ignore[attr-defined]
        assert isinstance(row, SparseRow)
        out[r, row.indices] = row.values / SCALE
    return out


def assert_matches(labels: I64, scores: I64, ref: F64, score_tol: F64, tie_tol: F64) -> int:
    """Scores within tolerance; labels equal the float argmax except on near-ties. Returns the ties."""
    assert np.all(np.abs(scores / SCALE - ref) <= score_tol + FLOAT_SLACK)
    top2 = -np.sort(-ref, axis=1)[:, :2]
    gap = top2[:, 0] - top2[:, 1]
    within = gap <= tie_tol + FLOAT_SLACK
    mismatch = labels != np.argmax(ref, axis=1)
    assert not np.any(mismatch & ~within), "a label differs on a row that is not a near-tie"
    # Exact float ties (gap 0) that both sides break to the lowest label are not near-ties.
    near_tie = within & ((gap > 0) | mismatch)
    assert near_tie.sum() <= max(1, len(labels) // 100), f"{near_tie.sum()} near-ties is not rare"
    return int(near_tie.sum())


def perceptron_reference(w: Weights, xf: F64) -> F64:
    n_lab = w.n_labels
    bias = w.flat[:n_lab] / SCALE
    mat = w.flat[n_lab:].reshape(n_lab, -1) / SCALE
    out: F64 = xf @ mat.T + bias
    return out


def check_perceptron(name: str, data: Split, rows_train: object, rows_test: object, spec: InputSpec) -> None:
    kind = get_kind(name)
    w = trained(kind, spec, data.n_labels, rows_train, data.y_train, passes=3)
    labels, scores = kind.predict(w, rows_test)
    ref = perceptron_reference(w, as_float_matrix(rows_test, spec.n_features))
    n = len(labels)
    # Exact argmax: labels may differ only by float64 rounding; floor to Q.16 costs < 1 ulp.
    assert_matches(labels, scores, ref, np.full(ref.shape, ULP), np.full(n, 2.0**-32))
    assert np.all(scores / SCALE <= ref + FLOAT_SLACK)


def test_dense_perceptron_matches_float_on_iris(iris: Split) -> None:
    kind = get_kind("dense_perceptron")
    check_perceptron("dense_perceptron", iris, kind.quantize(iris.x_train, iris.spec),
                     kind.quantize(iris.x_test, iris.spec), iris.spec)


def test_dense_perceptron_matches_float_on_breast_cancer_binary(cancer: Split) -> None:
    kind = get_kind("dense_perceptron")
    check_perceptron("dense_perceptron", cancer, kind.quantize(cancer.x_train, cancer.spec),
                     kind.quantize(cancer.x_test, cancer.spec), cancer.spec)


def test_sparse_perceptron_matches_float_on_digit_indices(digits: Split) -> None:
    kind = get_kind("sparse_perceptron")
    check_perceptron("sparse_perceptron", digits, kind.quantize(digit_indices(digits.x_train), SPARSE_DIGITS),
                     kind.quantize(digit_indices(digits.x_test), SPARSE_DIGITS), SPARSE_DIGITS)


def check_naive_bayes(data: Split, spec: InputSpec, train_rows: object, test_rows: object,
                      alpha: tuple[int, int]) -> int:
    kind = get_kind("naive_bayes")
    w = trained(kind, spec, data.n_labels, train_rows, data.y_train, alpha_num=alpha[0], alpha_den=alpha[1])
    sk = MultinomialNB(alpha=alpha[0] / alpha[1])
    sk.fit(sp.csr_matrix(as_float_matrix(train_rows, spec.n_features)), data.y_train)
    c, f = data.n_labels, spec.n_features
    # Same weights: sklearn's counts equal the fixed-point counts divided by SCALE, exactly.
    assert np.array_equal(sk.class_count_, w.flat[:c])
    assert np.array_equal(sk.feature_count_, w.flat[2 * c:].reshape(c, f) / SCALE)
    xf = as_float_matrix(test_rows, f)
    labels, scores = kind.predict(w, test_rows)
    ref = sk.predict_joint_log_proba(sp.csr_matrix(xf))
    mass = 1 + xf.sum(axis=1)
    score_tol = ULP * (1 + float(LN_ERROR_ULPS) * mass)[:, None] * np.ones_like(ref)
    ties = assert_matches(labels, scores, ref, score_tol, 2 * float(LN_ERROR_ULPS) * ULP * mass)
    assert np.mean(labels == sk.predict(sp.csr_matrix(xf))) >= 0.99
    return ties


def test_naive_bayes_matches_sklearn_on_digit_counts(digits: Split) -> None:
    kind = get_kind("naive_bayes")
    check_naive_bayes(digits, digits.spec, kind.quantize(digits.x_train, digits.spec),
                      kind.quantize(digits.x_test, digits.spec), (1, 1))


def test_naive_bayes_sparse_matches_sklearn_on_digit_indices(digits: Split) -> None:
    kind = get_kind("naive_bayes")
    check_naive_bayes(digits, SPARSE_DIGITS, kind.quantize(digit_indices(digits.x_train), SPARSE_DIGITS),
                      kind.quantize(digit_indices(digits.x_test), SPARSE_DIGITS), (1, 2))


def test_naive_bayes_sparse_counts_match_sklearn(digits: Split) -> None:
    kind = get_kind("naive_bayes")
    check_naive_bayes(digits, SPARSE_DIGITS, kind.quantize(digit_counts(digits.x_train), SPARSE_DIGITS),
                      kind.quantize(digit_counts(digits.x_test), SPARSE_DIGITS), (3, 4))


def check_centroid(data: Split) -> None:
    kind = get_kind("nearest_centroid")
    train, test = kind.quantize(data.x_train, data.spec), kind.quantize(data.x_test, data.spec)
    assert isinstance(train, np.ndarray) and isinstance(test, np.ndarray)
    w = trained(kind, data.spec, data.n_labels, train, data.y_train)
    sk = SkNearestCentroid().fit(train / SCALE, data.y_train)
    c, f = data.n_labels, data.spec.n_features
    counts = w.flat[:c].astype(np.float64)
    means = w.flat[c:].reshape(c, f) / SCALE / counts[:, None]
    np.testing.assert_allclose(sk.centroids_, means, rtol=1e-12, atol=1e-12)
    xf = test / SCALE
    dist = ((xf[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    labels, scores = kind.predict(w, test)
    tol = ULP * np.abs(xf[:, None, :] - means[None, :, :]).sum(axis=2) + f * 2.0**-34 + ULP
    # Scores are -distance: compare as "higher is better" with the bound of both classes for ties.
    assert_matches(labels, scores, -dist, tol, 2 * tol.max(axis=1))
    assert np.mean(labels == sk.predict(xf)) >= 0.99


def test_nearest_centroid_matches_sklearn_on_wine(wine: Split) -> None:
    check_centroid(wine)


@pytest.mark.filterwarnings("ignore:self.within_class_std_dev_:UserWarning")
def test_nearest_centroid_matches_sklearn_on_digits(digits: Split) -> None:
    check_centroid(digits)
