"""End to end over a real `node.py --dev --seal instant` process (one block per extrinsic), driven by the
client library and the `cmu` CLI: permissioned predictions with signed queries, a Reader grant that runs
out at its block, a paid pass credited to the owner, and a confidential model that a key holder decrypts
and predicts with locally while the node and an account without a key cannot.

charlie plays the issue's "carol" (the dev accounts are alice, bob, charlie, dave, eve and ferdie).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from node_harness import REPO, NodeProcess

from cmu.client import confidential, models
from cmu.client.chain import Chain, Receipt, hex_of
from cmu.client.errors import RpcError
from cmu.client.rpc import Client
from cmu.models import SCALE, InputSpec, get_kind
from runtime.crypto import dev_keypair

ALICE, BOB, CHARLIE, DAVE, EVE = (dev_keypair(n) for n in ("alice", "bob", "charlie", "dave", "eve"))
LABELS = ["setosa", "versicolor", "virginica"]
PRICE = 5 * 10**12


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    process = NodeProcess("--dev", "--seal", "instant").start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


@pytest.fixture(scope="module")
def chain(node: NodeProcess) -> Iterator[Chain]:
    with Client(node.url, timeout=60) as client:
        yield Chain(client)


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any, list[list[float]]]:
    """A dense perceptron trained on iris in fixed point, and 10 held-out rows."""
    from sklearn.datasets import load_iris

    data = load_iris()
    order = np.random.default_rng(11).permutation(len(data.target))
    x, y = data.data[order], data.target[order]
    kind = get_kind("dense_perceptron")
    weights = kind.init_weights(InputSpec(4, False, 0, 8 * SCALE), 3)
    for _ in range(3):
        weights = kind.train(weights, kind.quantize(x[:120], weights.spec), y[:120])
    return kind, weights, [list(map(float, row)) for row in x[140:]]


def tx(chain: Chain, who: Any, call: str, /, **args: Any) -> Receipt:
    return models._watch(chain, who, call, args, 60.0)


def register(chain: Chain, data: bytes, permissioned: bool) -> int:
    """Alice's iris model with `data` as weights: plaintext for a public model; for a permissioned one
    registered with the kind's initial weights and `data` encrypted as its confidential version (the key
    posted to alice), the only way a model becomes Permissioned."""
    spec = {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * SCALE, "max_nonzeros": 0}
    args = {"name": "iris", "description": "", "task": "classification", "kind": "dense_perceptron",
            "input_spec": spec, "labels": LABELS, "license": "MIT"}
    if permissioned:
        return int(confidential.register_permissioned(chain, ALICE, args, data)["model"])
    root = models.upload_artifact(chain, ALICE, data)
    receipt = tx(chain, ALICE, "ModelRegistry.register", **args, artifact=hex_of(root))
    return int(models._event_field(receipt, "ModelRegistered", "model"))


def refusal(run: Any) -> str:
    with pytest.raises(RpcError) as caught:
        run()
    assert caught.value.code == 4000
    return str(caught.value.data["error"])


def labels_of(answer: dict[str, Any]) -> list[int]:
    return [p["label"] for p in answer["predictions"]]


def best(chain: Chain) -> int:
    return int(chain.client.request("chain_getHeader")["number"])


def remark(chain: Chain) -> None:
    """One more block (instant seal: one extrinsic, one block)."""
    tx(chain, EVE, "System.remark", remark="0x00")


@pytest.fixture(scope="module")
def secret_model(chain: Chain, iris: Any) -> int:
    kind, weights, _ = iris
    return register(chain, kind.encode(weights), permissioned=True)


def test_bob_reads_alices_permissioned_model_only_while_his_grant_lasts(chain: Chain, iris: Any) -> None:
    kind, weights, rows = iris
    model = register(chain, kind.encode(weights), permissioned=True)
    expected = [int(v) for v in kind.predict(weights, kind.quantize(rows, weights.spec))[0]]
    assert refusal(lambda: models.predict(chain, model, rows)) == "AccessDenied"
    assert refusal(lambda: models.predict(chain, model, rows, signer=BOB)) == "AccessDenied"
    assert refusal(lambda: models.download_artifact(chain, model, signer=BOB)) == "AccessDenied"
    root = models.download_artifact(chain, model, signer=ALICE).root
    assert refusal(lambda: models.download_artifact(chain, root, signer=BOB)) == "UnknownArtifact"
    assert chain.client.request("model_get", [model])["artifact"] is None
    # the weights are encrypted: the node cannot predict; the owner predicts locally with her key
    assert refusal(lambda: models.predict(chain, model, rows, signer=ALICE)) == "ConfidentialModel"
    assert labels_of(confidential.predict_local(chain, ALICE, model, rows)) == expected

    expires = best(chain) + 6  # the grant is included in the next block, best + 1, the key in best + 2
    tx(chain, ALICE, "Access.grant", model=model, who=hex_of(BOB.account), role="Reader", expires_at=expires)
    assert confidential.post_pending_keys(chain, ALICE, model) == [hex_of(BOB.account)]
    assert labels_of(confidential.predict_local(chain, BOB, model, rows)) == expected
    while best(chain) < expires - 2:  # reads are judged as in the next block, like a transaction
        remark(chain)
        assert refusal(lambda: models.predict(chain, model, rows, signer=BOB)) == "ConfidentialModel"
        encrypted = models.download_artifact(chain, model, signer=BOB).data
        opened = confidential.open_artifact(encrypted, confidential.my_key(chain, BOB, model))
        assert opened == kind.encode(weights)
    remark(chain)  # best = expires - 1: the next block is the expiry block
    assert refusal(lambda: models.predict(chain, model, rows, signer=BOB)) == "AccessDenied"
    assert refusal(lambda: models.download_artifact(chain, model, signer=BOB)) == "AccessDenied"
    remark(chain)
    assert refusal(lambda: models.predict(chain, model, rows, signer=BOB)) == "AccessDenied"


def test_a_signed_query_is_refused_when_replayed_or_for_other_rows(chain: Chain, iris: Any) -> None:
    _, _, rows = iris
    model = register(chain, get_kind("dense_perceptron").encode(iris[1]), permissioned=True)
    params = models.signed(chain, ALICE, "model_predict", [model, rows, None, False, None])
    # the signature is accepted (and remembered); the node then cannot predict on encrypted weights
    assert refusal(lambda: chain.client.request("model_predict", params)) == "ConfidentialModel"
    assert refusal(lambda: chain.client.request("model_predict", params)) == "QueryReplayed"
    other = [model, rows[:1], None, False, None, params[-1]]
    assert refusal(lambda: chain.client.request("model_predict", other)) == "BadQuerySignature"
    stale = dict(params[-1], timestamp=params[-1]["timestamp"] - 3_600_000)
    assert refusal(lambda: chain.client.request("model_predict", [*params[:-1], stale])) == "QueryExpired"


def test_charlie_buys_a_pass_and_the_owner_is_credited_exactly(chain: Chain, secret_model: int) -> None:
    model = secret_model
    terms = {"price": PRICE, "duration_blocks": 50, "contributor_share_permill": 300_000}
    tx(chain, ALICE, "Access.set_pass_terms", model=model, **terms)
    charlie_before = chain.account("charlie")["free"]
    bought = tx(chain, CHARLIE, "Access.buy_pass", model=model)
    fee = next(e["fields"]["fee"] for e in bought.events if e["event"] == "ExtrinsicSuccess")
    assert chain.account("charlie")["free"] == charlie_before - PRICE - fee
    event = next(e["fields"] for e in bought.events if e["event"] == "PassBought")
    # no contributor has good-contribution counts on a dev chain without training: the owner gets it all
    assert (event["owner_share"], event["contributor_share"]) == (PRICE, 0)
    assert chain.query("Access.revenue", [model, hex_of(ALICE.account)]).value == PRICE
    # charlie may read now: the node tells him to predict locally (AccessDenied before the pass)
    assert refusal(lambda: models.predict(chain, model, [[5.0, 3.0, 1.5, 0.2]], signer=CHARLIE)) == (
        "ConfidentialModel"
    )
    alice_before = chain.account("alice")["free"]
    claimed = tx(chain, ALICE, "Access.claim_revenue", model=model)
    assert next(e["fields"]["amount"] for e in claimed.events if e["event"] == "RevenueClaimed") == PRICE
    # alice authors every dev block, so the claim's fee comes back to her: her balance grows by the price
    assert chain.account("alice")["free"] == alice_before + PRICE
    assert not chain.query("Access.revenue", [model, hex_of(ALICE.account)]).exists


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", url, "--json", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_bob_decrypts_a_confidential_model_and_predicts_its_labels(
    node: NodeProcess, chain: Chain, iris: Any, tmp_path: Path
) -> None:
    kind, weights, rows = iris
    plain = register(chain, kind.encode(weights), permissioned=False)
    expected = labels_of(models.predict(chain, plain, rows))
    model = register(chain, kind.encode(kind.init_weights(weights.spec, 3)), permissioned=False)
    for who in (BOB, DAVE):
        tx(chain, ALICE, "Access.grant", model=model, who=hex_of(who.account), role="Reader", expires_at=None)
    file = tmp_path / "iris.cmuw"
    file.write_bytes(kind.encode(weights))
    publish = ("model", "publish-confidential", str(model), str(file), "--share", "bob")
    published = cmu(node.url, "--signer", "alice", *publish)
    assert published.returncode == 0, published.stderr
    tx(chain, ALICE, "Access.set_policy", model=model, visibility="Permissioned", training="Open")
    shown = chain.client.request("model_get", [model])["access"]["confidential"]
    assert shown["keyId"] == json.loads(published.stdout)["keyId"]

    assert refusal(lambda: models.predict(chain, model, rows, signer=BOB)) == "ConfidentialModel"
    local = cmu(node.url, "--signer", "bob", "model", "predict", str(model), *[json.dumps(r) for r in rows])
    assert local.returncode == 0, local.stderr
    answer = json.loads(local.stdout)
    assert answer["local"] is True and labels_of(answer) == expected

    # dave may download the ciphertext (he is a Reader) but holds no wrapped key: no plaintext for him
    encrypted = models.download_artifact(chain, model, signer=DAVE).data
    assert kind.encode(weights) not in encrypted
    with pytest.raises(confidential.NoKey):
        confidential.predict_local(chain, DAVE, model, rows)
    failed = cmu(node.url, "--signer", "dave", "model", "predict", str(model), json.dumps(rows[0]))
    assert failed.returncode != 0 and "no data key of model" in failed.stderr
    bobs_key = confidential.my_key(chain, BOB, model)
    with pytest.raises(confidential.DecryptionFailed):  # bob's sealed key does not open for dave
        sealed = chain.query("Access.wrapped_keys", [model, hex_of(BOB.account)]).value["sealed"]
        confidential.unwrap_key(bytes.fromhex(sealed[2:]), DAVE)
    assert confidential.open_artifact(encrypted, bobs_key) == kind.encode(weights)
    plain_file = tmp_path / "plain.cmuw"
    decrypted = cmu(
        node.url, "--signer", "bob", "model", "download", str(model), "--decrypt", "-o", str(plain_file)
    )
    assert decrypted.returncode == 0, decrypted.stderr
    assert plain_file.read_bytes() == kind.encode(weights)
    assert refusal(lambda: models.download_artifact(chain, model, signer=EVE)) == "AccessDenied"
