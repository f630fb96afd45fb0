"""@polkadot/api 16.5.6 (npm, Node.js) against a real dev node's `/substrate` endpoint: ApiPromise.create,
query.system.account, and tx.balances.transfer(...).signAndSend with an ed25519 keyring pair, included.

tests/interop/js holds package.json and package-lock.json; the first run installs them with `npm ci`
(node_modules is not committed). Node.js and npm come from Debian (run.sh installs them as root).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.crypto import dev_keypair, dev_seed
from tests.node.node_harness import NodeProcess, account_info

JS_DIR = Path(__file__).parent / "js"
AMOUNT = 10**12


@pytest.fixture(scope="module")
def polkadot_js() -> Path:
    """tests/interop/js with its npm packages installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed (./run.sh test installs Debian's nodejs and npm)")
    if not (JS_DIR / "node_modules" / "@polkadot" / "api" / "package.json").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return JS_DIR


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    process = NodeProcess("--dev", "--seal", "instant").start()
    try:
        yield process
    finally:
        process.close()


def test_polkadot_api_transfer_signed_with_ed25519_is_included(polkadot_js: Path, node: NodeProcess) -> None:
    sender, dest = dev_keypair("ferdie").account, dev_keypair("bob").account
    nonce, _ = account_info(node, bytes(sender))
    _, dest_free = account_info(node, bytes(dest))
    url = node.ws_url.rstrip("/") + "/substrate"
    seeds = ["0x" + dev_seed("ferdie").hex(), "0x" + dev_seed("bob").hex()]
    done = subprocess.run(
        ["node", "transfer.mjs", url, *seeds, str(AMOUNT)],
        cwd=polkadot_js,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failed"] is None
    assert {"System", "Balances", "ModelRegistry"} <= set(result["pallets"])
    assert int(result["before"]) == dest_free
    assert int(result["after"]) == dest_free + AMOUNT == account_info(node, bytes(dest))[1]
    assert result["events"] == ["balances.Transfer", "system.ExtrinsicSuccess"]
    assert result["nonce"] == nonce + 1
    block = node.rpc("chain_getBlock", result["block"])
    assert block is not None  # the block @polkadot/api saw is on the node's chain
