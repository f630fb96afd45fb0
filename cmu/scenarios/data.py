"""Scenario data sets: a data set bundled with scikit-learn, a CSV file, a generator or generated text
(short reviews, cmu/scenarios/textdata.py), split into the owner's initial training set, the contributors'
pool and a held-out test set, and encoded as chain rows.

Encoding (off chain, done once per run with a seeded shuffle): features are standardized with the
training part's mean and deviation, clipped to [-clip, clip] and quantized to Q.16 ints (models.quantize);
`naive_bayes` takes counts, so its rows are shifted to [0, 2 * clip]; `sparse_perceptron` rows are the
sorted indices of the features above their mean. Text (`source = "text"`, sparse_perceptron or
naive_bayes): each review hashed by models.text (binary, no sign alternation, `features` buckets) into the
sorted indices of its words, the form the chain's sparse rows take.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cmu import models
from cmu.models import SCALE, InputSpec
from cmu.scenarios.fields import ScenarioError

SKLEARN_SETS = ("breast_cancer", "digits", "iris", "wine")
GENERATORS = ("classification", "blobs")
TEXT_KINDS = ("sparse_perceptron", "naive_bayes")
Row = list[int]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The [data] table of a scenario file."""

    source: str = "sklearn"
    name: str = "breast_cancer"
    path: str = ""
    label_column: str = ""
    samples: int = 1_000
    features: int = 10
    classes: int = 2
    test_fraction: float = 0.2
    initial_fraction: float = 0.1
    clip: float = 4.0


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Encoded rows (chain form) and labels of each part, with the input spec and label names."""

    spec: InputSpec
    label_names: tuple[str, ...]
    initial: tuple[list[Row], list[int]]
    pool: tuple[list[Row], list[int]]
    test: tuple[list[Row], list[int]]

    @property
    def n_labels(self) -> int:
        """How many labels the model has."""
        return len(self.label_names)

    def sample(self, rng: np.random.Generator) -> tuple[Row, int]:
        """One example of the contributors' pool, drawn with replacement."""
        rows, labels = self.pool
        index = int(rng.integers(len(rows)))
        return rows[index], labels[index]

    def noise_row(self, rng: np.random.Generator) -> Row:
        """A random row inside the spec (what a spammer sends)."""
        spec = self.spec
        if spec.sparse:
            count = int(rng.integers(1, max(2, spec.terms // 2)))
            return sorted(int(i) for i in rng.choice(spec.n_features, size=count, replace=False))
        return [int(v) for v in rng.integers(spec.min_value, spec.max_value + 1, size=spec.n_features)]


def load_raw(config: DataConfig, base_dir: Path, seed: int) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Features (float matrix) and string labels of the configured source."""
    if config.source == "sklearn":
        return _sklearn(config.name)
    if config.source == "csv":
        return _csv(config, base_dir)
    if config.source == "generator":
        return _generated(config, seed)
    raise ScenarioError("data.source", f"expected sklearn, csv or generator, got {config.source!r}")


def _sklearn(name: str) -> tuple[npt.NDArray[np.float64], list[str]]:
    from sklearn import datasets

    if name not in SKLEARN_SETS:
        raise ScenarioError("data.name", f"expected one of {', '.join(SKLEARN_SETS)}, got {name!r}")
    bunch: Any = getattr(datasets, f"load_{name}")()
    names = [str(n) for n in bunch.target_names]
    return np.asarray(bunch.data, dtype=np.float64), [names[int(t)] for t in bunch.target]


def _csv(config: DataConfig, base_dir: Path) -> tuple[npt.NDArray[np.float64], list[str]]:
    path = Path(config.path)
    path = path if path.is_absolute() else base_dir / path
    try:
        with path.open(newline="") as handle:
            table = list(csv.reader(handle))
    except OSError as exc:
        raise ScenarioError("data.path", f"cannot read {path}: {exc.strerror}") from exc
    if len(table) < 3:
        raise ScenarioError("data.path", f"{path} needs a header and at least two rows")
    header, body = table[0], table[1:]
    label_at = header.index(config.label_column) if config.label_column in header else len(header) - 1
    if config.label_column and config.label_column not in header:
        raise ScenarioError("data.label_column", f"no column {config.label_column!r} in {path}")
    try:
        features = [[float(v) for i, v in enumerate(row) if i != label_at] for row in body]
        matrix = np.asarray(features, dtype=np.float64)
    except ValueError as exc:
        raise ScenarioError("data.path", f"{path}: feature columns must be numbers ({exc})") from exc
    if matrix.ndim != 2 or not np.all(np.isfinite(matrix)):
        raise ScenarioError("data.path", f"{path}: rows must have the same number of finite numbers")
    return matrix, [row[label_at] for row in body]


def _generated(config: DataConfig, seed: int) -> tuple[npt.NDArray[np.float64], list[str]]:
    from sklearn import datasets

    if config.name == "blobs":
        x, y = datasets.make_blobs(n_samples=config.samples, n_features=config.features,
                                   centers=config.classes, random_state=seed)
    elif config.name == "classification":
        informative = max(2, min(config.features, config.classes + 2))
        x, y = datasets.make_classification(
            n_samples=config.samples, n_features=config.features, n_informative=informative,
            n_redundant=0, n_classes=config.classes, random_state=seed,
        )
    else:
        raise ScenarioError("data.name", f"expected one of {', '.join(GENERATORS)}, got {config.name!r}")
    return np.asarray(x, dtype=np.float64), [f"class{int(t)}" for t in y]


def build_dataset(config: DataConfig, kind: str, base_dir: Path, seed: int) -> Dataset:
    """Load, shuffle (seeded), split and encode the data for a model kind."""
    if config.source == "text":
        return _text_dataset(config, kind, seed)
    x, names = load_raw(config, base_dir, seed)
    label_names = tuple(sorted(set(names)))
    if len(label_names) < 2:
        raise ScenarioError("data", "the data set needs at least two distinct labels")
    y = np.asarray([label_names.index(n) for n in names], dtype=np.int64)
    order = np.random.default_rng([seed, 0xDA7A]).permutation(len(y))
    x, y = x[order], y[order]
    n_test = max(1, int(len(y) * config.test_fraction))
    n_initial = max(1, int(len(y) * config.initial_fraction))
    if len(y) - n_test - n_initial < 1:
        raise ScenarioError("data.test_fraction", "leaves no examples for the contributors")
    train = x[n_test:]
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    scaled = np.clip((x - mean) / std, -config.clip, config.clip)
    spec, rows = _encode(scaled, kind, config.clip)
    parts = [(0, n_test), (n_test, n_test + n_initial), (n_test + n_initial, len(y))]
    test, initial, pool = ((rows[a:b], [int(v) for v in y[a:b]]) for a, b in parts)
    return Dataset(spec, label_names, initial, pool, test)


def _encode(scaled: npt.NDArray[np.float64], kind: str, clip: float) -> tuple[InputSpec, list[Row]]:
    n_features = int(scaled.shape[1])
    bound = round(clip * SCALE)
    if kind == "sparse_perceptron":
        rows = [[int(i) for i in np.flatnonzero(r > 0)] for r in scaled]
        most = max(1, max(len(r) for r in rows))
        return InputSpec(n_features, True, 0, SCALE, most), rows
    if kind == "naive_bayes":
        spec = InputSpec(n_features, False, 0, 2 * bound)
        fixed = models.quantize(scaled + clip, spec, counts=True)
    else:
        spec = InputSpec(n_features, False, -bound, bound)
        fixed = models.quantize(scaled, spec)
    return spec, [[int(v) for v in r] for r in np.asarray(fixed)]


def _text_dataset(config: DataConfig, kind: str, seed: int) -> Dataset:
    """Generated reviews, hashed into sorted word indices (see the module docstring), split in order."""
    from cmu.models.text import TextFeaturizer
    from cmu.scenarios.textdata import LABELS, corpus

    if kind not in TEXT_KINDS:
        raise ScenarioError("data.source", f"text data needs a model kind in {TEXT_KINDS}, not {kind!r}")
    docs, labels = corpus(config.samples, seed)
    hasher = TextFeaturizer(config.features, alternate_sign=False, binary=True, norm="none")
    rows = [[int(i) for i in hasher.featurize(doc).indices] for doc in docs]
    n_test = max(1, int(len(rows) * config.test_fraction))
    n_initial = max(1, int(len(rows) * config.initial_fraction))
    if len(rows) - n_test - n_initial < 1:
        raise ScenarioError("data.test_fraction", "leaves no examples for the contributors")
    spec = InputSpec(config.features, True, 0, SCALE, max(1, max(len(r) for r in rows)))
    parts = [(0, n_test), (n_test, n_test + n_initial), (n_test + n_initial, len(rows))]
    test, initial, pool = ((rows[a:b], labels[a:b]) for a, b in parts)
    return Dataset(spec, LABELS, initial, pool, test)
