"""Tests for the `cmu` command line against the fake node: every command in text and --json form,
custom pallets and nested calls from the metadata, and the exit codes (1 failed, 2 usage, 3 no node)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from client_fakenode import FakeNode

from cmu.client.cli import main
from runtime.crypto import dev_keypair

BOB = "0x" + bytes(dev_keypair("bob").account).hex()


def run(node: FakeNode, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--url", node.url, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(node: FakeNode, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(node, capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def free_of(node: FakeNode, capsys: pytest.CaptureFixture[str], who: str) -> int:
    return int(run_json(node, capsys, "balance", who)["free"])


# --- tx -----------------------------------------------------------------------------------------


def test_tx_wait_works_and_prints_the_events(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    before = free_of(fake_node, capsys, "bob")
    code, out, err = run(
        fake_node,
        capsys,
        "--signer",
        "alice",
        "tx",
        "Balances.transfer",
        "dest=bob",
        "value=5_000_000",
        "--wait",
    )
    assert code == 0, err
    assert "block      #1 0x" in out and "result     ok" in out
    assert "Balances.Transfer sender=0x" in out and f"dest={BOB} amount=5000000" in out
    assert free_of(fake_node, capsys, "bob") == before + 5_000_000


def test_tx_without_wait_prints_the_hash(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(fake_node, capsys, "tx", "Notes.set_note", "text=hi", "--signer", "bob")
    assert code == 0 and out.strip().startswith("0x") and len(out.strip()) == 66
    assert run_json(fake_node, capsys, "query", "Notes.notes", "bob") == "0x6869"


def test_tx_json_gives_the_receipt(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    receipt = run_json(
        fake_node,
        capsys,
        "--signer",
        "charlie",
        "tx",
        "Notes.set_note",
        "text=0x0102",
        "--wait",
        "--tip",
        "7",
    )
    assert receipt["success"] and receipt["blockNumber"] == 1 and receipt["error"] is None
    assert receipt["events"][0]["fields"] == {
        "who": "0x" + bytes(dev_keypair("charlie").account).hex(),
        "length": 2,
    }


def test_tx_fails_with_exit_1_and_the_pallet_error(
    fake_node: FakeNode, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        fake_node,
        capsys,
        "--signer",
        "bob",
        "tx",
        "Balances.transfer",
        "dest=alice",
        f"value={2**64 - 1}",
        "--wait",
    )
    assert code == 1
    assert "result     failed: Balances.InsufficientBalance" in out
    assert (
        err.strip()
        == "cmu: error: Balances.InsufficientBalance: The free balance is too low for this amount."
    )


def test_tx_refused_by_the_pool_exits_1(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(fake_node, capsys, "--signer", "//pauper", "tx", "Notes.set_note", "text=x", "--wait")
    assert code == 1 and err.startswith("cmu: error: transaction rejected: CannotPayFees")


def test_tx_sudo_with_a_nested_call_works(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    inner = json.dumps({"call": "Balances.force_set_balance", "args": {"who": "dave", "new_free": 7_000_000}})
    code, out, err = run(fake_node, capsys, "--signer", "alice", "tx", "Sudo.sudo", f"call={inner}", "--wait")
    assert code == 0, err
    assert "Sudo.Sudid call=Balances.force_set_balance error=" in out
    assert free_of(fake_node, capsys, "dave") == 7_000_000


def test_tx_signs_with_a_key_file(
    fake_node: FakeNode, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pair = dev_keypair("eve")
    key_file = tmp_path / "eve.json"
    public = "0x" + bytes(pair.account).hex()
    key_file.write_text(json.dumps({"seed": "0x" + pair.seed.hex(), "publicKey": public, "address": public}))
    code, _, err = run(
        fake_node, capsys, "--signer", str(key_file), "tx", "Notes.set_note", "text=k", "--wait"
    )
    assert code == 0, err
    assert run_json(fake_node, capsys, "query", "Notes.notes", "eve") == "0x6b"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tx", "Balances.transfer", "dest=bob", "value=1"], "tx needs a signer"),
        (["--signer", "zed", "tx", "Notes.set_note", "text=x"], "neither a key file nor a dev account"),
        (["--signer", "bob", "tx", "Balances.transfer", "dest=bob"], "missing value"),
        (
            ["--signer", "bob", "tx", "Balances.transfer", "dest", "value=1"],
            "expected NAME=VALUE, got 'dest'",
        ),
        (
            ["--signer", "bob", "tx", "Balances.transfer", "dest=bob", "value=x"],
            "argument value: expected an integer",
        ),
        (["--signer", "bob", "tx", "Nope.x"], "no pallet 'Nope'"),
        (["query", "System.account"], "takes 1 key(s)"),
        (["block", "12345"], "no block #12345"),
        (["metadata", "Nope"], "no pallet 'Nope'"),
        (["events", "--follow", "--block", "1"], "not both"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    fake_node: FakeNode, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(fake_node, capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("cmu: error: ") and message in err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_no_node_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--url", f"http://127.0.0.1:{port}", "balance", "bob"]) == 3
    assert capsys.readouterr().err.startswith("cmu: error: cannot reach the node")


# --- reads --------------------------------------------------------------------------------------


def test_query_prints_values_and_defaults(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    account = run_json(fake_node, capsys, "query", "System.account", "bob")
    assert set(account) == {"nonce", "free", "held"} and account["free"] > 0
    assert run_json(fake_node, capsys, "query", "System.account", "//nobody") == {
        "nonce": 0,
        "free": 0,
        "held": 0,
    }
    assert run_json(fake_node, capsys, "query", "Notes.count") == 0
    code, out, _ = run(fake_node, capsys, "query", "System.account", "bob")
    assert code == 0 and json.loads(out) == account


def test_balance_shows_free_held_and_nonce(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(fake_node, capsys, "balance", "bob")
    assert code == 0
    assert out.splitlines()[0] == f"account  {BOB}"
    assert [line.split()[0] for line in out.splitlines()] == ["account", "nonce", "free", "held", "total"]


def test_block_and_events_show_the_latest_block(
    fake_node: FakeNode, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        fake_node,
        capsys,
        "--signer",
        "alice",
        "tx",
        "Balances.transfer",
        "dest=bob",
        "value=2000000",
        "--wait",
    )
    block = run_json(fake_node, capsys, "block")
    assert block["header"]["number"] == 1
    assert [x["call"] for x in block["extrinsics"]] == ["System.set_timestamp", "Balances.transfer"]
    assert (
        block
        == run_json(fake_node, capsys, "block", "1")
        == run_json(fake_node, capsys, "block", block["header"]["hash"])
    )
    code, out, _ = run(fake_node, capsys, "block")
    assert code == 0 and out.startswith("block #1 0x") and "Balances.transfer dest=" in out
    code, out, _ = run(fake_node, capsys, "events")
    assert "#1     extrinsic 1" in out and "Balances.Transfer" in out
    code, out, _ = run(fake_node, capsys, "--json", "events", "--block", "1")
    events = [json.loads(line) for line in out.splitlines()]
    assert {(e["block"], e["pallet"], e["event"]) for e in events} >= {(1, "Balances", "Transfer")}


def test_events_follow_prints_new_blocks(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    result: dict[str, int] = {}

    def follow() -> None:
        result["code"] = main(["--url", fake_node.url, "--json", "events", "--follow", "--count", "2"])

    thread = threading.Thread(target=follow)
    thread.start()
    while not fake_node.head_subscribers:
        thread.join(0.02)
    for _ in range(2):
        assert main(["--url", fake_node.url, "--signer", "alice", "tx", "Notes.set_note", "text=x"]) == 0
    thread.join(10)
    out = capsys.readouterr().out
    events = [json.loads(line) for line in out.splitlines() if line.startswith('{"block"')]
    assert result["code"] == 0
    assert [e["block"] for e in events if e["event"] == "NoteSet"] == [1, 2]


def test_metadata_lists_calls_with_argument_types(
    fake_node: FakeNode, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(fake_node, capsys, "metadata")
    assert code == 0
    assert "  Balances.transfer(dest: AccountId, value: U64)" in out.splitlines()
    assert "  Notes.set_note(text: bytes)" in out.splitlines()
    code, out, _ = run(fake_node, capsys, "metadata", "Notes")
    assert "TooLong: The note is longer than MAX_LEN." in out and "MAX_LEN = 256" in out
    assert run_json(fake_node, capsys, "metadata", "Notes")["index"] == 40


def test_rpc_calls_any_method(fake_node: FakeNode, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run_json(fake_node, capsys, "rpc", "chain_getBlockHash", "0")
        == "0x" + fake_node.chain.runtime.genesis_hash.hex()
    )
