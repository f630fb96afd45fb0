"""substrate-interface 1.8.1 (PyPI), unmodified, against a real dev node (with the Notes example pallet) at
its `/substrate` endpoint: metadata V14, blocks, storage queries, and signed extrinsics in format v4."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from substrateinterface import Keypair, KeypairType, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from cmu.client.chain import Chain
from cmu.client.rpc import Client
from runtime.crypto import dev_keypair, dev_seed
from runtime.genesis import dev_spec
from tests.node.node_harness import NodeProcess, RpcCallError, account_info


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
    return Keypair.create_from_seed(
        "0x" + dev_seed(name).hex(), ss58_format=42, crypto_type=KeypairType.ED25519
    )


def test_metadata_v14_lists_every_pallet_with_its_calls_storage_and_events(
    substrate: SubstrateInterface,
) -> None:
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


def test_query_system_account_gives_substrate_account_info(
    substrate: SubstrateInterface, node: NodeProcess
) -> None:
    alice = dev_keypair("alice").account
    nonce, free = account_info(node, bytes(alice))
    result = substrate.query("System", "Account", [dev_pair("alice").ss58_address])
    assert result.value["nonce"] == nonce
    assert result.value["data"]["free"] == free
    assert set(result.value) == {"nonce", "consumers", "providers", "sufficients", "data"}
    assert set(result.value["data"]) == {"free", "reserved", "frozen", "flags"}


def test_ss58_address_is_the_ed25519_public_key(substrate: SubstrateInterface) -> None:
    assert bytes.fromhex(dev_pair("bob").public_key.hex()) == bytes(dev_keypair("bob").account)


def test_account_next_index_takes_an_ss58_address(substrate: SubstrateInterface, node: NodeProcess) -> None:
    nonce, _ = account_info(node, bytes(dev_keypair("charlie").account))
    assert substrate.get_account_nonce(dev_pair("charlie").ss58_address) == nonce


def test_signed_v4_transfer_is_included_and_charged(substrate: SubstrateInterface, node: NodeProcess) -> None:
    # eve pays: fees go to the block author (alice), so her balance would hide the fee
    sender, bob = dev_keypair("eve").account, dev_keypair("bob").account
    sender_nonce, sender_free = account_info(node, bytes(sender))
    _, bob_free = account_info(node, bytes(bob))
    amount = 10**12
    call = substrate.compose_call(
        "Balances", "transfer", {"dest": dev_pair("bob").ss58_address, "value": amount}
    )
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=dev_pair("eve"), era={"period": 64})
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    assert receipt.is_success, receipt.error_message
    assert account_info(node, bytes(bob))[1] == bob_free + amount
    nonce_after, free_after = account_info(node, bytes(sender))
    assert nonce_after == sender_nonce + 1
    assert free_after < sender_free - amount  # the fee was charged on top
    block = substrate.get_block(block_hash=receipt.block_hash)
    hashes = ["0x" + x.extrinsic_hash.hex() for x in block["extrinsics"] if x.extrinsic_hash]
    assert receipt.extrinsic_hash in hashes
    with Client(node.url, timeout=60) as client:  # the cmu client still reads a block holding a v4 one
        shown = Chain(client).block(receipt.block_hash)["extrinsics"]
    summary = next(x for x in shown if x["hash"] == receipt.extrinsic_hash)
    assert (summary["format"], summary["call"], summary["signer"]) == (
        "v4",
        "Balances.transfer",
        "0x" + bytes(sender).hex(),
    )


def test_signed_v4_model_registry_call_registers_a_model(substrate: SubstrateInterface) -> None:
    before = substrate.query("ModelRegistry", "NextModel").value
    spec = {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * 65536, "max_nonzeros": 0,
            "text": None, "scaling": None}
    params = {
        "name": "iris",
        "description": "via substrate-interface",
        "task": "classification",
        "kind": "dense_perceptron",
        "input_spec": spec,
        "labels": ["a", "b", "c"],
        "license": "MIT",
        "artifact": None,
    }
    call = substrate.compose_call("ModelRegistry", "register", params)
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=dev_pair("dave"))
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    assert receipt.is_success, receipt.error_message
    assert substrate.query("ModelRegistry", "NextModel").value == before + 1
    events = [(e.value["module_id"], e.value["event_id"]) for e in receipt.triggered_events]
    assert ("ModelRegistry", "ModelRegistered") in events


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("0x0c8400", "BadFormat"),  # length prefix says 3 bytes, 2 follow
        ("0x08" + "04" + "00", "BadFormat"),  # unsigned v4
        ("0x" + "8902" + "84" + "01" + "00" * 160, "UnsupportedAddress"),
    ],
)
def test_malformed_v4_submissions_are_refused_by_name(node: NodeProcess, data: str, error: str) -> None:
    with pytest.raises(RpcCallError) as refused:
        node.rpc("author_submitExtrinsic", data)
    assert refused.value.code == 1010
    assert refused.value.data["error"] == error
    assert node.rpc("system_health") is not None  # and the node keeps serving


def test_query_map_lists_accounts_through_keys_paged(
    substrate: SubstrateInterface, node: NodeProcess
) -> None:
    accounts = {
        str(key.value): info.value for key, info in substrate.query_map("System", "Account", page_size=2)
    }
    for name in ("alice", "bob", "dave"):
        address = dev_pair(name).ss58_address
        assert accounts[address]["data"]["free"] == account_info(node, bytes(dev_keypair(name).account))[1]
    assert len(accounts) >= 6


def test_payment_query_info_prices_a_v4_extrinsic(substrate: SubstrateInterface) -> None:
    call = substrate.compose_call("System", "remark", {"remark": "0x" + "00" * 100})
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=dev_pair("bob"))
    info = substrate.rpc_request("payment_queryInfo", [str(extrinsic.data)])["result"]
    big = substrate.create_signed_extrinsic(
        call=substrate.compose_call("System", "remark", {"remark": "0x" + "00" * 200}),
        keypair=dev_pair("bob"),
    )
    bigger = substrate.rpc_request("payment_queryInfo", [str(big.data)])["result"]
    assert 0 < int(info["partialFee"]) < int(bigger["partialFee"])
    assert bigger["weight"]["ref_time"] - info["weight"]["ref_time"] == 100  # remark weighs 10_000 + length


def test_storage_view_answers_bad_keys_without_failing(substrate: SubstrateInterface) -> None:
    account_prefix = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
    for key in ("0x1234", account_prefix + "00" * 20, account_prefix + "11" * 16 + "22" * 32):
        assert substrate.rpc_request("state_getStorage", [key])["result"] is None  # as Substrate: null
    with pytest.raises(SubstrateRequestException, match="StorageKeyError"):
        substrate.rpc_request("state_getKeysPaged", ["0x12", 10])
    with pytest.raises(SubstrateRequestException, match="count"):
        substrate.rpc_request("state_getKeysPaged", [account_prefix, 10**6])


def test_custom_pallet_call_and_storage_work_without_client_code(substrate: SubstrateInterface) -> None:
    call = substrate.compose_call("Notes", "set_note", {"text": "0x6869"})
    receipt = substrate.submit_extrinsic(
        substrate.create_signed_extrinsic(call=call, keypair=dev_pair("charlie")), wait_for_inclusion=True
    )
    assert receipt.is_success, receipt.error_message
    # substrate-interface shows UTF-8 bytes as text, as it does for any Substrate node
    assert substrate.query("Notes", "Notes", [dev_pair("charlie").ss58_address]).value == "hi"
