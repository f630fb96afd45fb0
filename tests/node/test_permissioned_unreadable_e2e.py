"""Permissioned means unreadable, end to end over a real `node.py --dev --seal instant` process: alice
registers a Permissioned model with `cmu model register --permissioned --weights FILE` (the CLI encrypts the
weights before upload), and no read path gives its plaintext weights to anyone: state_getStorage on the raw
keys of every chunk, model_download (by id and by root), chain_getBlock bodies of every block (the upload
extrinsics), `node.py export-blocks` output and `cmu query ModelRegistry.models/chunks` are searched for the
plaintext bytes and for a distinctive 16-byte piece of them. The same searches find the ciphertext (so they
look where the bytes would be). A Reader (bob, shared at registration) and a pass buyer (charlie, given the
key by `cmu model share-key --pending`) predict locally what the plaintext model predicts; the node
answers ConfidentialModel to them and AccessDenied to dave, who holds no role."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from node_harness import REPO, NodeProcess, run_cli

from cmu.client import models
from cmu.client.chain import Chain, hex_of
from cmu.client.errors import RpcError
from cmu.client.rpc import Client
from cmu.models import SCALE, InputSpec, get_kind
from runtime.crypto import dev_keypair

ALICE, BOB, CHARLIE, DAVE = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave"))
PRICE = 5 * 10**12


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", url, "--json", *argv],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )


def distinctive(data: bytes, size: int = 16, public: bytes = b"") -> bytes:
    """The `size`-byte window of `data` with the most distinct byte values (not a run of zeros) that
    `public` bytes (e.g. the kind's initial weights, whose header every encoding shares) do not hold."""
    starts = [i for i in range(len(data) - size + 1) if data[i : i + size] not in public]
    best = max(starts, key=lambda i: (len(set(data[i : i + size])), -i))
    return data[best : best + size]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A node with alice's permissioned iris model; yields what the tests need, stops the node at the end."""
    base = tmp_path_factory.mktemp("permissioned")
    node = NodeProcess("--dev", "--seal", "instant", "--base-path", str(base / "db")).start()
    try:
        with Client(node.url, timeout=120) as client:
            yield setup(node, Chain(client), base)
    finally:
        node.stop()
        node.close()


def setup(node: NodeProcess, chain: Chain, base: Path) -> dict[str, Any]:
    from sklearn.datasets import load_iris

    data = load_iris()
    kind = get_kind("dense_perceptron")
    initial = kind.init_weights(InputSpec(4, False, 0, 8 * SCALE), 3)
    weights = kind.train(initial, kind.quantize(data.data[::2], initial.spec), data.target[::2])
    plaintext = kind.encode(weights)
    rows = [list(map(float, r)) for r in data.data[1::15]]
    expected = [int(v) for v in kind.predict(weights, kind.quantize(np.array(rows), weights.spec))[0]]
    file = base / "iris.cmuw"
    file.write_bytes(plaintext)
    registered = cmu(
        node.url, "--signer", "alice", "model", "register", "--name", "iris", "--kind", "dense_perceptron",
        "--features", "4", "--labels", "setosa,versicolor,virginica", "--min", "0", "--max", "8",
        "--permissioned", "--weights", str(file), "--share", "bob",
    )
    assert registered.returncode == 0, registered.stderr
    model = int(json.loads(registered.stdout)["model"])
    return {"node": node, "chain": chain, "model": model, "plaintext": plaintext, "rows": rows,
            "expected": expected, "base": base, "piece": distinctive(plaintext, public=kind.encode(initial))}


def assert_hidden(world: dict[str, Any], blob: bytes, where: str) -> None:
    """Neither the plaintext nor its distinctive piece, raw or hex-encoded, is in `blob`."""
    for secret in (world["plaintext"], world["piece"]):
        assert secret not in blob, f"plaintext weights in {where}"
        assert secret.hex().encode() not in blob.lower(), f"hex of plaintext weights in {where}"


def ciphertext(world: dict[str, Any]) -> bytes:
    root = world["chain"].query("Access.confidential", [world["model"]]).value["artifact"]
    return models.download_artifact(world["chain"], bytes.fromhex(root[2:]), signer=BOB).data


def model_roots(world: dict[str, Any]) -> list[str]:
    """Every artifact root of the model: the registry's (its kind's initial weights) and the confidential."""
    chain, model = world["chain"], world["model"]
    return [chain.query("ModelRegistry.models", [model]).value["artifact"],
            chain.query("Access.confidential", [model]).value["artifact"]]


def test_raw_state_of_every_chunk_holds_no_plaintext(world: dict[str, Any]) -> None:
    chain, node = world["chain"], world["node"]
    raw_values = []
    for root in model_roots(world):
        manifest = chain.query("ModelRegistry.artifacts", [root]).value
        for chunk in manifest["chunks"]:
            key = chain.metadata.storage_key("ModelRegistry.chunks", [chunk])
            value = node.rpc("state_getStorage", hex_of(key))
            assert value is not None
            raw_values.append(bytes.fromhex(value[2:]))
    blob = b"".join(raw_values)
    assert_hidden(world, blob, "state_getStorage of the chunks")
    assert distinctive(ciphertext(world)) in blob  # the search looks where the weights are


def test_model_download_gives_no_plaintext(world: dict[str, Any]) -> None:
    chain, model = world["chain"], world["model"]
    for who in (None, DAVE):
        with pytest.raises(RpcError) as caught:
            models.download_artifact(chain, model, signer=who)
        assert caught.value.data["error"] == "AccessDenied"
    for root in model_roots(world):
        try:
            got = models.download_artifact(chain, bytes.fromhex(root[2:]), signer=DAVE).data
        except RpcError as exc:
            assert exc.data["error"] == "UnknownArtifact"
            continue
        assert_hidden(world, got, f"model_download of {root}")
    assert_hidden(world, models.download_artifact(chain, model, signer=BOB).data, "a Reader's download")


def test_block_bodies_hold_no_plaintext(world: dict[str, Any]) -> None:
    node = world["node"]
    bodies = []
    for number in range(node.best_number() + 1):
        block = node.rpc("chain_getBlock", node.rpc("chain_getBlockHash", number))
        bodies.extend(bytes.fromhex(x[2:]) for x in block["block"]["extrinsics"])
        bodies.append(json.dumps(block).encode())
    blob = b"".join(bodies)
    assert_hidden(world, blob, "chain_getBlock bodies")
    assert distinctive(ciphertext(world)) in blob


def test_cmu_query_of_the_registry_shows_no_plaintext(world: dict[str, Any]) -> None:
    url, chain = world["node"].url, world["chain"]
    outputs = [cmu(url, "query", "ModelRegistry.models", str(world["model"]))]
    for root in model_roots(world):
        for chunk in chain.query("ModelRegistry.artifacts", [root]).value["chunks"]:
            outputs.append(cmu(url, "query", "ModelRegistry.chunks", chunk))
    for done in outputs:
        assert done.returncode == 0, done.stderr
    assert_hidden(world, "".join(o.stdout for o in outputs).encode(), "cmu query output")


def test_a_reader_predicts_locally_what_the_plaintext_model_predicts(world: dict[str, Any]) -> None:
    url, model, rows = world["node"].url, str(world["model"]), world["rows"]
    answer = cmu(url, "--signer", "bob", "model", "predict", model, *[json.dumps(r) for r in rows])
    assert answer.returncode == 0, answer.stderr
    got = json.loads(answer.stdout)
    assert got["local"] is True and [p["label"] for p in got["predictions"]] == world["expected"]
    with pytest.raises(RpcError) as caught:  # the node cannot compute on ciphertext
        models.predict(world["chain"], world["model"], rows, signer=BOB)
    assert caught.value.data["error"] == "ConfidentialModel"
    refused = cmu(url, "--signer", "dave", "model", "predict", model, json.dumps(rows[0]))
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    with pytest.raises(RpcError) as caught:
        models.predict(world["chain"], world["model"], rows)
    assert caught.value.data["error"] == "AccessDenied"


def test_a_pass_buyer_gets_the_key_from_the_keeper_and_predicts(world: dict[str, Any]) -> None:
    url, chain, model = world["node"].url, world["chain"], world["model"]
    terms = {"price": PRICE, "duration_blocks": 1_000, "contributor_share_permill": 0}
    models._watch(chain, ALICE, "Access.set_pass_terms", {"model": model, **terms}, 60.0)
    models._watch(chain, CHARLIE, "Access.buy_pass", {"model": model}, 60.0)
    waiting = cmu(url, "--signer", "charlie", "model", "predict", str(model), json.dumps(world["rows"][0]))
    assert waiting.returncode != 0 and "no data key of model" in waiting.stderr
    kept = cmu(url, "--signer", "alice", "model", "share-key", str(model), "--pending")
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["postedTo"] == [hex_of(CHARLIE.account)]  # bob and alice hold it
    answer = cmu(url, "--signer", "charlie", "model", "predict", str(model),
                 *[json.dumps(r) for r in world["rows"]])
    assert answer.returncode == 0, answer.stderr
    assert [p["label"] for p in json.loads(answer.stdout)["predictions"]] == world["expected"]


def test_export_blocks_holds_no_plaintext(world: dict[str, Any]) -> None:
    """Last: it stops the node (export-blocks reads the database the node holds)."""
    node, base = world["node"], world["base"]
    secret = ciphertext(world)
    assert node.stop() == 0
    out = base / "blocks.bin"
    done = run_cli("export-blocks", str(out), "--base-path", str(base / "db"))
    assert done.returncode == 0, done.stderr
    exported = out.read_bytes()
    assert_hidden(world, exported, "export-blocks output")
    assert distinctive(secret) in exported
