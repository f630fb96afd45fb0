# ruff: noqa: F811  (node_url is a fixture imported from test_cli_e2e; test arguments shadow it)
"""End to end against a real node: upload a trained model in chunks, register it, predict from the CLI,
download and verify it by hash; a tampered download and bad prediction input are refused by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris
from test_cli_e2e import cmu, cmu_json, node_url  # noqa: F401  (node_url is a fixture)

from cmu.client.chain import Chain
from cmu.client.errors import RpcError
from cmu.client.models import DownloadRefused, download_artifact
from cmu.client.rpc import Client
from cmu.formats import artifact as art
from cmu.models import SCALE, InputSpec, get_kind

LABELS = "setosa,versicolor,virginica"


@pytest.fixture(scope="module")
def iris_model() -> tuple[Any, Any, np.ndarray]:
    """A dense perceptron trained on iris in fixed point, and its held-out rows."""
    data = load_iris()
    order = np.random.default_rng(7).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    kind = get_kind("dense_perceptron")
    spec = InputSpec(4, False, 0, 8 * SCALE)
    weights = kind.init_weights(spec, 3)
    for _ in range(3):
        weights = kind.train(weights, kind.quantize(x[:120], spec), y[:120])
    return kind, weights, x[120:]


def _register(url: str, root: str, signer: str = "alice") -> int:
    answer = cmu_json(
        url,
        "--signer",
        signer,
        "model",
        "register",
        "--name",
        "iris",
        "--kind",
        "dense_perceptron",
        "--features",
        "4",
        "--labels",
        LABELS,
        "--min",
        "0",
        "--max",
        "8",
        "--artifact",
        root,
    )
    return int(answer["model"])


@pytest.fixture(scope="module")
def iris_on_chain(node_url: str, iris_model: Any, tmp_path_factory: Any) -> tuple[Path, str, int]:
    """The trained model uploaded with the CLI (chunked upload) and registered: (file, root, model id)."""
    kind, weights, _ = iris_model
    file = tmp_path_factory.mktemp("iris") / "iris.cmuw"
    file.write_bytes(kind.encode(weights))
    uploaded = cmu_json(node_url, "--signer", "alice", "model", "upload", str(file))
    assert uploaded["root"] == "0x" + art.artifact_root(file.read_bytes()).hex()
    return file, uploaded["root"], _register(node_url, uploaded["root"])


def test_a_second_account_uploading_the_same_bytes_claims_them_and_registers(
    node_url: str, iris_on_chain: Any
) -> None:
    file, root, _model = iris_on_chain
    uploaded = cmu_json(node_url, "--signer", "charlie", "model", "upload", str(file))
    assert uploaded["root"] == root
    claim = cmu_json(node_url, "query", "ModelRegistry.claims", root, "charlie")
    assert claim == len(file.read_bytes()) * 1_000  # DEPOSIT_PER_BYTE, held by charlie
    model = _register(node_url, root, signer="charlie")
    shown = cmu_json(node_url, "model", "get", str(model))
    assert shown["artifact"] == root


def test_upload_register_predict_and_download(
    node_url: str,
    iris_model: Any,
    iris_on_chain: Any,
    tmp_path: Path,
) -> None:
    kind, weights, held_out = iris_model
    file, _root, model = iris_on_chain
    rows = [list(map(float, row)) for row in held_out[:5]]
    answer = cmu_json(node_url, "model", "predict", str(model), *[json.dumps(r) for r in rows])
    expected, _ = kind.predict(weights, kind.quantize(rows, weights.spec))
    assert [p["label"] for p in answer["predictions"]] == [int(v) for v in expected]
    out = tmp_path / "down.cmuw"
    shown = cmu_json(node_url, "model", "download", str(model), "--output", str(out))
    assert shown["verified"] and out.read_bytes() == file.read_bytes()


def test_large_artifact_uploads_in_chunks_and_downloads_verified(node_url: str, tmp_path: Path) -> None:
    data = np.random.default_rng(3).integers(0, 256, size=3 * art.CHUNK_SIZE + 777, dtype=np.uint8).tobytes()
    file = tmp_path / "blob.bin"
    file.write_bytes(data)
    root = cmu_json(node_url, "--signer", "bob", "model", "upload", str(file))["root"]
    with Client(node_url) as client:
        got = download_artifact(Chain(client), bytes.fromhex(root[2:]))
    assert got.data == data and art.chunk_count(len(data)) == 4


def _tampered(client: Client, change: Any) -> Any:
    def fetch(method: str, params: list[Any]) -> Any:
        answer = client.request(method, params)
        change(answer)
        return answer

    return fetch


def _flip_chunk(answer: dict[str, Any]) -> None:
    chunk = bytearray.fromhex(answer["chunks"][0][2:])
    chunk[0] ^= 1
    answer["chunks"][0] = "0x" + chunk.hex()


def _flip_proof(answer: dict[str, Any]) -> None:
    node = bytearray.fromhex(answer["proof"][0][2:])
    node[-1] ^= 1
    answer["proof"][0] = "0x" + node.hex()


def _lie_about_root(answer: dict[str, Any]) -> None:
    answer["stateRoot"] = "0x" + "11" * 32


@pytest.mark.parametrize("change", [_flip_chunk, _flip_proof])
def test_corrupted_download_is_refused(node_url: str, iris_on_chain: Any, change: Any) -> None:
    _file, root, _model = iris_on_chain
    with Client(node_url) as client, pytest.raises(DownloadRefused):
        download_artifact(Chain(client), bytes.fromhex(root[2:]), fetch=_tampered(client, change))


def test_download_ignores_the_state_root_the_answer_claims(
    node_url: str, iris_model: Any, tmp_path: Path
) -> None:
    kind, weights, _ = iris_model
    file = tmp_path / "m.cmuw"
    file.write_bytes(kind.encode(weights))
    root = cmu_json(node_url, "--signer", "dave", "model", "upload", str(file))["root"]
    with Client(node_url) as client:
        got = download_artifact(
            Chain(client), bytes.fromhex(root[2:]), fetch=_tampered(client, _lie_about_root)
        )
    assert got.data == file.read_bytes()


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([[1.0, 2.0, 3.0]], "WrongFeatureCount"),
        ([[1.0, 2.0, 3.0, 99.0]], "OutOfRange"),
        ([[1.0, 2.0, 3.0, "x"]], "WrongType"),
        ("not rows", "TextForNumericModel"),  # a string is a document: this model takes numbers
        ({"rows": []}, "BadRows"),
    ],
)
def test_predict_refuses_bad_input_by_name(
    node_url: str, iris_model: Any, tmp_path: Path, rows: Any, error: str
) -> None:
    kind, weights, _ = iris_model
    file = tmp_path / "m.cmuw"
    file.write_bytes(kind.encode(weights))
    root = cmu_json(node_url, "--signer", "eve", "model", "upload", str(file))["root"]
    model = _register(node_url, root)
    with Client(node_url) as client, pytest.raises(RpcError) as caught:
        client.request("model_predict", [model, rows])
    assert caught.value.code == 4000 and caught.value.data["error"] == error


def test_predict_refuses_nan_infinity_and_unknown_models(node_url: str) -> None:
    with Client(node_url) as client:
        for rows, error in (([[float("nan")] * 4], "NotFinite"), ([[float("inf")] * 4], "NotFinite")):
            with pytest.raises(RpcError) as caught:
                client.request("model_predict", [0, rows])
            assert caught.value.data["error"] in (error, "UnknownModel")
        with pytest.raises(RpcError) as caught:
            client.request("model_predict", [999_999, [[1.0, 2.0, 3.0, 4.0]]])
        assert caught.value.data["error"] == "UnknownModel"
