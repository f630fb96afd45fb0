# ruff: noqa: F811  (node_url is a fixture imported from test_cli_e2e; test arguments shadow it)
"""End to end against a real dev node: a model is trained by staked contributions from the `cmu training`
commands, contributors get good data refunded, charlie buys an access pass, and the owner and the
contributors are credited exactly by their good-contribution counts; the training_ RPC answers."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from test_cli_e2e import cmu, cmu_json, node_url  # noqa: F401  (node_url is a fixture)

from cmu.client.errors import RpcError
from cmu.client.rpc import Client

SCALE = 1 << 16
POS, NEG = f"[{2 * SCALE},{SCALE},0]", f"[{-2 * SCALE},{-SCALE},0]"
PRICE, SHARE = 10_000_001, 300_000  # a pass: 10,000,001 units, 30% to contributors


def ok(url: str, *argv: str) -> str:
    result = cmu(url, *argv)
    assert result.returncode == 0, result.stderr
    return result.stdout


def tx(url: str, signer: str, call: str, *args: str) -> Any:
    receipt = cmu_json(url, "--signer", signer, "tx", call, *args, "--wait")
    assert receipt["success"], receipt
    return receipt


def contribute(url: str, who: str, model: int, features: str, label: int) -> int:
    added = cmu_json(url, "--signer", who, "training", "add", str(model), features, str(label))
    return int(added["contribution"])


def test_contributors_refund_good_data_and_share_the_pass_revenue_exactly(
    node_url: str, tmp_path: Path
) -> None:
    url = node_url
    registered = ok(url, "--signer", "alice", "model", "register", "--name", "e2e", "--kind",
                    "dense_perceptron", "--features", "3", "--labels", "neg,pos", "--min", "-4", "--max", "4")
    model = int(re.search(r"model (\d+) registered", registered).group(1))
    tx(url, "alice", "Training.set_config", f"model={model}", "enabled=true", "mechanism=Stake",
       "refund_wait_s=0", "owner_claim_wait_s=3600", "any_claim_wait_s=7200", "cost_weight=1000",
       "batch_limit=8")
    deposit = cmu_json(url, "training", "deposit", str(model))
    divisor = max(1, math.isqrt(deposit["secondsSinceLastUpdate"]))
    assert deposit["mechanism"] == "Stake" and deposit["deposit"] == 1_000 * 3_600 // divisor
    first = contribute(url, "bob", model, POS, 1)
    second = contribute(url, "bob", model, NEG, 0)
    third = contribute(url, "dave", model, POS, 1)
    claimable = cmu_json(url, "training", "claimable", "bob")
    assert [c["contribution"] for c in claimable["contributions"]] == [first, second]
    good = (("bob", first, POS, 1), ("bob", second, NEG, 0), ("dave", third, POS, 1))
    for who, cid, features, label in good:
        refunded = cmu_json(url, "--signer", who, "training", "refund", str(cid), features, str(label))
        assert refunded["amount"] > 0
    assert cmu_json(url, "training", "claimable", "bob")["total"] == 0
    listed = cmu_json(url, "training", "contributions", str(model))
    assert [c["status"] for c in listed["contributions"]] == ["Refunded"] * 3

    # a permissioned model's weights are encrypted: the trained weights (public so far) are published
    # encrypted with the switch, and the model is trained on chain no more
    weights = tmp_path / "trained.cmuw"
    ok(url, "model", "download", str(model), "-o", str(weights))
    ok(url, "--signer", "alice", "model", "set-visibility", str(model), "permissioned",
       "--weights", str(weights))
    tx(url, "alice", "Access.set_pass_terms", f"model={model}", f"price={PRICE}", "duration_blocks=100",
       f"contributor_share_permill={SHARE}")
    bought = tx(url, "charlie", "Access.buy_pass", f"model={model}")
    sale = next(e for e in bought["events"] if e["event"] == "PassBought")["fields"]
    pool = PRICE * SHARE // 1_000_000  # 3,000,000 (3,000,000.3 rounded down)
    assert (sale["owner_share"], sale["contributor_share"]) == (PRICE - pool, pool)
    expected = {"alice": PRICE - pool, "bob": pool * 2 // 3, "dave": pool * 1 // 3}  # good counts 2 and 1
    for who, amount in expected.items():
        claimed = tx(url, who, "Access.claim_revenue", f"model={model}")
        event = next(e for e in claimed["events"] if e["event"] == "RevenueClaimed")["fields"]
        assert event["amount"] == amount, who


def test_training_rpc_pins_deposits_to_a_time_or_a_block_and_refuses_by_name(node_url: str) -> None:
    url = node_url
    registered = ok(url, "--signer", "eve", "model", "register", "--name", "rpc", "--kind",
                    "dense_perceptron", "--features", "3", "--labels", "neg,pos", "--min", "-4", "--max", "4")
    model = int(re.search(r"model (\d+) registered", registered).group(1))
    with Client(url) as rpc:
        with pytest.raises(RpcError) as refused:
            rpc.request("training_depositFor", [model])
        assert refused.value.code == 4000 and refused.value.data["error"] == "TrainingDisabled"
        configured = tx(url, "eve", "Training.set_config", f"model={model}", "enabled=true",
                        "mechanism=Stake", "refund_wait_s=10", "owner_claim_wait_s=20",
                        "any_claim_wait_s=30", "cost_weight=7", "batch_limit=1")
        start = rpc.request("training_depositFor", [model, configured["block"]])
        assert (start["secondsSinceLastUpdate"], start["deposit"]) == (0, 7 * 3_600)
        later = rpc.request("training_depositFor", [model, start["lastUpdate"] + 100_999])
        assert (later["secondsSinceLastUpdate"], later["deposit"]) == (100, 7 * 3_600 // 10)
        with pytest.raises(RpcError) as unknown:
            rpc.request("training_contributions", [model + 1000])
        assert unknown.value.data["error"] == "UnknownModel"
        assert rpc.request("training_contributions", [model]) == {"contributions": [], "next": None}
