"""The integer math under the models: fixed-point logarithms within their documented error, and no
float anywhere in the consensus modules (checked on their syntax trees)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from cmu.models.fixed import (
    EMPTY_SCORE,
    LN2_Q30,
    LN_ERROR_ULPS,
    SCALE,
    exact_row_sums,
    floor_log2,
    ln_ratio_q16,
    log2_q24,
)

MODELS = Path(__file__).resolve().parents[2] / "cmu" / "models"
QUANTIZE_BOUNDARY = {"rows.py"}  # turns caller floats into ints; documented, never used by consensus
FORBIDDEN_ATTRS = {"log", "log2", "log10", "exp", "sqrt", "divide", "true_divide", "mean", "float64",
                   "float32", "floating", "average", "std", "var"}


def sample_ints() -> np.ndarray:
    rng = np.random.default_rng(7)
    edges = [2**k for k in range(63)] + [2**k - 1 for k in range(1, 64)] + [2**k + 1 for k in range(63)]
    powers = np.array(edges, dtype=np.int64)
    return np.concatenate([np.arange(1, 5000), rng.integers(1, 2**62, 50_000), rng.integers(1, 2**20, 5000),
                           powers[powers > 0]]).astype(np.int64)


def test_ln2_constant_is_correctly_rounded() -> None:
    assert round(math.log(2) * 2**30) == LN2_Q30


def test_floor_log2_is_bit_length_minus_one() -> None:
    n = sample_ints()
    assert floor_log2(n).tolist() == [int(v).bit_length() - 1 for v in n]


def test_log2_q24_is_never_above_and_at_most_a_little_below() -> None:
    n = sample_ints()
    err = log2_q24(n) - np.array([math.log2(int(v)) for v in n]) * 2**24
    assert err.max() <= 1e-6
    assert err.min() >= -(1 + 2**-4) - 1e-6


def test_ln_ratio_is_within_documented_error() -> None:
    rng = np.random.default_rng(11)
    a, b = sample_ints(), rng.permutation(sample_ints())
    ref = np.array([math.log(int(x)) - math.log(int(y)) for x, y in zip(a, b, strict=True)]) * SCALE
    err = np.abs(ln_ratio_q16(a, b) - ref)
    assert err.max() <= float(LN_ERROR_ULPS)


def test_ln_ratio_of_small_exact_cases() -> None:
    one = np.array([1, 2, 4, 2**62], dtype=np.int64)
    assert ln_ratio_q16(one, one).tolist() == [0, 0, 0, 0]
    assert ln_ratio_q16(np.array([2]), np.array([1])).tolist() == [round(math.log(2) * SCALE)]


def test_exact_row_sums_do_not_wrap() -> None:
    a = np.full((2, 8), 2**62 - 1, dtype=np.int64)
    assert exact_row_sums(a) == [8 * (2**62 - 1)] * 2
    assert EMPTY_SCORE == -(2**46)


def consensus_modules() -> list[Path]:
    return sorted(p for p in MODELS.glob("*.py") if p.name not in QUANTIZE_BOUNDARY)


@pytest.mark.parametrize("path", consensus_modules(), ids=lambda p: p.name)
def test_consensus_modules_use_no_float(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float | complex)), where
        assert not (isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div)), where
        assert not (isinstance(node, ast.Name) and node.id == "float"), where
        assert not (isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS), where
