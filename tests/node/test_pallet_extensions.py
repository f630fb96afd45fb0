"""Pallet packages add node-side RPC reads (`cmu.rpc`) and CLI commands (`cmu.cli`) without touching the
node's or the client's files: the Notes example (examples/notes_pallet) serves `notes_get` on a real node
whose chain has Notes, and `cmu notes get` reads it; on a chain without Notes the method is not served."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from node_harness import REPO, NodeProcess, RpcCallError, poll_until

from cmu.client.extensions import CLI_GROUP, add_extension_commands, cli_entry_points
from cmu.node.extensions import RPC_GROUP, ExtensionError, RpcContext, extension_methods, rpc_entry_points
from runtime.crypto import address, dev_keypair
from runtime.genesis import dev_spec
from runtime.testing import assert_ok, build_runtime


def cmu(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The `cmu` CLI as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "cmu.client", "--url", url, *argv],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def notes_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A dev node (instant seal) of the dev chain plus Notes, from a chain spec file."""
    spec_file = Path(tmp_path_factory.mktemp("notes")) / "spec.json"
    spec_file.write_text(json.dumps(dev_spec(["Notes"]).to_json()))
    node = NodeProcess("--dev", "--chain", str(spec_file), "--seal", "instant").start()
    try:
        yield node
    finally:
        node.close()


def test_the_example_package_declares_both_extension_points():
    assert [(ep.name, ep.value) for ep in rpc_entry_points()] == [("Notes", "cmu_notes.rpc:NotesRpc")]
    assert [(ep.name, ep.value) for ep in cli_entry_points()] == [("Notes", "cmu_notes.cli:add_commands")]


def test_notes_get_works_on_a_real_node_and_through_the_cli(notes_node):
    url = notes_node.url
    alice = address(dev_keypair("alice").account)
    assert notes_node.rpc("notes_get", alice) == {"who": alice, "note": None, "count": 0}
    sent = cmu(url, "--signer", "bob", "tx", "Notes.set_note", "text=0x6869", "--wait")
    assert sent.returncode == 0, sent.stderr
    answer = poll_until(lambda: (a := notes_node.rpc("notes_get", "bob"))["note"] and a)
    assert answer["note"] == "0x6869" and answer["count"] == 1
    shown = cmu(url, "--json", "notes", "get", "bob")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == answer
    text = cmu(url, "notes", "get", "bob")
    assert "'hi'" in text.stdout and "1 notes on chain" in text.stdout


def test_notes_get_fails_with_bad_params_and_at_an_unknown_block(notes_node):
    with pytest.raises(RpcCallError) as bad:
        notes_node.rpc("notes_get", "not-an-account")
    assert bad.value.code == -32602
    with pytest.raises(RpcCallError):
        notes_node.rpc("notes_get", "alice", "0x" + "00" * 32)
    refused = cmu(notes_node.url, "notes", "get", "nobody!")
    assert refused.returncode == 2 and "who" in refused.stderr


def test_notes_get_is_not_served_on_a_chain_without_notes():
    rt = build_runtime()
    ctx = RpcContext(rt.runtime, lambda at: rt.runtime)
    assert extension_methods(ctx, served=()) == {}


def test_notes_get_reads_the_committed_state_of_a_runtime():
    rt = build_runtime("Notes")
    assert_ok(rt.submit("alice", "Notes.set_note", text=b"note"))
    rt.next_block()
    ctx = RpcContext(rt.runtime, lambda at: rt.runtime)
    methods = extension_methods(ctx, served=("chain_getHeader",))
    assert sorted(methods) == ["notes_get"]
    answer = methods["notes_get"].function("alice")
    assert answer["note"] == "0x" + b"note".hex() and answer["count"] == 1


def test_an_extension_may_not_replace_a_served_method():
    rt = build_runtime("Notes")
    ctx = RpcContext(rt.runtime, lambda at: rt.runtime)
    with pytest.raises(ExtensionError, match="notes_get"):
        extension_methods(ctx, served=("notes_get",))


def test_an_extension_that_fails_to_load_stops_the_node_side_with_its_name():
    rt = build_runtime("Notes")
    broken = EntryPoint("Notes", "cmu_notes.missing:Nothing", RPC_GROUP)
    with pytest.raises(ExtensionError, match=r"Notes \(cmu_notes.missing:Nothing\) failed to load"):
        extension_methods(RpcContext(rt.runtime, lambda at: rt.runtime), (), found=[broken])


def test_a_broken_or_clashing_cli_extension_is_left_out_with_a_warning():
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("notes")  # the name is taken already
    warnings = io.StringIO()
    found = [EntryPoint("Notes", "cmu_notes.cli:add_commands", CLI_GROUP),
             EntryPoint("Broken", "cmu_notes.missing:add", CLI_GROUP)]
    assert add_extension_commands(sub, common, found=found, warnings=warnings) == []
    assert "Notes left out: the command 'notes' already exists" in warnings.getvalue()
    assert "Broken left out" in warnings.getvalue()
    assert sorted(sub.choices) == ["notes"]
