"""substrate-interface 1.8.1 (PyPI), unmodified, against a real dev node (with the Notes example pallet) at
its `/substrate` endpoint: metadata V14, blocks, storage queries, and signed extrinsics in format v4."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from substrateinterface import Keypair, KeypairType, SubstrateInterface

from runtime.crypto import dev_keypair, dev_seed
from runtime.genesis import dev_spec
from tests.node.node_harness import NodeProcess, account_info


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    spec_file = Path(tmp_path_factory.mktemp("interop")) / "spec.json"
    spec_file.write_text(json.dumps(dev_spec(["Notes"]).to_json()))
    process = NodeProcess("--dev", "--chain", str(spec_file), "--seal", "instant").start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def substrate(node: NodeProcess) -> Iterator[SubstrateInterface]:
    client = SubstrateInterface(url=node.ws_url.rstrip("/") + "/substrate", ss58_format=42)
    try:
        yield client
    finally:
        client.close()


def dev_pair(name: str) -> Keypair:
    """A dev account as substrate-interface's ed25519 Keypair (same seed as runtime.crypto's)."""
    return Keypair.create_from_seed("0x" + dev_seed(name).hex(), ss58_format=42, crypto_type=KeypairType.ED25519)


def test_metadata_v14_lists_every_pallet_with_its_calls_storage_and_events(substrate: SubstrateInterface) -> None:
    metadata = substrate.get_block_metadata()
    assert metadata.value_object[1].index == 14
    substrate.init_runtime()
    pallets = {p.value["name"]: p for p in substrate.metadata.pallets}
    assert {"System", "Balances", "ModelRegistry", "Notes"} <= set(pallets)
    call = substrate.get_metadata_call_function("Balances", "transfer")
    assert [f["name"] for f in call.value["fields"]] == ["dest", "value"]
    assert substrate.get_metadata_storage_function("Notes", "Notes") is not None


def test_get_block_decodes_header_and_extrinsics(substrate: SubstrateInterface, node: NodeProcess) -> None:
    block = substrate.get_block(block_number=0)
    assert block["header"]["number"] == 0
    latest = substrate.get_block()
    assert latest["header"]["hash"] == node.rpc("chain_getBlockHash")


def test_query_system_account_gives_substrate_account_info(substrate: SubstrateInterface, node: NodeProcess) -> None:
    alice = dev_keypair("alice").account
    nonce, free = account_info(node, bytes(alice))
    result = substrate.query("System", "Account", [dev_pair("alice").ss58_address])
    assert result.value["nonce"] == nonce
    assert result.value["data"]["free"] == free
    assert set(result.value) == {"nonce", "consumers", "providers", "sufficients", "data"}
    assert set(result.value["data"]) == {"free", "reserved", "frozen", "flags"}


def test_ss58_address_is_the_ed25519_public_key(substrate: SubstrateInterface) -> None:
    assert bytes.fromhex(dev_pair("bob").public_key.hex()) == bytes(dev_keypair("bob").account)
