"""Fixtures of the dashboard's tests: one dev node process (instant seal) with models registered over
the CLI, and one headless Debian chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

from node_harness import REPO, NodeProcess, _env

from models import SCALE, InputSpec, get_kind
from service.dashboard.web import bundle_built

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LABELS = ["setosa", "versicolor", "virginica"]
SIGN_CLI = REPO / "service" / "dashboard" / "static" / "dist" / "sign_cli.mjs"


def require_browser() -> None:
    """Skip (with the reason) when the bundle or chromium is missing: `./run.sh test` provides both."""
    if not bundle_built():
        pytest.skip("the dashboard bundle is not built (./run.sh test builds it)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./run.sh test installs it as root)")


def cmu(node: NodeProcess, *args: str) -> str:
    """Run the `cmu` CLI against the node; its stdout (a failure raises with stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "client", "--url", node.url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=_env(),
    )
    if done.returncode != 0:
        raise AssertionError(f"cmu {' '.join(args)} failed: {done.stdout}\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    require_browser()
    process = NodeProcess("--dev", "--seal", "instant").start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


def iris_weights_file(directory: Path) -> Path:
    """A dense perceptron trained on iris in fixed point, encoded as the kind's artifact."""
    from sklearn.datasets import load_iris

    data = load_iris()
    order = np.random.default_rng(11).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    kind = get_kind("dense_perceptron")
    weights = kind.init_weights(InputSpec(4, False, 0, 8 * SCALE), 3)
    for _ in range(3):
        weights = kind.train(weights, kind.quantize(x[:120], weights.spec), y[:120])
    path = directory / "iris.cmuw"
    path.write_bytes(kind.encode(weights))
    return path


def register_iris(node: NodeProcess, weights: Path, name: str) -> int:
    """Upload the weights and register a model over the CLI; its id."""
    root = re.search(r"0x[0-9a-f]{64}", cmu(node, "--signer", "alice", "model", "upload", str(weights)))
    assert root is not None
    out = cmu(
        node,
        "--signer",
        "alice",
        "model",
        "register",
        "--name",
        name,
        "--kind",
        "dense_perceptron",
        "--features",
        "4",
        "--labels",
        ",".join(LABELS),
        "--min",
        "0",
        "--max",
        "8",
        "--license",
        "MIT",
        "--artifact",
        root.group(0),
    )
    found = re.search(r"model (\d+) registered", out)
    assert found is not None, out
    return int(found.group(1))


@pytest.fixture(scope="module")
def chain_models(node: NodeProcess) -> dict[str, int]:
    """iris (public, Stake training, a one-hour refund wait) and vault (permissioned), over the CLI."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = iris_weights_file(Path(tmp))
        iris = register_iris(node, weights, "iris")
        vault = register_iris(node, weights, "vault")
    cmu(
        node,
        "--signer",
        "alice",
        "tx",
        "Training.set_config",
        f"model={iris}",
        "enabled=true",
        "mechanism=Stake",
        "refund_wait_s=3600",
        "owner_claim_wait_s=864000",
        "any_claim_wait_s=950400",
        "cost_weight=1000",
        "batch_limit=16",
    )
    cmu(
        node,
        "--signer",
        "alice",
        "tx",
        "Access.set_policy",
        f"model={vault}",
        "visibility=Permissioned",
        "training=Open",
    )
    return {"iris": iris, "vault": vault}


@pytest.fixture(scope="module")
def browser_page(node: NodeProcess) -> Iterator[Any]:
    """One page of a fresh headless chromium profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="cmu-dash-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        yield page
        context.close()
    shutil.rmtree(profile, ignore_errors=True)
