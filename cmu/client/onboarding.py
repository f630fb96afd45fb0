"""Bringing a trained scikit-learn model on chain and back: `load_estimator` (a joblib file),
`import_estimator` (convert, upload the weights through client.models.upload_artifact, register) and
`export_estimator` (download the verified weights, rebuild an sklearn object that predicts the same).

Loading a joblib file runs pickle: it can execute code. Load only files you made or trust; this runs on
the user's machine only, never on a node (the node receives the converted integer weights).
"""

from __future__ import annotations

import dataclasses
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cmu.client import models
from cmu.client.chain import Chain, hex_of
from cmu.client.sklearn_convert import (
    Converted,
    NotJoblib,
    UnsupportedOption,
    convert,
    model_input_of,
)
from cmu.formats.predictions import LOGISTIC_TASK
from cmu.models import SCALE, get_kind
from cmu.models.weights import Weights
from runtime.crypto import Keypair


@dataclasses.dataclass(frozen=True)
class Imported:
    """A registered import: the model id, its artifact root and what was registered."""

    model: int
    artifact: bytes
    converted: Converted
    block: str

    def summary(self) -> dict[str, Any]:
        c = self.converted
        return {"model": self.model, "kind": c.kind, "labels": c.labels, "artifact": hex_of(self.artifact),
                "size": len(c.artifact), "source": c.source, "task": c.task, "text": c.model_input.takes_text,
                "block": self.block}


def load_estimator(path: Path) -> Any:
    """The object saved in a joblib file (runs pickle: only for files you trust), or NotJoblib."""
    import joblib

    try:
        return joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
            ImportError, zipfile.BadZipFile, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise NotJoblib(f"{path}: no such file") from exc
        raise NotJoblib(f"{path} is not a joblib file of a scikit-learn estimator: {exc}") from exc


def import_estimator(
    chain: Chain,
    keypair: Keypair,
    estimator: Any,
    *,
    name: str,
    description: str = "",
    license: str = "",
    timeout: float = 60.0,
) -> Imported:
    """Convert a fitted estimator (or a joblib path), upload its weights and register it. Every check
    runs before the first transaction: a refused estimator uploads nothing."""
    _check_texts(name=name, description=description, license=license)
    est = load_estimator(Path(estimator)) if isinstance(estimator, str | Path) else estimator
    converted = convert(est)
    _check_texts(**{f"label {label!r}": label for label in converted.labels})
    data = converted.artifact
    root = models.upload_artifact(chain, keypair, data, timeout=timeout)
    call_args = {
        "name": name, "description": description or f"imported {converted.source}", "task": converted.task,
        "kind": converted.kind, "input_spec": converted.input_spec, "labels": converted.labels,
        "license": license, "artifact": hex_of(root),
    }
    receipt = models._watch(chain, keypair, "ModelRegistry.register", call_args, timeout)
    model = int(models._event_field(receipt, "ModelRegistered", "model"))
    return Imported(model, root, converted, receipt.block_hash)


TEXT_LIMITS = {"description": 1024}
"""UTF-8 bytes a register argument may have (64 for the others: name, license, labels)."""


def _check_texts(**texts: str) -> None:
    """Refuse, before anything is sent, a name, description, license or label the chain would refuse."""
    for what, text in texts.items():
        limit = TEXT_LIMITS.get(what, 64)
        if len(text.encode("utf-8")) > limit:
            raise UnsupportedOption(f"the {what} is longer than {limit} bytes (UTF-8)")


def export_estimator(chain: Chain, model: int, *, version: int | str | None = None,
                     signer: Keypair | None = None) -> Any:
    """An sklearn estimator (a Pipeline when the model has an input step) that predicts what the chain's
    weights of `model` predict, from a download verified against the chain's state root."""
    info = chain.client.request("model_get", [model, None])
    got = models.download_artifact(chain, model, version=version, signer=signer)
    spec = spec_from_json(info["inputSpec"])
    inputs = model_input_of(spec)
    weights = get_kind(info["kind"]).decode(got.data, inputs.spec, len(info["labels"]))
    return rebuild(info["kind"], weights, list(info["labels"]), spec, info.get("task", ""))


def spec_from_json(shown: dict[str, Any]) -> dict[str, Any]:
    """model_get's camelCase inputSpec as the call's snake_case dict (for sklearn_convert.model_input_of)."""
    text = shown.get("text")
    return {
        "n_features": shown["nFeatures"], "sparse": shown["sparse"], "min_value": shown["minValue"],
        "max_value": shown["maxValue"], "max_nonzeros": shown["maxNonzeros"],
        "text": None if text is None else {
            "token_pattern": text["tokenPattern"], "lowercase": text["lowercase"],
            "ngram_min": text["ngramMin"], "ngram_max": text["ngramMax"],
            "alternate_sign": text["alternateSign"], "binary": text["binary"], "norm": text["norm"]},
        "scaling": None if shown.get("scaling") is None else {
            "mult_q32": shown["scaling"]["multQ32"], "add_q16": shown["scaling"]["addQ16"]},
    }


# --- rebuilding sklearn objects -------------------------------------------------------------------------


def rebuild(kind: str, weights: Weights, labels: list[str], spec: dict[str, Any], task: str = "") -> Any:
    """An sklearn estimator or Pipeline equivalent to `weights` (labels back as ints when all are ints)."""
    classes = _classes(labels)
    if kind in ("dense_perceptron", "sparse_perceptron"):
        clf = _linear(weights, classes, logistic=task == LOGISTIC_TASK)
    elif kind == "naive_bayes":
        clf = _multinomial_nb(weights, classes)
    elif kind == "nearest_centroid":
        clf = _nearest_centroid(weights, classes)
    else:
        raise ValueError(f"kind {kind!r} has no sklearn counterpart")
    front = _front(spec)
    if front is None:
        return clf
    from sklearn.pipeline import make_pipeline

    return make_pipeline(front, clf)


def _classes(labels: list[str]) -> np.ndarray:
    try:
        ints = [int(x) for x in labels]
    except ValueError:
        return np.array(labels, dtype=object)
    return np.array(ints) if [str(i) for i in ints] == labels else np.array(labels, dtype=object)


def _linear(w: Weights, classes: np.ndarray, *, logistic: bool) -> Any:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    n_lab, n_feat = w.n_labels, w.spec.n_features
    bias = w.flat[:n_lab] / SCALE
    coef = w.flat[n_lab:].reshape(n_lab, n_feat) / SCALE
    if n_lab == 2:  # sklearn's binary form: one row, class 1 when coef.x + b > 0
        coef, bias = (coef[1] - coef[0]).reshape(1, -1), np.array([bias[1] - bias[0]])
    clf = LogisticRegression() if logistic else SGDClassifier()
    clf.coef_, clf.intercept_, clf.classes_ = coef, bias, classes
    clf.n_features_in_ = n_feat
    if not logistic:
        clf.t_, clf.n_iter_ = 1.0, 1
    return clf


def _multinomial_nb(w: Weights, classes: np.ndarray) -> Any:
    from sklearn.naive_bayes import MultinomialNB

    n_lab, n_feat = w.n_labels, w.spec.n_features
    alpha = w.param("alpha_num") / w.param("alpha_den")
    counts = w.flat[2 * n_lab:].reshape(n_lab, n_feat) / SCALE
    examples = w.flat[:n_lab].astype(np.float64)
    clf = MultinomialNB(alpha=alpha)
    clf.classes_, clf.feature_count_, clf.class_count_ = classes, counts, examples
    clf.n_features_in_ = n_feat
    smoothed = counts + alpha
    clf.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        clf.class_log_prior_ = np.log(examples) - np.log(examples.sum())
    return clf


def _nearest_centroid(w: Weights, classes: np.ndarray) -> Any:
    from sklearn.neighbors import NearestCentroid

    from cmu.models.centroid import centroids

    clf = NearestCentroid()
    clf.centroids_ = centroids(w) / SCALE
    clf.classes_ = classes
    clf.class_prior_ = np.full(len(classes), 1 / len(classes))
    clf.n_features_in_ = w.spec.n_features
    return clf


def _front(spec: dict[str, Any]) -> Any:
    text, scaling = spec.get("text"), spec.get("scaling")
    if text is not None:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            n_features=spec["n_features"], token_pattern=text["token_pattern"], lowercase=text["lowercase"],
            ngram_range=(text["ngram_min"], text["ngram_max"]), alternate_sign=text["alternate_sign"],
            binary=text["binary"], norm=None if text["norm"] == "none" else text["norm"])
    if scaling is not None:
        from sklearn.preprocessing import StandardScaler

        mult = np.array(scaling["mult_q32"], dtype=np.float64) / 2.0 ** 32
        add = np.array(scaling["add_q16"], dtype=np.float64) / SCALE
        scaler = StandardScaler()  # x * mult + add = (x - mean) / scale
        scaler.scale_ = 1.0 / mult
        scaler.mean_ = -add / mult
        scaler.var_ = scaler.scale_ ** 2
        scaler.n_features_in_ = len(mult)
        scaler.n_samples_seen_ = 1
        return scaler
    return None
