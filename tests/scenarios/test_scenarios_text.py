"""A scenario on generated text: reviews hashed into sparse word indices, contributed by honest agents
and a label-flipper to a sparse perceptron through the chain; the same seed gives the same root."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmu.scenarios import parse, run
from cmu.scenarios.data import DataConfig, build_dataset
from cmu.scenarios.fields import ScenarioError

RAW = {
    "name": "reviews", "seed": 3, "duration": 6 * 3_600, "eval_interval": 3_600,
    "data": {"source": "text", "samples": 400, "features": 512},
    "model": {"kind": "sparse_perceptron"},
    "incentive": {"refund_wait": 1_800, "owner_claim_wait": 7_200, "any_claim_wait": 10_800},
    "agents": [{"name": "h", "kind": "honest", "interval": "10m"},
               {"name": "bad", "kind": "adversary", "interval": "30m"}],
}


def test_text_data_is_hashed_into_sorted_word_indices() -> None:
    config = DataConfig(source="text", samples=200, features=256)
    data = build_dataset(config, "sparse_perceptron", Path("."), 1)
    rows, labels = data.pool
    assert data.spec.sparse and data.spec.n_features == 256 and set(labels) == {0, 1}
    assert all(r == sorted(set(r)) and all(0 <= i < 256 for i in r) for r in rows)
    assert data.label_names == ("negative", "positive")
    with pytest.raises(ScenarioError):
        build_dataset(DataConfig(source="text"), "nearest_centroid", Path("."), 1)


def test_a_text_scenario_runs_and_learns() -> None:
    first, again = run(parse(RAW)), run(parse(RAW))
    assert first.summary_line() == again.summary_line()
    accuracy = float(first.summary_line().split("accuracy=")[1].split()[0])
    assert accuracy > 60.0  # better than chance on held-out reviews
