"""dev_warp over real node processes: on a --dev node a deposit whose refund wait is an hour is refunded
after `cmu dev warp 1h`, block timestamps jump and never go back; a node on another chain refuses it by name,
and bad durations are refused before anything moves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from node_harness import REPO, NodeProcess, RpcCallError

HOUR_S = 3600
SCALE = 1 << 16
POS = f"[{2 * SCALE},{SCALE},0]"


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", "--url", url, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cmu_json(url: str, *argv: str) -> Any:
    result = cmu(url, "--json", *argv)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def dev_node() -> Iterator[NodeProcess]:
    process = NodeProcess("--dev", "--seal", "instant").start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


def _model_with_hour_refund_wait(url: str) -> int:
    registered = cmu(
        url,
        "--signer",
        "alice",
        "model",
        "register",
        "--name",
        "warp",
        "--kind",
        "dense_perceptron",
        "--features",
        "3",
        "--labels",
        "neg,pos",
        "--min",
        "-4",
        "--max",
        "4",
    )
    assert registered.returncode == 0, registered.stderr
    model = int(re.search(r"model (\d+) registered", registered.stdout).group(1))  # type: ignore[union-attr]
    receipt = cmu_json(
        url,
        "--signer",
        "alice",
        "tx",
        "Training.set_config",
        f"model={model}",
        "enabled=true",
        "mechanism=Stake",
        f"refund_wait_s={HOUR_S}",
        f"owner_claim_wait_s={2 * HOUR_S}",
        f"any_claim_wait_s={3 * HOUR_S}",
        "cost_weight=1000",
        "batch_limit=8",
        "--wait",
    )
    assert receipt["success"], receipt
    return model


def test_warp_past_the_refund_wait_lets_the_deposit_be_refunded(dev_node: NodeProcess) -> None:
    url = dev_node.url
    model = _model_with_hour_refund_wait(url)
    added = cmu_json(url, "--signer", "bob", "training", "add", str(model), POS, "1")
    early = cmu(url, "--signer", "bob", "training", "refund", str(added["contribution"]), POS, "1")
    assert early.returncode == 1 and "TooEarly" in early.stderr, early.stderr
    before = dev_node.rpc("chain_getHeader")
    warped = cmu_json(url, "dev", "warp", "1h")
    assert warped["seconds"] == HOUR_S and warped["offsetMs"] >= HOUR_S * 1000
    assert warped["number"] == before["number"] + 1
    assert warped["timestamp"] >= before["timestamp"] + HOUR_S * 1000
    header = dev_node.rpc("chain_getHeader")
    assert (header["number"], header["hash"], header["timestamp"]) == (
        warped["number"],
        warped["hash"],
        warped["timestamp"],
    )
    refunded = cmu_json(url, "--signer", "bob", "training", "refund", str(added["contribution"]), POS, "1")
    assert refunded["amount"] > 0
    later = dev_node.rpc("engine_createBlock", True, True)
    assert dev_node.rpc("chain_getHeader", later["hash"])["timestamp"] > warped["timestamp"]


def test_warp_refuses_bad_seconds_and_leaves_the_clock(dev_node: NodeProcess) -> None:
    head = dev_node.best_number()
    for bad in (0, -5, 1.5, "60", True, 10 * 365 * 86_400 + 1):
        with pytest.raises(RpcCallError) as refused:
            dev_node.rpc("dev_warp", bad)
        assert refused.value.code == -32602 and "seconds" in str(refused.value), bad
    assert dev_node.best_number() == head
    for text in ("soon", "1w", "-1d", "0s", "3651d"):
        result = cmu(dev_node.url, "dev", "warp", text)
        assert result.returncode == 2 and "duration" in result.stderr, (text, result.stderr)
    assert dev_node.best_number() == head


def test_warp_is_refused_on_a_chain_that_is_not_a_dev_chain() -> None:
    node = NodeProcess("--chain", "local", "--tmp", "--author", "alice", "--seal", "manual").start()
    try:
        head = node.best_number()
        with pytest.raises(RpcCallError) as refused:
            node.rpc("dev_warp", 60)
        assert refused.value.code == -32001 and refused.value.data == {"error": "NotDevChain"}
        assert "only available on a --dev chain" in str(refused.value)
        result = cmu(node.url, "dev", "warp", "1m")
        assert result.returncode == 1 and "--dev chain" in result.stderr
        assert node.best_number() == head
    finally:
        node.stop()
        node.close()
