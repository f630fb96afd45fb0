"""The README's quickstart, run as written: its shell block is taken from README.md (so the document cannot
drift from what works) and run by bash, step by step, against a fresh `node.py --dev` process, with `cmu`,
`cmu-node` and `python` from this environment. It must end with the proof verified offline; then the chain
is asked what the story claims: bob refunded, eve's deposit taken by bob's report, versions certified.

Until `cmu model import` exists in this checkout (it comes from the onboarding work), and only then, the
import line is replaced by the same model converted here by hand (a LogisticRegression is a perceptron on
the same scores), uploaded and registered with the client library; the rest runs unchanged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "node"))

from node_harness import NodeProcess  # noqa: E402

from cmu.client.chain import Chain  # noqa: E402
from cmu.client.models import _event_field, _watch, upload_artifact  # noqa: E402
from cmu.client.rpc import Client  # noqa: E402
from cmu.models import SCALE, InputSpec, get_kind  # noqa: E402
from cmu.models.weights import Weights  # noqa: E402
from runtime.crypto import dev_keypair  # noqa: E402

MARKER = "<!-- quickstart:"
IMPORT_LINE = re.compile(r"^cmu --signer alice model import (\S+) --name (\S+)\s*$", re.MULTILINE)
BIN = Path(sys.executable).parent


def quickstart_script() -> str:
    """The first ```sh block after the quickstart marker in README.md."""
    text = (ROOT / "README.md").read_text()
    start = text.index(MARKER)
    found = re.search(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None, "README.md: no ```sh block after the quickstart marker"
    return found.group(1)


def import_command_exists() -> bool:
    """Whether this checkout's `cmu` has `model import`: False only when argparse names it an invalid
    choice (any other failure of `--help` fails the test)."""
    probe = subprocess.run([*_cmu(), "model", "import", "--help"], capture_output=True, text=True)
    missing = probe.returncode == 2 and "invalid choice: 'import'" in probe.stderr
    assert probe.returncode == 0 or missing, probe.stderr
    return not missing


def _cmu() -> list[str]:
    script = BIN / "cmu"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cmu.client"]


@pytest.fixture(scope="module")
def dev_node() -> Iterator[NodeProcess]:
    node = NodeProcess("--dev").start()  # as the README says: plain --dev
    yield node
    node.stop()
    node.close()


def _environment(tmp: Path, url: str) -> dict[str, str]:
    """PATH with `python`, `cmu` and `cmu-node` of this environment first; CMU_URL the test node's."""
    shims = tmp / "bin"
    shims.mkdir()
    commands = {"python": ""}  # a shim, not a symlink: a venv's python finds its venv by its own path
    commands.update({n: t for n, t in (("cmu", "-m client"), ("cmu-node", str(ROOT / "node.py")))
                     if not (BIN / n).exists()})  # not installed as scripts here: run the modules
    for name, target in commands.items():
        (shims / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" {target} "$@"\n')
        (shims / name).chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shims), str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["CMU_URL"] = url
    env.pop("CMU_SIGNER", None)
    return env


def _run(script: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-x", "-c", script],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"the quickstart failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def register_by_hand(url: str, path: Path, name: str) -> int:
    """What `model import` does for a multiclass LogisticRegression, by hand: its coefficients and
    intercepts in Q.16 are a dense perceptron's weights (the same argmax), uploaded and registered."""
    import joblib

    clf = joblib.load(path)
    kind = get_kind("dense_perceptron")
    spec = InputSpec(4, False, 0, 8 * SCALE)
    labels = ["setosa", "versicolor", "virginica"]
    template = kind.init_weights(spec, len(labels))
    flat = np.concatenate([np.round(clf.intercept_ * SCALE), np.round(clf.coef_ * SCALE).ravel()])
    values = flat.astype(np.int64)
    values.flags.writeable = False
    weights = Weights(template.kind, spec, len(labels), template.params, values)
    alice = dev_keypair("alice")
    with Client(url, timeout=60) as client:
        chain = Chain(client)
        root = upload_artifact(chain, alice, kind.encode(weights))
        args = {
            "name": name, "description": "", "task": "classification", "kind": "dense_perceptron",
            "input_spec": {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * SCALE,
                           "max_nonzeros": 0},
            "labels": labels, "license": "", "artifact": "0x" + root.hex(),
        }  # fmt: skip
        receipt = _watch(chain, alice, "ModelRegistry.register", args, 60.0)
        return int(_event_field(receipt, "ModelRegistered", "model"))


def _contributions(node: NodeProcess) -> dict[int, dict[str, Any]]:
    page = node.rpc("training_contributions", 0, None, 0, 10)
    return {c["contribution"]: c for c in page["contributions"]}


def test_the_readme_quickstart_runs_as_written_and_ends_with_a_verified_proof(
    dev_node: NodeProcess, tmp_path: Path
) -> None:
    started = time.monotonic()
    script = quickstart_script()
    env = _environment(tmp_path, dev_node.url.rstrip("/"))
    found = IMPORT_LINE.search(script)
    assert found is not None, "the quickstart imports its model with `cmu --signer alice model import`"
    if import_command_exists():
        output = _run(script, tmp_path, env)
    else:  # only while `cmu model import` is missing here: the same model, converted by hand
        before, after = script[: found.start()], script[found.end() :]
        output = _run(before, tmp_path, env)
        assert register_by_hand(dev_node.url, tmp_path / found.group(1), found.group(2)) == 0
        output += _run(after, tmp_path, env)
    proven = json.loads(output[output.rindex('{\n  "verified"') :] if '"verified"' in output else "{}")
    assert proven.get("verified") is True and (proven["model"], proven["version"]) == (0, 3), output
    assert proven["signers"] == ["alice"] and proven["chain"] == "Development"
    statuses = {cid: c["status"] for cid, c in _contributions(dev_node).items()}
    assert statuses == {0: "Refunded", 1: "Taken", 2: "Open"}, statuses  # bob's report took eve's deposit
    assert proven["cause"] == "TRAINING" and proven["parent"] == 2
    assert time.monotonic() - started < 300
