"""The node's command line: key files, build-spec, purge-chain, bad flags, manual sealing, RPC method
exposure and graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest
from node_harness import NodeProcess, RpcCallError, Signer, hexed, run_cli

from runtime.crypto import dev_keypair
from runtime.genesis import ChainSpec, dev_spec

ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")


def test_key_generate_writes_a_private_file_and_inspect_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "author.json"
    result = run_cli("key", "generate", "--output", str(path))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) >= {"seed", "publicKey"} and "seed" not in json.loads(result.stdout)
    inspected = run_cli("key", "inspect", str(path))
    assert inspected.returncode == 0 and json.loads(inspected.stdout)["publicKey"] == stored["publicKey"]
    again = run_cli("key", "generate", "--output", str(path))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_key_inspect_dev_and_refuses_bad_files(tmp_path: Path) -> None:
    dev = json.loads(run_cli("key", "inspect", "--dev", "alice").stdout)
    assert dev["publicKey"] == hexed(ALICE.account)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"seed": "0x" + "11" * 32, "publicKey": "0x" + "22" * 32}))
    result = run_cli("key", "inspect", str(bad))
    assert result.returncode == 2 and "does not belong to the seed" in result.stderr


def test_build_spec_prints_a_loadable_spec(tmp_path: Path) -> None:
    result = run_cli("build-spec", "--chain", "dev")
    assert result.returncode == 0
    path = tmp_path / "spec.json"
    path.write_text(result.stdout)
    assert ChainSpec.load(path) == dev_spec()


def test_purge_chain_removes_the_database(tmp_path: Path) -> None:
    node = NodeProcess("--dev", "--base-path", str(tmp_path), "--seal", "manual").start()
    assert node.stop() == 0
    node.close()
    db = tmp_path / "chains" / "dev" / "db"
    assert db.exists()
    assert run_cli("purge-chain", "--base-path", str(tmp_path), input_text="n\n").returncode == 1
    assert db.exists()
    result = run_cli("purge-chain", "--base-path", str(tmp_path), "-y")
    assert result.returncode == 0 and not db.exists()


def test_bad_flags_are_refused_with_a_reason(tmp_path: Path) -> None:
    result = run_cli("--dev", "--seal", "sometimes")
    assert result.returncode == 2 and "--seal" in result.stderr
    result = run_cli("--dev", "--query-window", "0")
    assert result.returncode == 2 and "--query-window" in result.stderr
    result = run_cli("--chain", str(tmp_path / "missing.json"), "--tmp")
    assert result.returncode == 2 and "missing.json" in result.stderr
    result = run_cli("export-blocks", str(tmp_path / "x.bin"), "--base-path", str(tmp_path))
    assert result.returncode == 2 and "no chain database" in result.stderr


def test_manual_seal_authors_only_on_request(tmp_path: Path) -> None:
    node = NodeProcess("--dev", "--seal", "manual").start()
    try:
        signer = Signer.for_node(node)
        node.rpc("author_submitExtrinsic", hexed(signer.transfer(ALICE, BOB.account, 10**12, 0)))
        assert node.best_number() == 0 and len(node.rpc("author_pendingExtrinsics")) == 1
        first = node.rpc("engine_createBlock", False, False)
        assert first["number"] == 1 and node.rpc("author_pendingExtrinsics") == []
        assert node.rpc("chain_getFinalizedHead") == node.rpc("chain_getBlockHash", 0)
        with pytest.raises(RpcCallError) as empty:
            node.rpc("engine_createBlock", False, True)
        assert empty.value.code == -32000
        assert node.rpc("engine_finalizeBlock", first["hash"]) is True
        assert node.rpc("chain_getFinalizedHead") == first["hash"]
        with pytest.raises(RpcCallError) as bad:
            node.rpc("engine_createBlock", "yes")
        assert bad.value.code == -32602
    finally:
        assert node.stop(signal.SIGINT) == 0
        node.close()


def test_safe_rpc_methods_hide_engine_and_cors_allows_named_origins(tmp_path: Path) -> None:
    node = NodeProcess(
        "--dev", "--seal", "manual", "--rpc-methods", "safe", "--rpc-cors", "http://ok.example"
    )
    node.start()
    try:
        assert "engine_createBlock" not in node.rpc("rpc_methods")["methods"]
        with pytest.raises(RpcCallError) as hidden:
            node.rpc("engine_createBlock")
        assert hidden.value.code == -32601
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
        status, headers, answer = node.request(body, {"Origin": "http://ok.example"})
        assert status == 200 and answer["result"] == "cmu-node"
        assert headers["Access-Control-Allow-Origin"] == "http://ok.example"
        assert node.request(body, {"Origin": "http://other.example"})[0] == 403
    finally:
        assert node.stop() == 0
        node.close()
