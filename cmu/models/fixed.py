"""Fixed-point conventions and the deterministic integer math the model kinds share (no float anywhere).

Scale: a real value v is stored as round(v * SCALE) with SCALE = 2**16 (Q.16, ulp = 2**-16 ~ 1.5e-5).
A product of two Q.16 numbers is Q.32; every kind computes its exact per-class score in Q.32 (int64,
bounded below 2**62 by checks made when weights are created or decoded), takes the label as the argmax
of that exact score (ties go to the lowest label) and reports ``floor(score_q32 / 2**16)`` (Q.16).

Logarithms (naive Bayes) are computed with integers only: ``log2_q24(n)`` splits n >= 1 into its bit
length e and a Q.30 mantissa m in [1, 2), then produces 24 fraction bits of log2(m) by repeated
squaring. It is never above the true value and at most ``2**-24 + 2**-28`` below it.
``ln_ratio_q16(a, b)`` = ln(a / b) in Q.16 from two such logs times LN2_Q30, rounded half up:
``|ln_ratio_q16(a, b) / 2**16 - ln(a / b)| <= LN_ERROR_ULPS * 2**-16`` with LN_ERROR_ULPS = 0.51
(rounding 0.5 ulp + log2 error 2 * 2**-24 * ln 2 + LN2_Q30 error 62 * 2**-31, both < 0.01 ulp).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

FRAC_BITS: Final = 16
SCALE: Final = 1 << FRAC_BITS
"""Q.16: a real value v is represented as round(v * SCALE); weights, inputs and scores share it."""

SCORE_BOUND: Final = 1 << 62
"""Every exact Q.32 score (and every partial sum leading to it) is strictly inside +/-SCORE_BOUND."""

EMPTY_SCORE_Q32: Final = -SCORE_BOUND
"""Exact score of a class that has no examples yet (naive Bayes, nearest centroid): never the argmax
unless every class is empty. Reported as EMPTY_SCORE = -2**46 in Q.16."""

EMPTY_SCORE: Final = EMPTY_SCORE_Q32 >> FRAC_BITS

LOG_FRAC_BITS: Final = 24
MANTISSA_BITS: Final = 30
LN2_Q30: Final = 744261118
"""round(ln(2) * 2**30); the only transcendental constant, checked against math.log(2) in the tests."""

LN_ERROR_ULPS: Final = Fraction(51, 100)
"""Documented bound on |ln_ratio_q16 error| in Q.16 ulps (see the module docstring). Used by tests only."""

LN_BOUND: Final = 44 * SCALE
"""|ln(a / b)| in Q.16 for 1 <= a, b < 2**63 stays below this (ln(2**63) < 43.7)."""


def floor_log2(n: I64) -> I64:
    """Bit length minus one of every element of n (all elements >= 1), by binary search on shifts."""
    x = n.copy()
    e = np.zeros_like(n)
    for s in (32, 16, 8, 4, 2, 1):
        big = x >= (1 << s)
        x = np.where(big, x >> s, x)
        e += np.where(big, s, 0)
    return e


def log2_q24(n: I64) -> I64:
    """floor-ish log2(n) in Q.24 for 1 <= n < 2**63, elementwise; error in [-(2**-24 + 2**-28), 0]."""
    e = floor_log2(n)
    down = n >> np.maximum(e - MANTISSA_BITS, 0)
    up = n << np.maximum(MANTISSA_BITS - e, 0)
    m = np.where(e >= MANTISSA_BITS, down, up)  # Q.30 mantissa in [2**30, 2**31)
    two = np.int64(1 << (MANTISSA_BITS + 1))
    frac = np.zeros_like(n)
    for _ in range(LOG_FRAC_BITS):
        m = (m * m) >> MANTISSA_BITS  # < 2**62: no overflow
        ge = m >= two
        m = np.where(ge, m >> 1, m)
        frac = (frac << 1) | ge.astype(np.int64)
    out: I64 = (e << LOG_FRAC_BITS) | frac
    return out


def ln_ratio_q16(num: I64, den: I64) -> I64:
    """ln(num / den) in Q.16 (round half up), elementwise with broadcasting; 1 <= num, den < 2**63."""
    diff = log2_q24(num) - log2_q24(den)  # |diff| < 63 * 2**24 < 2**30
    prod = diff * LN2_Q30  # < 2**60
    shift = LOG_FRAC_BITS + MANTISSA_BITS - FRAC_BITS
    out: I64 = (prod + (1 << (shift - 1))) >> shift
    return out


def floor_to_q16(score_q32: I64) -> I64:
    """Report an exact Q.32 score as Q.16, rounding toward minus infinity."""
    out: I64 = score_q32 >> FRAC_BITS
    return out


def exact_row_sums(a: I64) -> list[int]:
    """Exact sums of the rows of a 2-D array of non-negative int64, as Python ints (no wrap-around)."""
    hi = (a >> 31).sum(axis=1)  # each < 2**32, at most 2**28 of them: < 2**60
    lo = (a & ((1 << 31) - 1)).sum(axis=1)
    return [(int(h) << 31) + int(v) for h, v in zip(hi, lo, strict=True)]


def argmax_lowest(scores_q32: I64) -> I64:
    """Per-row argmax of exact scores, ties to the lowest label (numpy's argmax rule), as int64."""
    out: I64 = np.argmax(scores_q32, axis=1).astype(np.int64)
    return out
