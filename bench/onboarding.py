"""Benchmark: scikit-learn models brought on chain. Each supported estimator is fitted on 70 % of
scikit-learn's bundled iris, wine, breast_cancer and digits sets and of make_gaussian_quantiles, imported
into a real dev node (`client.onboarding.import_estimator`: convert, upload, register) and asked for the
other 30 % through `cmu model predict --file rows.csv --json` (the CLI, over the node's RPC); agreement
is the share of those rows whose chain label equals sklearn's `predict`. A text pipeline
(HashingVectorizer + SGDClassifier on generated reviews, seed 11) is checked the same way with documents.
Then a 4 MiB artifact is uploaded through `client.models.upload_artifact` on a `--dev` node as it starts
by default (or with --upload-seal). The onboarding tests use other data (make_classification,
make_blobs, reviews of other seeds).
Last line: agreement_min=<x> estimators=<n> datasets=<n> upload_4mib_s=<n>
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cmu.client.chain import Chain  # noqa: E402
from cmu.client.models import upload_artifact  # noqa: E402
from cmu.client.onboarding import import_estimator  # noqa: E402
from cmu.client.rpc import Client  # noqa: E402
from cmu.scenarios.textdata import corpus  # noqa: E402
from runtime.crypto import dev_keypair  # noqa: E402

DATASETS = ("iris", "wine", "breast_cancer", "digits", "gaussian_quantiles")
LISTENING = re.compile(r"RPC listening on (http://127\.0\.0\.1:\d+)")


def estimators() -> dict[str, Callable[[], Any]]:
    """Each supported estimator (and each scaler in front of one), unfitted."""
    from sklearn.linear_model import LogisticRegression, Perceptron, RidgeClassifier, SGDClassifier
    from sklearn.naive_bayes import BernoulliNB, MultinomialNB
    from sklearn.neighbors import NearestCentroid
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
    from sklearn.svm import LinearSVC

    return {
        "LogisticRegression": lambda: LogisticRegression(max_iter=5000),
        "Perceptron": lambda: Perceptron(random_state=0),
        "SGDClassifier": lambda: SGDClassifier(random_state=0),
        "LinearSVC": lambda: LinearSVC(max_iter=20000),
        "RidgeClassifier": RidgeClassifier,
        "MultinomialNB": MultinomialNB,
        "BernoulliNB": lambda: BernoulliNB(binarize=None),
        "NearestCentroid": NearestCentroid,
        "StandardScaler+LogisticRegression": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        "MinMaxScaler+Perceptron": lambda: make_pipeline(MinMaxScaler(), Perceptron(random_state=0)),
        "MaxAbsScaler+LinearSVC": lambda: make_pipeline(MaxAbsScaler(), LinearSVC(max_iter=20000)),
        "StandardScaler+NearestCentroid": lambda: make_pipeline(StandardScaler(), NearestCentroid()),
    }


def split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """70/30 split of a bundled data set (seeded)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name == "gaussian_quantiles":  # generated (seeded), shifted to non-negative values for the NBs
        x, y = datasets.make_gaussian_quantiles(n_samples=600, n_features=6, n_classes=3, random_state=2)
        x = np.clip(x + 8.0, 0.0, None)
    else:
        x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    parts = train_test_split(np.asarray(x, dtype=np.float64), y, test_size=0.3, random_state=0, stratify=y)
    return parts[0], parts[1], parts[2], parts[3]


@contextmanager
def dev_node(seal: str | None) -> Iterator[str]:
    """A dev node on a free loopback port (throw-away database; `seal` None: the dev default); its url."""
    sealing = [] if seal is None else ["--seal", seal]
    command = [sys.executable, str(REPO / "node.py"), "--dev", "--tmp", "--rpc-port", "0", *sealing,
               "--no-prometheus"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and process.stdout is not None:
            line = process.stdout.readline()
            if not line:
                break
            found = LISTENING.search(line)
            url = found.group(1) if found else None
        if url is None:
            raise RuntimeError("the dev node did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def cmu_predict(url: str, model: int, path: Path) -> list[str]:
    """`cmu model predict MODEL --file PATH --json`: the chain's label names."""
    script = Path(sys.executable).with_name("cmu")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "cmu.client"]
    argv = [*program, "--url", url, "--json", "model", "predict", str(model), "--file", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return [p["name"] for p in json.loads(done.stdout)["predictions"]]


def agreement(url: str, chain: Chain, estimator: Any, rows: Any, work: Path, name: str) -> float:
    """Import `estimator`, predict `rows` through the CLI, compare with sklearn's predict."""
    done = import_estimator(chain, dev_keypair("alice"), estimator, name=name[:64])
    path = work / f"{done.model}.{'txt' if isinstance(rows[0], str) else 'csv'}"
    if isinstance(rows[0], str):
        path.write_text("\n".join(rows))
    else:
        np.savetxt(path, rows, delimiter=",", fmt="%.17g")
    chain_labels = cmu_predict(url, done.model, path)
    expected = [str(v) for v in estimator.predict(rows)]
    return float(np.mean(np.array(chain_labels) == np.array(expected)))


def numeric_agreements(url: str, chain: Chain, work: Path) -> dict[tuple[str, str], float]:
    results: dict[tuple[str, str], float] = {}
    for data in DATASETS:
        x_train, x_test, y_train, _ = split(data)
        for name, make in estimators().items():
            xa, xb = x_train, x_test
            if name == "BernoulliNB":  # BernoulliNB(binarize=None) takes 0/1 inputs: binarize at the median
                cut = np.median(x_train, axis=0)
                xa, xb = (x_train > cut).astype(np.float64), (x_test > cut).astype(np.float64)
            estimator = make().fit(xa, y_train)
            results[name, data] = agreement(url, chain, estimator, xb, work, f"{name} {data}")
            print(f"{data:14s} {name:34s} agreement={results[name, data]:.4f} rows={len(xb)}", flush=True)
    return results


def text_agreement(url: str, chain: Chain, work: Path) -> float:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    docs, labels = corpus(1_000, seed=11)
    vectorizer = HashingVectorizer(n_features=2**14, ngram_range=(1, 2))
    pipe = make_pipeline(vectorizer, SGDClassifier(random_state=0))
    pipe.fit(docs[:700], labels[:700])
    found = agreement(url, chain, pipe, docs[700:], work, "reviews")
    name = "HashingVectorizer+SGDClassifier"
    print(f"{'reviews':14s} {name:34s} agreement={found:.4f} rows=300", flush=True)
    return found


def upload_seconds(seal: str | None) -> float:
    """Seconds to upload 4 MiB of fresh bytes through client.models.upload_artifact."""
    data = os.urandom(4 * 1024 * 1024)
    with dev_node(seal) as url, Client(url, timeout=120) as client:
        chain = Chain(client)
        start = time.perf_counter()
        upload_artifact(chain, dev_keypair("alice"), data, timeout=300)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upload-seal", default=None, help="the upload node's --seal (default: --dev's)")
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp, dev_node("instant") as url, Client(url, timeout=120) as client:
        chain = Chain(client)
        results = numeric_agreements(url, chain, Path(tmp))
        text = text_agreement(url, chain, Path(tmp))
    upload = float("nan") if args.skip_upload else upload_seconds(args.upload_seal)
    least = min([*results.values(), text])
    names = {name for name, _ in results}
    print(f"agreement_min={least:.4f} estimators={len(names) + 1} datasets={len(DATASETS)} "
          f"upload_4mib_s={upload:.1f}")


if __name__ == "__main__":
    main()
