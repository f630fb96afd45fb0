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

from cmu.client.chain import Chain, Receipt
from cmu.client.confidential import make_permissioned
from cmu.client.rpc import Client
from cmu.models import SCALE, InputSpec, get_kind
from cmu.node.dashboard.web import bundle_built
from runtime.crypto import dev_keypair

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
SIGN_CLI = REPO / "cmu" / "node" / "dashboard" / "static" / "dist" / "sign_cli.mjs"


def require_browser() -> None:
    """Skip (with the reason) when the bundle or chromium is missing: `./run.sh test` provides both."""
    if not bundle_built():
        pytest.skip("the dashboard bundle is not built (./run.sh test builds it)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./run.sh test installs it as root)")


def cmu(node: NodeProcess, *args: str) -> str:
    """Run the `cmu` CLI against the node; its stdout (a failure raises with stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", node.url, *args],
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


def register_iris(node: NodeProcess, weights: Path, name: str) -> tuple[int, str]:
    """Upload the weights and register a model over the CLI: (its id, the artifact root)."""
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
    return int(found.group(1)), root.group(0)


@pytest.fixture(scope="module")
def chain(node: NodeProcess) -> Iterator[Chain]:
    """The client library on the node (in process: quicker than more CLI runs)."""
    with Client(node.url, timeout=60) as client:
        yield Chain(client)


def tx(chain: Chain, who: str, call: str, /, **args: Any) -> Receipt:
    """Sign `call(args)` as dev account `who` and wait for its block; fails the test if the call fails."""
    receipt = chain.submit_and_watch(chain.sign(dev_keypair(who), chain.compose(call, args)))
    assert receipt.success, f"{call}: {receipt.error} {receipt.message}"
    return receipt


@pytest.fixture(scope="module")
def chain_models(node: NodeProcess, chain: Chain) -> dict[str, int]:
    """iris (registered over the CLI; Stake training with a one-hour refund wait) and vault (the same
    weights, permissioned), with the client library."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = iris_weights_file(Path(tmp))
        iris, root = register_iris(node, weights, "iris")
        plaintext = weights.read_bytes()
    spec = {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * SCALE, "max_nonzeros": 0}
    receipt = tx(
        chain,
        "alice",
        "ModelRegistry.register",
        name="vault",
        description="",
        task="classification",
        kind="dense_perceptron",
        input_spec=spec,
        labels=LABELS,
        license="MIT",
        artifact=root,
    )
    vault = next(e["fields"]["model"] for e in receipt.events if e["event"] == "ModelRegistered")
    tx(
        chain,
        "alice",
        "Training.set_config",
        model=iris,
        enabled=True,
        mechanism="Stake",
        refund_wait_s=3600,
        owner_claim_wait_s=864000,
        any_claim_wait_s=950400,
        cost_weight=1000,
        batch_limit=16,
    )
    # A permissioned model's weights are always encrypted: publish them as a confidential version first.
    make_permissioned(chain, dev_keypair("alice"), int(vault), plaintext, training="Open", timeout=60)
    return {"iris": iris, "vault": int(vault)}


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
