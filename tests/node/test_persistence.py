"""Restart, export and import over real node processes and LevelDB: the chain survives a restart, an
export re-executes into a fresh database at the same state root, and a tampered export is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from node_harness import NodeProcess, Signer, account_info, hexed, poll_until, run_cli

from cmu.node.importer import MAGIC, read_block_file
from runtime.block import Block
from runtime.crypto import dev_keypair

ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")
TRANSFERS = 5


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A base path whose chain has a few transfer blocks, and what the node reported before stopping."""
    base = tmp_path_factory.mktemp("persist")
    node = NodeProcess("--dev", "--base-path", str(base), "--seal", "instant").start()
    try:
        signer = Signer.for_node(node)
        for nonce in range(TRANSFERS):
            node.rpc(
                "author_submitExtrinsic", hexed(signer.transfer(ALICE, BOB.account, 10**12 + nonce, nonce))
            )
            poll_until(lambda n=nonce: account_info(node, ALICE.account)[0] == n + 1)  # type: ignore[misc]
        head = node.rpc("chain_getHeader")
        bob = account_info(node, BOB.account)
        code = node.stop()
        assert code == 0, node.logs()
    finally:
        node.close()
    return {"base": base, "head": head, "bob": bob}


def test_restart_keeps_height_head_and_balances(chain: dict[str, object]) -> None:
    node = NodeProcess("--dev", "--base-path", str(chain["base"]), "--seal", "manual").start()
    try:
        assert node.rpc("chain_getHeader") == chain["head"]
        assert node.rpc("chain_getFinalizedHead") == chain["head"]["hash"]  # type: ignore[index]
        assert account_info(node, BOB.account) == chain["bob"]
        created = node.rpc("engine_createBlock", True, True)  # and the chain goes on
        assert created["number"] == chain["head"]["number"] + 1  # type: ignore[index]
        assert node.rpc("chain_getHeader")["parentHash"] == chain["head"]["hash"]  # type: ignore[index]
        assert node.stop() == 0
    finally:
        node.close()


def export(chain: dict[str, object], path: Path) -> str:
    result = run_cli("export-blocks", str(path), "--base-path", str(chain["base"]))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_export_then_import_ends_at_the_same_state_root(chain: dict[str, object], tmp_path: Path) -> None:
    exported = export(chain, tmp_path / "blocks.bin")
    best = re.search(r"best (0x[0-9a-f]{64})", exported)
    assert best is not None
    result = run_cli("import-blocks", str(tmp_path / "blocks.bin"), "--base-path", str(tmp_path / "fresh"))
    assert result.returncode == 0, result.stderr
    root = re.search(r"state root (0x[0-9a-f]{64})", result.stdout)
    stored = run_cli("export-blocks", str(tmp_path / "again.bin"), "--base-path", str(chain["base"]))
    assert stored.returncode == 0
    head_number = int(re.findall(r"#(\d+)", exported)[-1])
    assert f"best #{head_number} {best.group(1)}" in result.stdout
    assert (
        root is not None and (tmp_path / "blocks.bin").read_bytes() == (tmp_path / "again.bin").read_bytes()
    )
    node = NodeProcess("--dev", "--base-path", str(tmp_path / "fresh"), "--seal", "manual").start()
    try:
        header = node.rpc("chain_getHeader")
        assert header["hash"] == best.group(1) and header["stateRoot"] == root.group(1)
        assert account_info(node, BOB.account) == chain["bob"]
    finally:
        node.stop()
        node.close()
    again = run_cli("import-blocks", str(tmp_path / "blocks.bin"), "--base-path", str(tmp_path / "fresh"))
    assert again.returncode == 0 and "Imported 0 blocks" in again.stdout  # all known already


def tamper(source: Path, target: Path, number: int) -> None:
    """Rewrite one transfer's amount in block `number`, keeping every record well framed."""
    with open(source, "rb") as stream:
        records = [raw for _n, raw in read_block_file(stream)]
    block = Block.decode(records[number])
    changed = bytearray(block.extrinsics[1])
    changed[-1] ^= 0x01  # the amount's last byte: still decodes, no longer what alice signed
    records[number] = Block(block.header, (block.extrinsics[0], bytes(changed)), block.seal).encode()
    with open(target, "wb") as out:
        out.write(MAGIC)
        for raw in records:
            out.write(len(raw).to_bytes(4, "big") + raw)


def test_tampered_export_is_refused_naming_the_block(chain: dict[str, object], tmp_path: Path) -> None:
    exported = export(chain, tmp_path / "blocks.bin")
    last = int(re.findall(r"#(\d+)", exported)[-1])
    tamper(tmp_path / "blocks.bin", tmp_path / "tampered.bin", 3)
    result = run_cli("import-blocks", str(tmp_path / "tampered.bin"), "--base-path", str(tmp_path / "fresh"))
    assert result.returncode == 1
    assert "block #3 refused" in result.stderr, result.stderr
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes((tmp_path / "blocks.bin").read_bytes()[:-10])
    result = run_cli("import-blocks", str(truncated), "--base-path", str(tmp_path / "other"))
    assert result.returncode == 1 and f"block #{last} refused" in result.stderr, result.stderr
