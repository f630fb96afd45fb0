"""A --dev node as a developer uses it, over real node processes. dev_warp: a deposit whose refund wait is
an hour is refunded after `cmu dev warp 1h`, block timestamps jump and never go back; a node on another
chain refuses it by name, and bad durations are refused before anything moves. Finality: every finalized
block carries alice's certificate, so a model version's provenance proof exports over RPC and verifies
offline with `node.py verify-proof --chain-spec dev`. Sealing: --dev authors ready transactions at once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_harness import REPO, NodeProcess, RpcCallError, poll_until, run_cli

from cmu.node.author import SealMode
from cmu.node.finality import FinalityCertificate, verify_certificate
from runtime.genesis import dev_spec

HOUR_S = 3600
SCALE = 1 << 16
POS = f"[{2 * SCALE},{SCALE},0]"
REGISTER = "model register --name warp --kind dense_perceptron --features 3 --labels neg,pos --min -4 --max 4"
CONFIG = (
    "tx Training.set_config model={model} enabled=true mechanism=Stake refund_wait_s=3600 "
    "owner_claim_wait_s=7200 any_claim_wait_s=10800 cost_weight=1000 batch_limit=8 --wait"
)


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", url, *argv],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def cmu_json(url: str, *argv: str) -> Any:
    result = cmu(url, "--json", *argv)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _started(*args: str) -> Iterator[NodeProcess]:
    process = NodeProcess(*args).start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


@pytest.fixture(scope="module")
def dev_node() -> Iterator[NodeProcess]:
    yield from _started("--dev")  # --dev's own seal: instant+interval:2000


@pytest.fixture(scope="module")
def slow_timer_node() -> Iterator[NodeProcess]:
    yield from _started("--dev", "--seal", "instant+interval:600000")  # the timer: 10 minutes


def _model_with_hour_refund_wait(url: str) -> int:
    registered = cmu(url, "--signer", "alice", *REGISTER.split())
    assert registered.returncode == 0, registered.stderr
    model = int(re.search(r"model (\d+) registered", registered.stdout).group(1))  # type: ignore[union-attr]
    receipt = cmu_json(url, "--signer", "alice", *CONFIG.format(model=model).split())
    assert receipt["success"], receipt
    return model


def test_warp_past_the_refund_wait_lets_the_deposit_be_refunded(dev_node: NodeProcess) -> None:
    url = dev_node.url
    poll_until(lambda: "seal instant+interval:2000" in dev_node.logs())  # --dev's default
    model = _model_with_hour_refund_wait(url)
    added = cmu_json(url, "--signer", "bob", "training", "add", str(model), POS, "1")
    early = cmu(url, "--signer", "bob", "training", "refund", str(added["contribution"]), POS, "1")
    assert early.returncode == 1 and "TooEarly" in early.stderr, early.stderr
    before = dev_node.rpc("chain_getHeader")
    warped = cmu_json(url, "dev", "warp", "1h")
    assert warped["seconds"] == HOUR_S and warped["offsetMs"] >= HOUR_S * 1000
    assert warped["number"] > before["number"]
    assert warped["timestamp"] >= before["timestamp"] + HOUR_S * 1000
    assert dev_node.rpc("chain_getHeader", warped["hash"])["timestamp"] == warped["timestamp"]
    refunded = cmu_json(url, "--signer", "bob", "training", "refund", str(added["contribution"]), POS, "1")
    assert refunded["amount"] > 0
    later = dev_node.rpc("engine_createBlock", True, True)
    assert dev_node.rpc("chain_getHeader", later["hash"])["timestamp"] > warped["timestamp"]


def test_warp_refuses_bad_seconds_and_leaves_the_clock(dev_node: NodeProcess) -> None:
    offset = dev_node.rpc("dev_warp", 1)["offsetMs"]
    for bad in (0, -5, 1.5, "60", True, None, [60], 10 * 365 * 86_400 + 1):
        with pytest.raises(RpcCallError) as refused:
            dev_node.rpc("dev_warp", bad)
        assert refused.value.code == -32602 and "seconds" in str(refused.value), bad
    for text in ("soon", "1w", "-1d", "0s", "3651d", "1.5h"):
        result = cmu(dev_node.url, "dev", "warp", text)
        assert result.returncode == 2 and "duration" in result.stderr, (text, result.stderr)
    assert dev_node.rpc("dev_warp", 1)["offsetMs"] == offset + 1000


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


def test_dev_blocks_are_certified_and_a_version_proof_verifies_offline(
    dev_node: NodeProcess, tmp_path: Path
) -> None:
    url = dev_node.url
    model = _model_with_hour_refund_wait(url)
    cmu_json(url, "--signer", "charlie", "training", "add", str(model), POS, "1")
    head = dev_node.rpc("chain_getHeader")
    cert = FinalityCertificate.from_json(dev_node.rpc("chain_getFinalityCertificate", head["hash"]))
    assert cert.number == head["number"] and cert.signers == (0,)
    verify_certificate(cert, dev_spec().validators)
    proof = dev_node.rpc("provenance_exportProof", model, 1)
    assert proof["certificate"]["signerNames"] == ["alice"]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    checked = run_cli("verify-proof", str(path), "--chain-spec", "dev")
    assert checked.returncode == 0, checked.stderr
    proven = json.loads(checked.stdout)
    assert (proven["model"], proven["version"], proven["cause"]) == (model, 1, "TRAINING"), proven
    assert (proven["chain"], proven["signers"], proven["validators"]) == ("Development", ["alice"], 1)
    value = proof["record"]["value"]
    proof["record"]["value"] = value[:-1] + ("0" if value[-1] != "0" else "1")  # one byte of the record
    path.write_text(json.dumps(proof))
    tampered = run_cli("verify-proof", str(path), "--chain-spec", "dev")
    assert tampered.returncode == 1 and "proof refused" in tampered.stderr


def test_seal_modes_parse_and_print_back() -> None:
    for text in ("instant", "manual", "interval:2000", "instant+interval:2000"):
        assert str(SealMode.parse(text)) == text
    assert SealMode.parse("instant+interval:50").authors_on_ready
    assert not SealMode.parse("interval:50").authors_on_ready
    for bad in ("instant+manual", "instant+instant", "interval:0", "interval:x", "instant+interval:", "auto"):
        with pytest.raises(ValueError, match="unknown seal mode"):
            SealMode.parse(bad)


def test_ready_transactions_are_authored_without_waiting_for_the_timer(slow_timer_node: NodeProcess) -> None:
    node = slow_timer_node
    poll_until(lambda: "seal instant+interval:600000" in node.logs())
    head = node.best_number()
    sent = cmu_json(node.url, "--signer", "bob", "tx", "Balances.transfer", "dest=dave", "value=1", "--wait")
    assert sent["success"] and sent["blockNumber"] == head + 1


def test_a_block_finalized_later_gets_its_certificate_then(slow_timer_node: NodeProcess) -> None:
    made = slow_timer_node.rpc("engine_createBlock", True, False)
    assert slow_timer_node.rpc("chain_getFinalityCertificate", made["hash"]) is None
    assert slow_timer_node.rpc("engine_finalizeBlock", made["hash"]) is True
    cert = FinalityCertificate.from_json(slow_timer_node.rpc("chain_getFinalityCertificate", made["hash"]))
    assert cert.block_hash.hex() == made["hash"][2:]
    verify_certificate(cert, dev_spec().validators)


def test_a_kept_dev_chain_resumes_its_warped_clock_after_a_restart(tmp_path: Path) -> None:
    args = ("--dev", "--base-path", str(tmp_path), "--seal", "manual")
    first = NodeProcess(*args).start()
    try:
        warped = first.rpc("dev_warp", 7 * 86_400)
    finally:
        assert first.stop() == 0
        first.close()
    again = NodeProcess(*args).start()
    try:
        one = again.rpc("engine_createBlock", True, True)
        time.sleep(0.3)
        two = again.rpc("engine_createBlock", True, True)
        stamps = [again.rpc("chain_getHeader", b["hash"])["timestamp"] for b in (one, two)]
    finally:
        again.stop()
        again.close()
    assert one["number"] == warped["number"] + 1
    assert warped["timestamp"] < stamps[0] < stamps[1]
    assert stamps[1] - stamps[0] >= 250  # the clock runs on from the warped head, not 1 ms a block
