"""scikit-learn estimators <-> the chain's fixed-point model kinds, with no chain involved (pure, testable).

`convert(estimator)` turns a fitted estimator or Pipeline into a `Converted` (kind, input spec as the
chain's call takes it, labels, the weights artifact); `rebuild(...)` turns stored weights back into an
sklearn object that predicts the same. Supported (anything else raises UnsupportedEstimator, naming these):
  LogisticRegression, Perceptron, SGDClassifier, LinearSVC, RidgeClassifier -> dense_perceptron
      (sparse_perceptron behind a HashingVectorizer); a binary model is two rows, class 0's all zero and
      class 1's coef_ and intercept_, so the argmax is sklearn's sign test (ties to class 0, as sklearn)
  MultinomialNB -> naive_bayes (counts, alpha as a fraction); BernoulliNB(binarize=None) -> dense_perceptron
      (its exact linear form on 0/1 inputs)
  NearestCentroid (euclidean, uniform priors) -> nearest_centroid
  StandardScaler / MinMaxScaler / MaxAbsScaler in front of a dense model: a scaling step stored with it
  HashingVectorizer (analyzer='word') in front: a text featurizer stored with it (cmu/models/text.py)
scikit-learn is an optional client extra (`pip install cmu-chain[sklearn]`); the node never imports this.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import numpy as np

from cmu.client.errors import ClientError
from cmu.formats.predictions import LOGISTIC_TASK
from cmu.models import SCALE, InputSpec, get_kind
from cmu.models.fixed import LN_BOUND
from cmu.models.inputs import ModelInput
from cmu.models.scaling import Scaling
from cmu.models.spec import MAX_ABS_VALUE
from cmu.models.text import DEFAULT_PATTERN, MAX_TEXT_BYTES, TOKEN_PATTERNS, TextFeaturizer
from cmu.models.weights import Weights, frozen

LINEAR = ("LogisticRegression", "Perceptron", "SGDClassifier", "LinearSVC", "RidgeClassifier")
SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler")
SUPPORTED = (*LINEAR, "MultinomialNB", "BernoulliNB", "NearestCentroid", *SCALERS, "HashingVectorizer")
SUPPORTED_TEXT = (
    "supported: " + ", ".join(LINEAR) + ", MultinomialNB, BernoulliNB (binarize=None), NearestCentroid "
    "(euclidean); optionally behind one of " + ", ".join(SCALERS) + " (dense models) or a HashingVectorizer "
    "(analyzer='word'; linear models and MultinomialNB)"
)
MAX_INPUT = 1 << 31
"""The widest raw input range (real units) a dense import accepts when the weights allow it."""
INPUT_RANGE = 1 << 16
"""Inputs (real units) a dense non-logistic linear import always accepts: its weights are scaled down by
a power of two when they would not leave room for them (the argmax, so every label, is unchanged)."""


class ImportRefused(ClientError, ValueError):
    """Base of the import's refusals: nothing is uploaded once one is raised. Its text starts with the
    refusal's name (as the CLI prints it)."""

    def __str__(self) -> str:
        return f"{type(self).__name__}: {super().__str__()}"


class UnsupportedEstimator(ImportRefused):
    """The estimator (or a pipeline step) is not one the chain's kinds can represent exactly."""


class PipelineOrder(ImportRefused):
    """A pipeline's steps are not [featurizer or scaler] then one classifier."""


class NotFitted(ImportRefused):
    """The estimator has not been fitted (no coefficients, counts or centroids yet)."""


class NotJoblib(ImportRefused):
    """The file is not a joblib (pickle) file, or it does not load."""


class NonFiniteWeights(ImportRefused):
    """The estimator's coefficients, counts or scaler parameters contain NaN or infinity."""


class UnsupportedOption(ImportRefused):
    """A supported estimator uses an option the chain cannot reproduce (the message names it)."""


@dataclasses.dataclass(frozen=True)
class Converted:
    """What registering an estimator needs: kind, the call's input_spec, labels, weights and task."""

    kind: str
    input_spec: dict[str, Any]
    labels: list[str]
    weights: Weights
    task: str
    source: str
    """The estimator's class name (pipelines: the steps joined by '+')."""

    @property
    def artifact(self) -> bytes:
        return get_kind(self.kind).encode(self.weights)

    @property
    def model_input(self) -> ModelInput:
        """The models-side input path (spec plus step), for predicting locally as the chain does."""
        return model_input_of(self.input_spec)


def convert(estimator: Any) -> Converted:
    """A fitted estimator or Pipeline as the chain's model (see the module docstring)."""
    front, clf = _split_pipeline(estimator)
    name = type(clf).__name__
    if name not in SUPPORTED or name in SCALERS or name == "HashingVectorizer":
        raise UnsupportedEstimator(f"{name} is not supported; {SUPPORTED_TEXT}")
    _check_fitted(clf)
    text = _text_step(front[0]) if front and type(front[0]).__name__ == "HashingVectorizer" else None
    scaling = _scaling_step(front[0]) if front and text is None else None
    labels = [str(c) for c in clf.classes_]
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise UnsupportedOption(f"classes {labels} must be at least two, distinct as text")
    source = "+".join(type(s).__name__ for s in (*front, clf))
    if name == "MultinomialNB":
        return _naive_bayes(clf, labels, text, scaling, source)
    if name == "NearestCentroid":
        return _centroid(clf, labels, text, scaling, source)
    coef, intercept = _linear_parts(clf)
    task = LOGISTIC_TASK if name == "LogisticRegression" else "classification"
    return _perceptron(coef, intercept, labels, text, scaling, task, source)


# --- pipelines and input steps -------------------------------------------------------------------------


def _split_pipeline(estimator: Any) -> tuple[list[Any], Any]:
    steps = [s for _, s in estimator.steps] if type(estimator).__name__ == "Pipeline" else [estimator]
    steps = [s for s in steps if s is not None and s != "passthrough"]
    if not steps:
        raise PipelineOrder("the pipeline has no steps")
    names = [type(s).__name__ for s in steps]
    for i, name in enumerate(names):
        if name not in SUPPORTED:
            raise UnsupportedEstimator(f"{name} (step {i}) is not supported; {SUPPORTED_TEXT}")
    front, clf = steps[:-1], steps[-1]
    if type(clf).__name__ in (*SCALERS, "HashingVectorizer"):
        raise PipelineOrder(f"the last step must be a classifier, got {type(clf).__name__}; "
                            "steps go [scaler or HashingVectorizer] then the classifier")
    if len(front) > 1 or any(type(s).__name__ not in (*SCALERS, "HashingVectorizer") for s in front):
        raise PipelineOrder(f"steps {names}: at most one scaler or HashingVectorizer, then one classifier")
    return front, clf


def _check_fitted(est: Any) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
    except NotFittedError as exc:
        raise NotFitted(f"{type(est).__name__} is not fitted: call fit() before saving it") from exc


def _finite(name: str, *arrays: Any) -> None:
    for a in arrays:
        if not np.all(np.isfinite(np.asarray(a, dtype=np.float64))):
            raise NonFiniteWeights(f"{name} has NaN or infinite parameters; nothing was uploaded")


def _text_step(vec: Any) -> TextFeaturizer:
    p = vec.get_params()
    for key, ok in (("analyzer", "word"), ("preprocessor", None), ("tokenizer", None), ("stop_words", None),
                    ("strip_accents", None), ("input", "content")):
        if p.get(key, ok) != ok:
            raise UnsupportedOption(f"HashingVectorizer {key}={p[key]!r} is not supported (only {ok!r})")
    if p["token_pattern"] not in TOKEN_PATTERNS:
        raise UnsupportedOption(f"HashingVectorizer token_pattern={p['token_pattern']!r}: the chain runs "
                                f"only {list(TOKEN_PATTERNS)}")
    norm = "none" if p["norm"] is None else str(p["norm"])
    if norm not in ("none", "l1", "l2"):
        raise UnsupportedOption(f"HashingVectorizer norm={p['norm']!r}: only None, 'l1' or 'l2'")
    lo, hi = p["ngram_range"]
    pattern = str(p["token_pattern"] or DEFAULT_PATTERN)
    return TextFeaturizer(int(p["n_features"]), pattern, bool(p["lowercase"]), int(lo), int(hi),
                          bool(p["alternate_sign"]), bool(p["binary"]), norm)


def _scaling_step(scaler: Any) -> Scaling:
    _check_fitted(scaler)
    name = type(scaler).__name__
    n = int(scaler.n_features_in_)
    if name == "StandardScaler":
        scale = scaler.scale_ if scaler.with_std else np.ones(n)
        mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
        mult, add = 1.0 / np.asarray(scale, dtype=np.float64), -np.asarray(mean) / np.asarray(scale)
    elif name == "MinMaxScaler":
        if getattr(scaler, "clip", False):
            raise UnsupportedOption("MinMaxScaler(clip=True) is not supported (its clipping is not affine)")
        mult, add = np.asarray(scaler.scale_, dtype=np.float64), np.asarray(scaler.min_, dtype=np.float64)
    else:
        mult, add = 1.0 / np.asarray(scaler.scale_, dtype=np.float64), np.zeros(n)
    _finite(name, mult, add)
    return scaling_from_real(mult, add)


def scaling_from_real(mult: Any, add: Any) -> Scaling:
    """A Scaling from real multipliers and offsets: mult to Q.32, add to Q.16 (half to even)."""
    m, a = np.asarray(mult, dtype=np.float64), np.asarray(add, dtype=np.float64)
    if np.any(np.abs(m) >= 2.0 ** 29) or np.any(np.abs(a) >= 2.0 ** 31):
        raise UnsupportedOption("a scaler multiplier (>= 2**29) or offset (>= 2**31) is too large")
    return Scaling(tuple(int(v) for v in np.rint(m * 2.0 ** 32)), tuple(int(v) for v in np.rint(a * SCALE)))


def model_input_of(input_spec: dict[str, Any]) -> ModelInput:
    """The models-side ModelInput of an input_spec dict in the call's form (see `_spec_dict`)."""
    spec = InputSpec(input_spec["n_features"], input_spec["sparse"], input_spec["min_value"],
                     input_spec["max_value"], input_spec["max_nonzeros"])
    text, scaling = input_spec.get("text"), input_spec.get("scaling")
    featurizer = None if text is None else TextFeaturizer(
        spec.n_features, text["token_pattern"], text["lowercase"], text["ngram_min"], text["ngram_max"],
        text["alternate_sign"], text["binary"], text["norm"])
    step = None if scaling is None else Scaling(tuple(scaling["mult_q32"]), tuple(scaling["add_q16"]))
    return ModelInput(spec, featurizer, step)


def _spec_dict(spec: InputSpec, text: TextFeaturizer | None, scaling: Scaling | None) -> dict[str, Any]:
    out: dict[str, Any] = {"n_features": spec.n_features, "sparse": spec.sparse, "min_value": spec.min_value,
                           "max_value": spec.max_value, "max_nonzeros": spec.max_nonzeros,
                           "text": None, "scaling": None}
    if text is not None:
        out["text"] = {"token_pattern": text.token_pattern, "lowercase": text.lowercase,
                       "ngram_min": text.ngram_min, "ngram_max": text.ngram_max,
                       "alternate_sign": text.alternate_sign, "binary": text.binary, "norm": text.norm}
    if scaling is not None:
        out["scaling"] = {"mult_q32": list(scaling.mult_q32), "add_q16": list(scaling.add_q16)}
    return out


def _text_spec(text: TextFeaturizer, counts: bool) -> InputSpec:
    terms = min(text.n_features, (MAX_TEXT_BYTES // 2 + 1) * text.ngram_max)
    top = text.max_value
    low = 0 if counts or not text.alternate_sign else -top
    return InputSpec(text.n_features, True, low, top, terms)


# --- the kinds ---------------------------------------------------------------------------------------------


def _linear_parts(clf: Any) -> tuple[np.ndarray, np.ndarray]:
    name = type(clf).__name__
    if name == "BernoulliNB":
        if clf.binarize is not None:
            raise UnsupportedOption("BernoulliNB(binarize=...) is not supported: binarize the data yourself "
                                    "and fit BernoulliNB(binarize=None); the chain then takes 0/1 inputs")
        log_p, log_q = clf.feature_log_prob_, np.log1p(-np.exp(clf.feature_log_prob_))
        _finite(name, log_p, log_q, clf.class_log_prior_)
        return log_p - log_q, clf.class_log_prior_ + log_q.sum(axis=1)
    coef = np.atleast_2d(np.asarray(clf.coef_, dtype=np.float64))  # RidgeClassifier's binary coef_ is 1-D
    intercept = np.broadcast_to(np.asarray(clf.intercept_, dtype=np.float64), (coef.shape[0],))
    _finite(name, coef, intercept)
    if coef.shape[0] == 1:  # binary: class 1 when coef.x + b > 0, as the argmax of [0, coef.x + b]
        return np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    return coef, np.asarray(intercept)


def _perceptron(coef: np.ndarray, intercept: np.ndarray, labels: list[str], text: TextFeaturizer | None,
                scaling: Scaling | None, task: str, source: str) -> Converted:
    n_feat = coef.shape[1]
    if text is not None:
        spec = _text_spec(text, counts=False)
    else:
        largest = max(float(np.abs(coef).max(initial=0)), float(np.abs(intercept).max(initial=0)), 1e-300)
        if task != LOGISTIC_TASK:  # the argmax is the same for coef * 2**-k: make room for the inputs
            shift = _weight_shift(largest * SCALE, n_feat, INPUT_RANGE * SCALE)
            coef, intercept = coef / 2.0 ** shift, intercept / 2.0 ** shift
            largest /= 2.0 ** shift
        limit = _input_limit(max(1, int(np.rint(largest * SCALE))), n_feat)  # logistic: scores stay exact
        spec = InputSpec(n_feat, False, -limit, limit)
    q_coef, q_bias = np.rint(coef * SCALE).astype(np.int64), np.rint(intercept * SCALE).astype(np.int64)
    largest_q = max(1, int(np.abs(q_coef).max(initial=0)), int(np.abs(q_bias).max(initial=0)))
    kind_name = "sparse_perceptron" if spec.sparse else "dense_perceptron"
    kind = get_kind(kind_name)
    params = kind.resolve_params(spec, len(labels), {})
    if largest_q > params["weight_bound"]:
        raise UnsupportedOption(f"a coefficient of {largest_q / SCALE:.4g} is too large for this input range")
    flat = np.concatenate([q_bias, q_coef.reshape(-1)]).astype(np.int64)
    weights = kind.init_weights(spec, len(labels))
    weights = kind.validate(Weights(kind_name, spec, len(labels), weights.params, frozen(flat)))
    return Converted(kind_name, _spec_dict(spec, text, scaling), labels, weights, task, source)


def _weight_shift(largest_q16: float, terms: int, inputs_q16: int) -> int:
    """The smallest k >= 0 with weights / 2**k leaving room for inputs up to `inputs_q16` (Q.16)."""
    room = ((1 << 62) - 1) // (terms * inputs_q16 + SCALE)
    shift = 0
    while largest_q16 / 2.0 ** shift > room * 0.5:
        shift += 1
    return shift


def _input_limit(largest_weight_q16: int, terms: int) -> int:
    """The widest power-of-two input bound (Q.16) with terms * bound * largest weight below 2**62."""
    limit = min(MAX_ABS_VALUE, MAX_INPUT * SCALE)
    while limit > SCALE and (terms * limit + SCALE) * largest_weight_q16 >= (1 << 62) - 1:
        limit //= 2
    return limit


def _count_limit(terms: int) -> int:
    """The largest power-of-two count (Q.16) naive Bayes scores can take for `terms` features."""
    limit = MAX_ABS_VALUE
    while limit > SCALE and (terms * limit + SCALE) * LN_BOUND >= 1 << 62:
        limit //= 2
    return limit


def _alpha(clf: Any) -> tuple[int, int]:
    alpha = np.asarray(clf.alpha, dtype=np.float64)
    if alpha.ndim != 0:
        raise UnsupportedOption("MultinomialNB with a per-feature alpha is not supported")
    frac = Fraction(float(alpha)).limit_denominator(1 << 16)
    close = abs(float(frac) - float(alpha)) <= 1e-12 * max(1.0, float(alpha))
    if frac <= 0 or frac.numerator > 1 << 16 or not close:
        raise UnsupportedOption(f"alpha={float(alpha)} is not a fraction p/q with p, q <= 2**16")
    return frac.numerator, frac.denominator


def _centroid_range(mu_q16: np.ndarray, n_feat: int) -> tuple[int, int]:
    """The widest input range (Q.16) nearest_centroid allows for n_feat features (n_feat * width**2 <
    2**62): from 0 up when every centroid is non-negative (counts, pixels, measurements), else centred
    on the centroids."""
    width = min(math.isqrt(((1 << 62) - 1) // n_feat) - 1, 2 * MAX_ABS_VALUE)
    lo, hi = int(mu_q16.min()), int(mu_q16.max())
    if lo >= 0:
        return 0, min(width, MAX_ABS_VALUE)
    mid = (lo + hi) // 2
    low = max(mid - width // 2, -MAX_ABS_VALUE)
    return low, min(low + width, MAX_ABS_VALUE)


def _naive_bayes(clf: Any, labels: list[str], text: TextFeaturizer | None, scaling: Scaling | None,
                 source: str) -> Converted:
    if not clf.fit_prior or clf.class_prior is not None:
        raise UnsupportedOption("MultinomialNB needs fit_prior=True and class_prior=None (priors are counts)")
    if scaling is not None:
        raise UnsupportedOption("a scaler in front of MultinomialNB is not supported (it takes counts)")
    counts, examples = np.asarray(clf.feature_count_), np.asarray(clf.class_count_)
    _finite("MultinomialNB", counts, examples)
    if np.any(counts < 0) or np.any(examples != np.rint(examples)):
        raise UnsupportedOption("MultinomialNB counts must be non-negative, class counts whole numbers")
    a_num, a_den = _alpha(clf)
    n_feat = counts.shape[1]
    if text is not None:
        spec = _text_spec(text, counts=True)
    else:
        spec = InputSpec(n_feat, False, 0, _count_limit(n_feat))
    kind = get_kind("naive_bayes")
    mat = np.rint(counts * SCALE).astype(np.int64)
    flat = np.concatenate([examples.astype(np.int64), mat.sum(axis=1), mat.reshape(-1)])
    params = kind.resolve_params(spec, len(labels), {"alpha_num": a_num, "alpha_den": a_den})
    weights = kind.validate(Weights("naive_bayes", spec, len(labels), tuple(params.items()), frozen(flat)))
    return Converted("naive_bayes", _spec_dict(spec, text, None), labels, weights, "classification", source)


def _centroid(clf: Any, labels: list[str], text: TextFeaturizer | None, scaling: Scaling | None,
              source: str) -> Converted:
    if text is not None:
        raise UnsupportedOption("NearestCentroid behind a HashingVectorizer is not supported (dense only)")
    if clf.metric != "euclidean":
        raise UnsupportedOption(f"NearestCentroid(metric={clf.metric!r}): only 'euclidean'")
    prior = getattr(clf, "class_prior_", None)
    if prior is not None and not np.allclose(prior, 1 / len(labels)):
        raise UnsupportedOption("NearestCentroid(priors=...) other than 'uniform' is not supported")
    mu = np.asarray(clf.centroids_, dtype=np.float64)
    _finite("NearestCentroid", mu)
    spec = InputSpec(mu.shape[1], False, *_centroid_range(np.rint(mu * SCALE), mu.shape[1]))
    kind = get_kind("nearest_centroid")
    sums = np.rint(mu * SCALE).astype(np.int64)  # one example per class: the centroid is exactly its sum
    flat = np.concatenate([np.ones(len(labels), dtype=np.int64), sums.reshape(-1)])
    params = kind.resolve_params(spec, len(labels), {})
    params_t = tuple(params.items())
    weights = kind.validate(Weights("nearest_centroid", spec, len(labels), params_t, frozen(flat)))
    return Converted("nearest_centroid", _spec_dict(spec, None, scaling), labels, weights, "classification",
                     source)
