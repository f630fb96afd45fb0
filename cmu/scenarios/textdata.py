"""A small, deterministic text corpus for scenarios and tests: short movie reviews generated from word
lists with a seeded generator (no download), labelled "negative" (0) or "positive" (1), with some noise
(neutral filler, words of the other sentiment, negations) so a linear model is good but not perfect.
"""

from __future__ import annotations

import numpy as np

POSITIVE = ("great", "wonderful", "brilliant", "moving", "superb", "delightful", "charming", "gripping",
            "beautiful", "funny", "clever", "touching", "masterful", "fresh", "excellent", "loved",
            "enjoyable", "stunning", "memorable", "heartfelt")
NEGATIVE = ("awful", "boring", "dull", "terrible", "clumsy", "tedious", "bland", "forgettable", "messy",
            "predictable", "weak", "painful", "hated", "lazy", "shallow", "confusing", "flat", "worst",
            "annoying", "pointless")
NEUTRAL = ("the", "movie", "film", "plot", "acting", "story", "director", "scene", "cast", "music",
           "ending", "characters", "script", "camera", "was", "and", "with", "this", "its", "really",
           "quite", "at", "times", "overall", "second", "half", "first", "lead", "role", "screen")
LABELS = ("negative", "positive")


def review(rng: np.random.Generator, label: int) -> str:
    """One generated review of the given sentiment (0 negative, 1 positive)."""
    own, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
    words: list[str] = []
    for _ in range(int(rng.integers(6, 24))):
        draw = rng.random()
        if draw < 0.55:
            words.append(str(rng.choice(NEUTRAL)))
        elif draw < 0.85:
            words.append(str(rng.choice(own)))
        elif draw < 0.95:
            words.append(str(rng.choice(other)))
        else:
            words.extend(["not", str(rng.choice(other))])
    text = " ".join(words)
    return text[0].upper() + text[1:] + ("!" if rng.random() < 0.3 else ".")


def corpus(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """`n` reviews and their labels (0/1), the same for the same `n` and `seed` on every machine."""
    rng = np.random.default_rng([seed, 0x7E47])
    labels = [int(v) for v in rng.integers(0, 2, size=n)]
    return [review(rng, label) for label in labels], labels
