"""The text featurizer against scikit-learn's HashingVectorizer (within half a Q.16 ulp per value, same
indices and signs), the hash against sklearn's murmurhash3_32, exact integer norms, and its refusals."""

from __future__ import annotations

import math
from fractions import Fraction

import mmh3
import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from cmu.models import SCALE, BadSpec
from cmu.models.text import MAX_TEXT_BYTES, NotText, TextFeaturizer, TextTooLong, _l2_q16
from cmu.scenarios.textdata import corpus

DOCS = [*corpus(60, seed=3)[0], "Ünïcode wörds ÀND caps, émoji 🎬 and ALL-CAPS", "", "a", "x y z " * 5]
SETTINGS = [
    {},
    {"norm": None, "alternate_sign": False},
    {"norm": "l1", "ngram_range": (1, 3)},
    {"binary": True, "norm": None},
    {"lowercase": False, "token_pattern": r"(?u)\b\w+\b", "n_features": 64},
]


def featurizer(vec: HashingVectorizer) -> TextFeaturizer:
    return TextFeaturizer(vec.n_features, vec.token_pattern, vec.lowercase, *vec.ngram_range,
                          vec.alternate_sign, vec.binary, vec.norm or "none")


@pytest.mark.parametrize("params", SETTINGS)
def test_featurize_matches_hashing_vectorizer(params: dict[str, object]) -> None:
    vec = HashingVectorizer(**{"n_features": 2**12, **params})  # type: ignore[arg-type]
    ours, theirs = featurizer(vec), vec.transform(DOCS)
    for i, doc in enumerate(DOCS):
        row = ours.featurize(doc)
        expected = theirs[i].toarray()[0]
        nonzero = np.flatnonzero(np.rint(expected * SCALE))
        assert row.indices.tolist() == nonzero.tolist(), doc
        assert np.abs(row.values / SCALE - expected[row.indices]).max(initial=0) <= 0.5 / SCALE + 1e-12


def test_hash_is_sklearns_murmurhash3_with_signs() -> None:
    for token in ["great", "movie", "a b", "héllo", "🎬", "x" * 300, ""]:
        assert mmh3.hash(token.encode("utf-8"), 0, signed=True) == murmurhash3_32(token.encode("utf-8"), 0)
    assert any(mmh3.hash(t.encode(), 0, signed=True) < 0 for t in ("great", "movie", "plot", "dull"))


def test_l2_values_are_exactly_rounded() -> None:
    for counts in ([1], [1, 1, 1], [3, -4], [7, 1, 1, 2, -5], [10**6, 1]):
        squares = sum(c * c for c in counts)
        for c in counts:
            exact = Fraction(SCALE * abs(c)) / Fraction(math.sqrt(squares))  # float sqrt: check nearby
            assert abs(abs(_l2_q16(c, squares)) - float(exact)) <= 0.5 + 1e-6
            k = abs(_l2_q16(c, squares))  # the defining inequality, exactly
            assert 4 * (SCALE * c) ** 2 < (2 * k + 1) ** 2 * squares  # r < k + 1/2
            assert k == 0 or (2 * k - 1) ** 2 * squares <= 4 * (SCALE * c) ** 2  # k - 1/2 <= r


def test_featurize_refuses_long_documents_and_non_strings() -> None:
    text = TextFeaturizer(256)
    with pytest.raises(TextTooLong):
        text.featurize("é" * (MAX_TEXT_BYTES // 2 + 1))
    assert text.featurize("ok " * (MAX_TEXT_BYTES // 3)).nnz >= 1
    with pytest.raises(NotText):
        text.featurize([1, 2, 3])


@pytest.mark.parametrize("bad", [
    {"n_features": 0}, {"token_pattern": "("}, {"token_pattern": r"(a+)+$"}, {"ngram_min": 2, "ngram_max": 1},
    {"ngram_max": 9},
    {"norm": "max"}, {"binary": 1},
])
def test_bad_featurizer_parameters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(BadSpec):
        TextFeaturizer(**{"n_features": 16, **bad})  # type: ignore[arg-type]
