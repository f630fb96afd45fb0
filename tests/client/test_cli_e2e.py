"""End to end: a real dev node (`node.py --dev --tmp --seal instant`) on a free loopback port, driven by
the `cmu` CLI as a subprocess: a transfer, balances, storage, events and blocks, and a failing transfer.
Skipped only while node.py does not exist."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node.py"
START_DEADLINE_S = 60.0
LISTENING = re.compile(r"RPC listening on (http://127\.0\.0\.1:\d+)")


def _read_lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    """Start a dev node with instant seal; its RPC url once it says it is listening."""
    if not NODE.exists():
        pytest.skip("node.py does not exist yet")
    command = [sys.executable, str(NODE), "--dev", "--tmp", "--rpc-port", "0", "--seal", "instant"]
    process = subprocess.Popen(
        [*command, "--no-prometheus"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        yield _wait_for_url(process, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_for_url(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> str:
    deadline = time.monotonic() + START_DEADLINE_S
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = LISTENING.search(line)
        if match:
            return match.group(1)
    tail = "".join(seen[-20:])
    pytest.fail(f"the node did not report its RPC address (exit code {process.poll()}):\n{tail}")


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a subprocess (the installed `cmu` script when it is beside this Python)."""
    script = Path(sys.executable).with_name("cmu")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "cmu.client"]
    return subprocess.run(
        [*program, "--url", url, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def cmu_json(url: str, *argv: str) -> Any:
    result = cmu(url, "--json", *argv)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_transfer_shows_in_balance_storage_events_and_block(node_url: str) -> None:
    before = cmu_json(node_url, "balance", "bob")["free"]
    sent = cmu(
        node_url, "--signer", "alice", "tx", "Balances.transfer", "dest=bob", "value=1_000_000_000", "--wait"
    )
    assert sent.returncode == 0, sent.stderr
    assert "Balances.Transfer" in sent.stdout and "result     ok" in sent.stdout
    assert cmu_json(node_url, "balance", "bob")["free"] == before + 1_000_000_000
    shown = cmu(node_url, "balance", "bob")
    assert shown.returncode == 0 and f"free     {before + 1_000_000_000}" in shown.stdout
    account = cmu_json(node_url, "query", "System.account", "bob")
    assert account["free"] == before + 1_000_000_000 and account["held"] == 0
    number = re.search(r"block\s+#(\d+) ", sent.stdout)
    assert number is not None
    events = cmu(node_url, "events", "--block", number.group(1))
    assert events.returncode == 0 and "Balances.Transfer" in events.stdout
    block = cmu(node_url, "block", number.group(1))
    assert block.returncode == 0 and "Balances.transfer dest=0x" in block.stdout


def test_receipt_json_names_the_block_and_events(node_url: str) -> None:
    receipt = cmu_json(node_url, "--signer", "eve", "tx", "System.remark", "remark=hello", "--wait")
    assert receipt["success"] and receipt["error"] is None
    assert ("System", "Remarked") in {(e["pallet"], e["event"]) for e in receipt["events"]}
    block = cmu_json(node_url, "block", receipt["block"])
    assert block["extrinsics"][receipt["index"]]["hash"] == receipt["hash"]


def test_transfer_above_the_balance_fails_with_the_pallet_error(node_url: str) -> None:
    failed = cmu(
        node_url, "--signer", "charlie", "tx", "Balances.transfer", "dest=bob", f"value={2**64 - 1}", "--wait"
    )
    assert failed.returncode == 1
    assert "Balances.InsufficientBalance" in failed.stderr
    assert failed.stderr.count("\n") == 1


def test_a_reused_nonce_is_refused(node_url: str) -> None:
    first = cmu(node_url, "--signer", "dave", "tx", "System.remark", "remark=0x01", "--wait")
    assert first.returncode == 0, first.stderr
    again = cmu(node_url, "--signer", "dave", "tx", "System.remark", "remark=0x02", "--nonce", "0")
    assert again.returncode == 1 and "StaleNonce" in again.stderr


def test_metadata_and_usage_errors(node_url: str) -> None:
    listed = cmu(node_url, "metadata")
    assert listed.returncode == 0 and "Balances.transfer(dest: AccountId, value: U64)" in listed.stdout
    bad = cmu(node_url, "--signer", "alice", "tx", "Balances.transfer", "dest=nobody", "value=1")
    assert bad.returncode == 2 and "expected an account" in bad.stderr


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_node_exits_3() -> None:
    result = cmu(f"http://127.0.0.1:{_closed_port()}", "balance", "bob")
    assert result.returncode == 3 and "cannot reach the node" in result.stderr
