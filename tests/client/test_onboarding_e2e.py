# ruff: noqa: F811  (node_url is a fixture imported from test_cli_e2e; test arguments shadow it)
"""End to end against a real dev node: scikit-learn models imported (`cmu model import`, and the library
call), predicted over the node's RPC (numbers and documents), exported back, trained with a document
through `cmu training add`; every bad input refused by name with nothing uploaded. The data sets here
(make_classification, make_blobs and the generated reviews) are not the ones bench/onboarding.py uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from test_cli_e2e import cmu, cmu_json, node_url  # noqa: F401  (node_url is a fixture)

from cmu.client import Chain, Client, models, onboarding
from cmu.client.sklearn_convert import (
    NonFiniteWeights,
    NotFitted,
    PipelineOrder,
    UnsupportedEstimator,
    convert,
)
from cmu.models import get_kind
from cmu.scenarios.textdata import corpus
from runtime.crypto import dev_keypair


@pytest.fixture(scope="module")
def chain(node_url: str) -> Iterator[Chain]:
    with Client(node_url) as client:
        yield Chain(client)


@pytest.fixture(scope="module")
def reviews() -> dict[str, Any]:
    docs, labels = corpus(700, seed=5)
    pipe = make_pipeline(HashingVectorizer(n_features=2**12), SGDClassifier(random_state=0))
    pipe.fit(docs[:500], labels[:500])
    return {"pipe": pipe, "train": (docs[:500], labels[:500]), "test": docs[500:]}


def _nonce(chain: Chain) -> int:
    return int(chain.client.request("system_accountNextIndex", ["0x" + dev_keypair("alice").account.hex()]))


def _labels(answer: dict[str, Any]) -> list[str]:
    return [p["name"] for p in answer["predictions"]]


def test_import_predict_export_a_scaled_logistic_regression(node_url: str, tmp_path: Path) -> None:
    x, y = make_classification(400, 6, n_informative=4, random_state=3)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[:300], y[:300])
    joblib.dump(pipe, tmp_path / "lr.joblib")
    file = str(tmp_path / "lr.joblib")
    done = cmu_json(node_url, "--signer", "alice", "model", "import", file, "--name", "lr")
    assert done["kind"] == "dense_perceptron" and done["labels"] == ["0", "1"]
    model = str(done["model"])
    np.savetxt(tmp_path / "rows.csv", x[300:], delimiter=",", fmt="%.17g")
    answer = cmu_json(node_url, "model", "predict", model, "--file", str(tmp_path / "rows.csv"))
    assert _labels(answer) == [str(v) for v in pipe.predict(x[300:])]
    probabilities = np.array([p["probabilities"] for p in answer["predictions"]])
    assert np.abs(probabilities - pipe.predict_proba(x[300:])).max() < 1e-3  # from Q.16 scores
    first = answer["predictions"][0]
    assert first["scoresReal"] == [s / 2**16 for s in first["scores"]]
    assert cmu(node_url, "model", "export", model, str(tmp_path / "back.joblib")).returncode == 0
    back = joblib.load(tmp_path / "back.joblib")
    assert (back.predict(x) == pipe.predict(x)).all()


def test_library_import_of_naive_bayes_and_min_max_scaled_blobs(chain: Chain) -> None:
    x, y = make_blobs(300, 5, centers=3, random_state=4)
    counts = np.rint(np.abs(x) * 3)
    nb = MultinomialNB(alpha=0.5).fit(counts[:200], y[:200])
    done = onboarding.import_estimator(chain, dev_keypair("alice"), nb, name="nb")
    assert done.converted.kind == "naive_bayes"
    answer = models.predict(chain, done.model, counts[200:].tolist())
    assert _labels(answer) == [str(v) for v in nb.predict(counts[200:])]
    assert "probabilities" not in answer["predictions"][0]
    scaled = make_pipeline(MinMaxScaler(), SGDClassifier(random_state=1)).fit(x[:200], y[:200])
    converted = convert(scaled)  # the import's conversion, predicted locally by the chain's code
    kind = get_kind(converted.kind)
    labels, _ = kind.predict(converted.weights, converted.model_input.rows(kind, x[200:], fixed=False))
    assert [converted.labels[i] for i in labels] == [str(v) for v in scaled.predict(x[200:])]


@pytest.fixture(scope="module")
def text_model(chain: Chain, reviews: Any) -> onboarding.Imported:
    return onboarding.import_estimator(chain, dev_keypair("alice"), reviews["pipe"], name="reviews")


def test_text_pipeline_predicts_strings_as_sklearn(node_url: str, text_model: onboarding.Imported,
                                                    reviews: Any, tmp_path: Path) -> None:
    done = text_model
    assert done.converted.kind == "sparse_perceptron"
    docs = reviews["test"]
    (tmp_path / "docs.txt").write_text("\n".join(docs))
    answer = cmu_json(node_url, "model", "predict", str(done.model), "--file", str(tmp_path / "docs.txt"))
    expected = [str(v) for v in reviews["pipe"].predict(docs)]
    agreement = np.mean(np.array(_labels(answer)) == np.array(expected))
    assert agreement >= 0.995
    doc = "a great movie, wonderful and moving"
    one = cmu_json(node_url, "model", "predict", str(done.model), doc)
    assert one["predictions"][0]["name"] == str(reviews["pipe"].predict([doc])[0])
    refused = cmu(node_url, "model", "predict", str(done.model), "[1, 2, 3]")
    assert refused.returncode == 1 and "NotText" in refused.stderr


def test_a_text_contribution_updates_the_model_by_the_perceptron_rule(
    node_url: str, chain: Chain, text_model: onboarding.Imported
) -> None:
    done = text_model  # after the prediction test (which does not change it)
    model = str(done.model)
    setup = cmu(node_url, "--signer", "alice", "tx", "Training.set_config", f"model={model}", "enabled=true",
                "mechanism=Points", "refund_wait_s=0", "owner_claim_wait_s=0", "any_claim_wait_s=0",
                "cost_weight=0", "batch_limit=4", "--wait")
    assert setup.returncode == 0, setup.stderr
    kind, inputs = get_kind("sparse_perceptron"), done.converted.model_input
    before = kind.decode(models.download_artifact(chain, done.model).data, inputs.spec, 2)
    doc = "boring, dull and awful"
    wrong = 1 - int(kind.predict(before, inputs.rows(kind, [doc], fixed=True))[0][0])  # a mistake: it learns
    added = cmu_json(node_url, "--signer", "bob", "training", "add", model, doc, str(wrong))
    assert added["contribution"] >= 0
    after = kind.decode(models.download_artifact(chain, done.model).data, inputs.spec, 2)
    expected = kind.update(before, inputs.row(kind, doc), wrong).weights
    assert after == expected and after != before


def test_bad_estimators_are_refused_by_name_and_nothing_is_uploaded(node_url: str, chain: Chain,
                                                                     tmp_path: Path) -> None:
    x, y = make_classification(100, 4, random_state=6)
    nan = LogisticRegression().fit(x, y)
    nan.coef_[0, 1] = np.nan
    cases = {
        "UnsupportedEstimator": DecisionTreeClassifier().fit(x, y),
        "PipelineOrder": make_pipeline(LogisticRegression().fit(x, y), StandardScaler().fit(x)),
        "NotFitted": LogisticRegression(),
        "NonFiniteWeights": nan,
    }
    nonce = _nonce(chain)
    joblib.dump(cases["UnsupportedEstimator"], tmp_path / "tree.joblib")
    importing = (node_url, "--signer", "alice", "model", "import")
    refused = cmu(*importing, str(tmp_path / "tree.joblib"), "--name", "x")
    assert refused.returncode == 1 and "error: UnsupportedEstimator: DecisionTreeClassifier" in refused.stderr
    assert "LogisticRegression" in refused.stderr  # it says what is supported
    (tmp_path / "notes.joblib").write_text("not a pickle")
    refused = cmu(*importing, str(tmp_path / "notes.joblib"), "--name", "x")
    assert refused.returncode == 1 and "error: NotJoblib:" in refused.stderr
    errors = {"UnsupportedEstimator": UnsupportedEstimator, "PipelineOrder": PipelineOrder,
              "NotFitted": NotFitted, "NonFiniteWeights": NonFiniteWeights}
    for name, estimator in cases.items():
        joblib.dump(estimator, tmp_path / f"{name}.joblib")  # through a file, as the CLI loads it
        with pytest.raises(errors[name]) as info:
            onboarding.import_estimator(chain, dev_keypair("alice"), tmp_path / f"{name}.joblib", name="bad")
        assert str(info.value).startswith(f"{name}: ")  # the CLI prints this line after "cmu: error: "
    assert _nonce(chain) == nonce  # not one transaction was sent


def test_text_given_to_a_numeric_model_is_refused_over_rpc_and_cli(node_url: str, chain: Chain) -> None:
    x, y = make_classification(100, 4, random_state=7)
    numeric = LogisticRegression().fit(x, y)
    done = onboarding.import_estimator(chain, dev_keypair("alice"), numeric, name="num")
    with pytest.raises(Exception) as refused:
        models.predict(chain, done.model, ["a great movie"])
    assert refused.value.data["error"] == "TextForNumericModel"  # type: ignore[attr-defined]
    shown = cmu(node_url, "model", "predict", str(done.model), "a great movie")
    assert shown.returncode == 1 and "TextForNumericModel" in shown.stderr
    nonce = _nonce(chain)
    added = cmu(node_url, "--signer", "alice", "training", "add", str(done.model), "a great movie", "1")
    assert added.returncode != 0 and "TextForNumericModel" in added.stderr
    assert _nonce(chain) == nonce
