"""Determinism: canonical encodings, identical weights from identical streams, in and across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_data import SPARSE_DIGITS, Split, digit_indices, training_hashes

from cmu.models import Weights, diff, get_kind

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def stream(name: str, digits: Split) -> tuple[object, object, object]:
    """(spec, fixed rows, labels) for a kind on the digits training split."""
    kind = get_kind(name)
    if name == "sparse_perceptron":
        return SPARSE_DIGITS, kind.quantize(digit_indices(digits.x_train), SPARSE_DIGITS), digits.y_train
    return digits.spec, kind.quantize(digits.x_train, digits.spec), digits.y_train


@pytest.mark.parametrize("name", ["dense_perceptron", "sparse_perceptron", "naive_bayes", "nearest_centroid"])
def test_encode_decode_roundtrip_and_repeatable_training(name: str, digits: Split) -> None:
    kind = get_kind(name)
    spec, rows, labels = stream(name, digits)
    runs = [kind.train(kind.init_weights(spec, 10), rows, labels) for _ in range(2)]  # type: ignore[arg-type]
    blobs = [kind.encode(w) for w in runs]
    assert blobs[0] == blobs[1]
    decoded = kind.decode(blobs[0], spec, 10)  # type: ignore[arg-type]
    assert decoded == runs[0]
    assert kind.encode(decoded) == blobs[0]
    fresh = kind.init_weights(spec, 10)  # type: ignore[arg-type]
    assert kind.encode(kind.decode(kind.encode(fresh), spec, 10)) == kind.encode(fresh)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["dense_perceptron", "sparse_perceptron", "naive_bayes", "nearest_centroid"])
def test_chained_updates_equal_train_and_report_exact_changes(name: str, digits: Split) -> None:
    kind = get_kind(name)
    spec, rows, labels = stream(name, digits)
    w0 = kind.init_weights(spec, 10)  # type: ignore[arg-type]
    n = 120
    batch = rows[:n]  # type: ignore[index]
    w = w0
    for row, label in zip(batch, labels[:n], strict=True):  # type: ignore[index]
        result = kind.update(w, row, int(label))
        idx, vals = diff(w, result.weights)
        assert np.array_equal(idx, result.indices) and np.array_equal(vals, result.values)
        assert result.previous is w
        w = result.weights
    assert w == kind.train(w0, batch, labels[:n])  # type: ignore[index]
    assert not w0.flat.any(), "training must not modify its input weights"


def test_update_never_writes_its_input(digits: Split) -> None:
    kind = get_kind("dense_perceptron")
    spec, rows, _ = stream("dense_perceptron", digits)
    w = kind.init_weights(spec, 10)  # type: ignore[arg-type]
    assert not w.flat.flags.writeable
    before = w.flat.copy()
    result = kind.update(w, rows[0], 3)  # type: ignore[index]
    assert result.changed and np.array_equal(w.flat, before)
    assert isinstance(result.weights, Weights) and not result.weights.flat.flags.writeable


def test_training_hashes_agree_across_processes() -> None:
    here = training_hashes()
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from model_data import training_hashes; "
            "print(json.dumps(training_hashes()))")
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    proc = subprocess.run([sys.executable, "-c", code, str(HERE)], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    there = json.loads(proc.stdout.strip().splitlines()[-1])
    assert there == here
    assert len(set(here.values())) == 4
