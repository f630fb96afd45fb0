# ruff: noqa: F811  (node_url is a fixture imported from test_cli_e2e; test arguments shadow it)
"""End to end against a real dev node: publish and roll back versions with `cmu tx`, then read them with
`cmu model history|verify|diff`, predict at a version and download a rebuilt (delta) version verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_cli_e2e import cmu, cmu_json, node_url  # noqa: F401  (node_url is a fixture)

from cmu.formats import artifact as art
from cmu.models import SCALE, InputSpec, get_kind

SPEC = InputSpec(4, False, 0, 8 * SCALE)
ROW = "[5.1, 3.5, 1.4, 0.2]"


def _weights() -> tuple[bytes, bytes]:
    """(initial weights, weights after a little training) of a 4-feature, 3-label dense perceptron."""
    kind = get_kind("dense_perceptron")
    start = kind.init_weights(SPEC, 3)
    rows = kind.quantize([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]], SPEC)
    trained = kind.train(start, rows, [0, 2, 1])
    return kind.encode(start), kind.encode(trained)


def _tx(url: str, *argv: str) -> None:
    result = cmu(url, "--signer", "alice", "tx", *argv, "--wait")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def versioned(node_url: str, tmp_path_factory: Any) -> dict[str, Any]:
    """A model with version 1 (a published upload) and version 2 (a rollback to version 0)."""
    initial, trained = _weights()
    registered = cmu_json(
        node_url, "--signer", "alice", "model", "register", "--name", "flowers", "--kind", "dense_perceptron",
        "--features", "4", "--labels", "a,b,c", "--min", "0", "--max", "8",
    )
    model = str(registered["model"])
    file = tmp_path_factory.mktemp("v") / "trained.cmuw"
    file.write_bytes(trained)
    root = cmu_json(node_url, "--signer", "alice", "model", "upload", str(file))["root"]
    _tx(node_url, "Versioning.publish_version", f"model={model}", f"artifact={root}", "tag=v1",
        "notes_hash=none", "metrics=[]")
    _tx(node_url, "Versioning.rollback", f"model={model}", "version=0", "notes_hash=none")
    return {"model": model, "root": root, "initial": initial, "trained": trained}


def test_history_lists_every_version_with_block_extrinsic_and_cause(node_url: str, versioned: Any) -> None:
    page = cmu_json(node_url, "model", "history", versioned["model"])
    rows = [(v["version"], v["parent"], v["cause"], v["tag"]) for v in page["versions"]]
    assert rows == [(0, None, "upload", None), (1, 0, "upload", "v1"), (2, 0, "rollback", None)]
    assert page["versions"][1]["artifact"] == versioned["root"]
    assert all(v["extrinsic"] == 1 and v["block"] > 0 for v in page["versions"][1:])  # instant seal
    text = cmu(node_url, "model", "history", versioned["model"])
    assert text.returncode == 0 and "rollback" in text.stdout and "tag v1" in text.stdout


def test_verify_and_diff_from_the_cli(node_url: str, versioned: Any) -> None:
    model, root = versioned["model"], versioned["root"]
    assert cmu_json(node_url, "model", "verify", model, "1", root)["valid"]
    refused = cmu(node_url, "model", "verify", model, "2", root)
    assert refused.returncode == 1 and "false" in refused.stdout
    assert cmu_json(node_url, "model", "diff", model, "0", "1")["changed"] == [0]
    assert cmu_json(node_url, "model", "diff", model, "0", "2")["changed"] == []


def test_predict_at_a_version_and_by_default(node_url: str, versioned: Any) -> None:
    model = versioned["model"]

    def scores(*extra: str) -> Any:
        answer = cmu_json(node_url, "model", "predict", model, ROW, *extra)
        return answer["version"], answer["predictions"][0]["scores"]

    latest, v0, v1 = scores(), scores("--version", "0"), scores("--version", "1")
    assert latest[0] == 2 and latest[1] == v0[1] != v1[1]  # the rollback predicts like version 0
    assert scores("--version", "latest") == latest
    _tx(node_url, "Versioning.set_channel", f"model={model}", "channel=stable", "version=1")
    assert scores() == v1  # stable, once set, is the default


def test_download_a_rebuilt_version_verified(node_url: str, versioned: Any, tmp_path: Path) -> None:
    out = tmp_path / "v2.cmuw"
    got = cmu_json(node_url, "model", "download", versioned["model"], "--version", "2", "-o", str(out))
    assert got["verified"] and out.read_bytes() == versioned["initial"]
    assert got["root"] == "0x" + art.artifact_root(versioned["initial"]).hex()
    unknown = cmu(node_url, "model", "download", versioned["model"], "--version", "9", "-o", str(out))
    assert unknown.returncode != 0 and "UnknownVersion" in unknown.stderr
