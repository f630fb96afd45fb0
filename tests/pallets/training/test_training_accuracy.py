"""On-chain training against an independent float reference: for each trainable kind, a model trained by
signed Training.add_data extrinsics (fixed point, through the runtime) reaches a held-out accuracy within
1 percentage point of the same algorithm written here in float64 numpy, trained on the same stream in the
same order. Data sets ship inside scikit-learn (load_breast_cancer, load_digits, load_wine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import datasets

from cmu import models
from pallets.model_registry.types import InputSpec
from pallets.training.types import Mechanism
from pallets.versioning import Versioning
from runtime.testing import MockRuntime, assert_ok

SCALE = models.SCALE
PER_BLOCK = 64
F64 = np.ndarray


def split(x: F64, y: F64, seed: int = 0) -> tuple[F64, F64, F64, F64]:
    """A shuffled 75/25 train/test split (the stream is the shuffled training part, in order)."""
    order = np.random.default_rng(seed).permutation(len(y))
    cut = len(y) * 3 // 4
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def standardized(x_train: F64, x_test: F64, bound: float) -> tuple[F64, F64]:
    """z-scores from the training part, clipped to the model's value range."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-9
    return (np.clip((x_train - mean) / std, -bound, bound), np.clip((x_test - mean) / std, -bound, bound))


def train_on_chain(rt: MockRuntime, kind: str, spec: InputSpec, n_labels: int,
                   rows: list[list[int]], labels: list[int]) -> models.Weights:
    """Register, configure and train a model with signed extrinsics; the weights of its latest version."""
    names = tuple(f"c{i}" for i in range(n_labels))
    assert_ok(rt.call("alice", "ModelRegistry.register", name="m", description="", task="t", kind=kind,
                      input_spec=spec, labels=names, license="MIT", artifact=None))
    model = rt.pallet(Versioning).registry.next_model.get() - 1
    assert_ok(rt.call("alice", "Training.set_config", model=model, enabled=True, mechanism=Mechanism.STAKE,
                      refund_wait_s=1, owner_claim_wait_s=2, any_claim_wait_s=3, cost_weight=1,
                      batch_limit=8))
    contributors = ("bob", "charlie", "dave", "eve")
    for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
        assert_ok(rt.submit(contributors[i % 4], "Training.add_data", model=model, features=row, label=label))
        if i % PER_BLOCK == PER_BLOCK - 1:
            rt.next_block()
    rt.next_block()
    versioning = rt.pallet(Versioning)
    return versioning.weights_at(model, versioning.latest(model))


def chain_accuracy(kind: str, weights: models.Weights, rows: Any, labels: F64) -> float:
    predicted, _ = models.get_kind(kind).predict(weights, rows)
    return float(np.mean(predicted == labels))  # predicted by the kind, as the node predicts


def perceptron_float(x: F64, y: F64, n_labels: int) -> Callable[[F64], F64]:
    """Multiclass perceptron in float64: on a mistake W[y] += x, W[p] -= x, bias +/- 1."""
    w, b = np.zeros((n_labels, x.shape[1])), np.zeros(n_labels)
    for row, label in zip(x, y, strict=True):
        predicted = int(np.argmax(w @ row + b))
        if predicted != label:
            w[label] += row
            w[predicted] -= row
            b[label] += 1.0
            b[predicted] -= 1.0
    return lambda rows: np.argmax(rows @ w.T + b, axis=1)


def naive_bayes_float(x: F64, y: F64, n_labels: int) -> Callable[[F64], F64]:
    """Multinomial naive Bayes (alpha = 1) from running counts, in float64 logs."""
    counts, examples = np.zeros((n_labels, x.shape[1])), np.zeros(n_labels)
    for row, label in zip(x, y, strict=True):
        counts[label] += row
        examples[label] += 1
    log_theta = np.log((counts + 1.0) / (counts.sum(axis=1, keepdims=True) + x.shape[1]))
    log_prior = np.log(examples / examples.sum())
    return lambda rows: np.argmax(rows @ log_theta.T + log_prior, axis=1)


def centroid_float(x: F64, y: F64, n_labels: int) -> Callable[[F64], F64]:
    """Nearest class mean (running sums and counts), squared Euclidean distance, in float64."""
    sums, counts = np.zeros((n_labels, x.shape[1])), np.zeros(n_labels)
    for row, label in zip(x, y, strict=True):
        sums[label] += row
        counts[label] += 1
    means = sums / counts[:, None]
    return lambda rows: np.argmin(((rows[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)


def q16(x: F64) -> F64:
    return np.rint(x * SCALE).astype(np.int64)


@pytest.fixture
def chain(runtime_with: Callable[..., MockRuntime]) -> MockRuntime:
    return runtime_with("Versioning", "Access", "Training")


def check(chain_acc: float, float_acc: float, floor: float) -> None:
    print(f"held-out accuracy: chain {chain_acc:.4f} float {float_acc:.4f}")
    assert float_acc >= floor  # the reference really learned something
    assert abs(chain_acc - float_acc) <= 0.01, (chain_acc, float_acc)


def test_dense_perceptron_trained_on_chain_matches_float_on_breast_cancer(chain):
    x, y = datasets.load_breast_cancer(return_X_y=True)
    x_train, y_train, x_test, y_test = split(x, y)
    x_train, x_test = standardized(x_train, x_test, 8.0)
    spec = InputSpec(x.shape[1], False, -8 * SCALE, 8 * SCALE)
    weights = train_on_chain(chain, "dense_perceptron", spec, 2, q16(x_train).tolist(), y_train.tolist())
    reference = perceptron_float(x_train, y_train, 2)
    float_acc = float(np.mean(reference(x_test) == y_test))
    check(chain_accuracy("dense_perceptron", weights, q16(x_test), y_test), float_acc, 0.9)


def test_sparse_perceptron_trained_on_chain_matches_float_on_binarized_digits(chain):
    x, y = datasets.load_digits(return_X_y=True)
    binary = (x >= 8).astype(np.float64)
    x_train, y_train, x_test, y_test = split(binary, y)
    spec = InputSpec(64, True, 0, SCALE, 64)
    rows = [np.flatnonzero(r).tolist() for r in x_train]
    weights = train_on_chain(chain, "sparse_perceptron", spec, 10, rows, y_train.tolist())
    reference = perceptron_float(x_train, y_train, 10)
    test_rows = [models.SparseRow(*(np.flatnonzero(r), np.full(int(r.sum()), SCALE))) for r in x_test]
    for r in test_rows:
        r.indices.flags.writeable = r.values.flags.writeable = False
    float_acc = float(np.mean(reference(x_test) == y_test))
    check(chain_accuracy("sparse_perceptron", weights, tuple(test_rows), y_test), float_acc, 0.8)


def test_naive_bayes_trained_on_chain_matches_float_on_digit_counts(chain):
    x, y = datasets.load_digits(return_X_y=True)  # pixel intensities 0..16: counts
    x_train, y_train, x_test, y_test = split(x, y)
    spec = InputSpec(64, False, 0, 16 * SCALE)
    weights = train_on_chain(chain, "naive_bayes", spec, 10, q16(x_train).tolist(), y_train.tolist())
    reference = naive_bayes_float(x_train, y_train, 10)
    float_acc = float(np.mean(reference(x_test) == y_test))
    check(chain_accuracy("naive_bayes", weights, q16(x_test), y_test), float_acc, 0.85)


def test_nearest_centroid_trained_on_chain_matches_float_on_wine(chain):
    x, y = datasets.load_wine(return_X_y=True)
    x_train, y_train, x_test, y_test = split(x, y)
    x_train, x_test = standardized(x_train, x_test, 8.0)
    spec = InputSpec(x.shape[1], False, -8 * SCALE, 8 * SCALE)
    weights = train_on_chain(chain, "nearest_centroid", spec, 3, q16(x_train).tolist(), y_train.tolist())
    reference = centroid_float(x_train, y_train, 3)
    float_acc = float(np.mean(reference(x_test) == y_test))
    check(chain_accuracy("nearest_centroid", weights, q16(x_test), y_test), float_acc, 0.8)
