"""Text as model input: a HashingVectorizer-compatible featurizer in integer math (no float), so a node
turns a document into the same sparse Q.16 row on every machine, for predictions and for training.

Document -> lowercase (optional) -> tokens by `token_pattern` (Python `re`, one of TOKEN_PATTERNS) ->
word n-grams joined by " " -> MurmurHash3 (x86, 32-bit, seed 0, signed; the `mmh3` package, as
sklearn.utils.murmurhash3_32) of each n-gram's UTF-8 bytes: index = |h| mod n_features, sign = -1 when
h < 0 and alternate_sign -> summed counts per index (an index whose signed sum is 0 is dropped, except
with `binary`, where every index that occurs is 1, as sklearn fills the stored entries with 1) -> norm:
    none  value = count (Q.16: count * SCALE)
    l1    value = round_half_up(count * SCALE / sum |count|)
    l2    value = sign(count) * round_half_up(SCALE * |count| / sqrt(sum count**2)), computed exactly with
          integer square roots (see `_l2_q16`), within 1/2 ulp of the real value sklearn approximates.
Tokenizing and lowercasing use Python's Unicode tables: every node of a chain must run the same Python
minor version (as it must for the rest of the runtime). Documents are bounded (MAX_TEXT_BYTES, TextTooLong).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

import mmh3
import numpy as np

from cmu.models.errors import BadSpec, ModelError, WrongType
from cmu.models.fixed import SCALE
from cmu.models.spec import SparseRow

MAX_TEXT_BYTES: Final = 32 * 1024
"""The longest document (UTF-8 bytes) a text model takes; longer ones raise TextTooLong."""
MAX_NGRAM: Final = 4
DEFAULT_PATTERN: Final = r"(?u)\b\w\w+\b"
TOKEN_PATTERNS: Final = (DEFAULT_PATTERN, r"(?u)\b\w+\b", r"\b\w\w+\b", r"\b\w+\b", r"\S+")
"""The token patterns a chain runs: sklearn's default (words of 2+ characters), words of 1+ characters,
and whitespace-separated tokens. A model owner's own regular expression could backtrack for seconds on a
crafted document inside block execution, so any other pattern is refused (BadSpec)."""
NORMS: Final = ("none", "l1", "l2")


class TextTooLong(ModelError):
    """A document is longer than MAX_TEXT_BYTES (UTF-8)."""


class NotText(WrongType):
    """A text model was given something other than a string (or a numeric model was given a string)."""


@dataclass(frozen=True)
class TextFeaturizer:
    """HashingVectorizer(analyzer='word') parameters; `n_features` is the model's feature count."""

    n_features: int
    token_pattern: str = DEFAULT_PATTERN
    lowercase: bool = True
    ngram_min: int = 1
    ngram_max: int = 1
    alternate_sign: bool = True
    binary: bool = False
    norm: str = "l2"

    def __post_init__(self) -> None:
        if type(self.n_features) is not int or not 1 <= self.n_features <= 1 << 31:
            raise BadSpec(f"text n_features must be an int in [1, 2**31], got {self.n_features!r}")
        if self.token_pattern not in TOKEN_PATTERNS:
            raise BadSpec(f"token_pattern must be one of {list(TOKEN_PATTERNS)} (patterns run in every "
                          f"node's block execution: only these, which cannot backtrack badly), "
                          f"got {self.token_pattern!r}")
        if not (type(self.ngram_min) is int and type(self.ngram_max) is int
                and 1 <= self.ngram_min <= self.ngram_max <= MAX_NGRAM):
            raise BadSpec(f"need 1 <= ngram_min <= ngram_max <= {MAX_NGRAM}")
        for flag in ("lowercase", "alternate_sign", "binary"):
            if type(getattr(self, flag)) is not bool:
                raise BadSpec(f"{flag} must be a bool")
        if self.norm not in NORMS:
            raise BadSpec(f"norm must be one of {NORMS}, got {self.norm!r}")

    @property
    def max_value(self) -> int:
        """The largest |value| (Q.16) a bounded document can produce under this featurizer."""
        if self.norm != "none" or self.binary:
            return SCALE
        return (MAX_TEXT_BYTES // 2 + 1) * self.ngram_max * SCALE

    def tokens(self, text: str) -> list[str]:
        """The n-grams of one document, in order (sklearn's _word_ngrams)."""
        words = re.findall(self.token_pattern, text.lower() if self.lowercase else text)
        grams: list[str] = []
        for n in range(self.ngram_min, self.ngram_max + 1):
            grams.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
        return grams

    def counts(self, text: object) -> dict[int, int]:
        """Index -> signed count of one document (entries that occur; binary: all ones)."""
        sums: dict[int, int] = {}
        for gram in self.tokens(check_text(text)):
            h = mmh3.hash(gram.encode("utf-8"), 0, signed=True)
            index = abs(h) % self.n_features
            sums[index] = sums.get(index, 0) + (-1 if h < 0 and self.alternate_sign else 1)
        if self.binary:
            return dict.fromkeys(sums, 1)
        return {i: c for i, c in sums.items() if c != 0}

    def featurize(self, text: object) -> SparseRow:
        """One document as its canonical sparse Q.16 row (sorted indices, non-zero values)."""
        counts = self.counts(text)
        indices = sorted(counts)
        values = [counts[i] for i in indices]
        if self.norm == "l1":
            total = sum(abs(v) for v in values)
            values = [_div_round(v * SCALE, total) for v in values]
        elif self.norm == "l2":
            squares = sum(v * v for v in values)
            values = [_l2_q16(v, squares) for v in values]
        else:
            values = [v * SCALE for v in values]
        keep = [k for k, v in enumerate(values) if v != 0]
        idx = np.array([indices[k] for k in keep], dtype=np.int64)
        vals = np.array([values[k] for k in keep], dtype=np.int64)
        idx.flags.writeable = False
        vals.flags.writeable = False
        return SparseRow(idx, vals)


def check_text(text: object) -> str:
    """The document itself once it is a string of at most MAX_TEXT_BYTES, or NotText / TextTooLong."""
    if not isinstance(text, str):
        raise NotText(f"a text model takes strings, got {type(text).__name__}")
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise TextTooLong(f"a document of {size} bytes; at most {MAX_TEXT_BYTES} (UTF-8)")
    return text


def _div_round(num: int, den: int) -> int:
    """num / den rounded half away from zero (den > 0), exactly."""
    q = (2 * abs(num) + den) // (2 * den)
    return q if num >= 0 else -q


def _l2_q16(count: int, squares: int) -> int:
    """sign(count) * round_half_up(SCALE * |count| / sqrt(squares)), exactly: with t = SCALE * |count|,
    the result k is the largest k with (2k - 1)**2 * squares <= 4 * t**2, i.e. isqrt of that bound."""
    t = SCALE * abs(count)
    k = (math.isqrt(4 * t * t // squares) + 1) // 2
    return k if count >= 0 else -k
