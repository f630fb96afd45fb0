"""End to end over a real `node.py --dev --seal instant` process: HTTP and WebSocket JSON-RPC, transfers,
subscriptions, refusals with their named errors, protocol errors, historic state and proofs, metrics."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from node_harness import (
    NodeProcess,
    RpcCallError,
    Signer,
    WsClient,
    account_info,
    account_key,
    hexed,
    poll_until,
)

from pallets.balances import Balances
from runtime.crypto import Keypair, blake2_256, dev_keypair
from runtime.extrinsic import IMMORTAL_ERA, encode_signed
from runtime.trie import verify_proof

ALICE, BOB, DAVE = dev_keypair("alice"), dev_keypair("bob"), dev_keypair("dave")
AMOUNT = 7 * 10**12


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    process = NodeProcess("--dev", "--seal", "instant", prometheus=True).start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


@pytest.fixture(scope="module")
def signer(node: NodeProcess) -> Signer:
    return Signer.for_node(node)


def next_nonce(node: NodeProcess, key: Keypair) -> int:
    nonce: int = node.rpc("system_accountNextIndex", hexed(key.account))
    return nonce


def included_block(node: NodeProcess, xt: bytes, since: int) -> dict[str, Any] | None:
    """The block after `since` that holds `xt`, or None."""
    for number in range(since + 1, node.best_number() + 1):
        block = node.rpc("chain_getBlock", node.rpc("chain_getBlockHash", number))["block"]
        if hexed(xt) in block["extrinsics"]:
            return dict(block)
    return None


def test_transfer_over_websocket_is_seen_in_new_heads_and_watch(node: NodeProcess, signer: Signer) -> None:
    before = account_info(node, BOB.account)[1]

    async def scenario() -> tuple[str, bytes]:
        async with WsClient(node.ws_url) as ws:
            heads = await ws.subscribe("chain_subscribeNewHeads")
            first = await ws.next(heads)
            assert first["hash"] == await ws.call("chain_getBlockHash")
            xt = signer.transfer(
                ALICE, BOB.account, AMOUNT, await ws.call("system_accountNextIndex", hexed(ALICE.account))
            )
            updates = await ws.subscribe("author_submitAndWatchExtrinsic", hexed(xt))
            statuses = [await ws.next(updates) for _ in range(3)]
            assert statuses[0] == "ready"
            in_block = statuses[1]["inBlock"]
            assert statuses[1]["success"] is True and statuses[1]["error"] is None
            assert statuses[2] == {"finalized": in_block}
            while (await ws.next(heads))["hash"] != in_block:
                pass
            return in_block, xt

    in_block, xt = asyncio.run(scenario())
    block = node.rpc("chain_getBlock", in_block)["block"]
    assert hexed(xt) in block["extrinsics"] and block["header"]["hash"] == in_block
    assert account_info(node, BOB.account)[1] == before + AMOUNT
    events = node.rpc("chain_getEvents", in_block)
    transfers = [e for e in events if (e["pallet"], e["event"]) == ("Balances", "Transfer")]
    assert transfers == [
        {
            "phase": 1,
            "pallet": "Balances",
            "event": "Transfer",
            "fields": {"sender": hexed(ALICE.account), "dest": hexed(BOB.account), "amount": AMOUNT},
        }
    ]


def test_transfer_over_http_is_included(node: NodeProcess, signer: Signer) -> None:
    since = node.best_number()
    xt = signer.transfer(ALICE, BOB.account, AMOUNT, next_nonce(node, ALICE))
    assert node.rpc("author_submitExtrinsic", hexed(xt)) == hexed(blake2_256(xt))
    block = poll_until(lambda: included_block(node, xt, since))
    finalized = node.rpc("chain_getHeader", node.rpc("chain_getFinalizedHead"))
    assert finalized["number"] >= block["header"]["number"]  # dev blocks are final when authored


def refusals(signer: Signer, node: NodeProcess) -> dict[str, bytes]:
    """A bad signature, a stale nonce and an unaffordable fee, each as extrinsic bytes."""
    nonce = next_nonce(node, DAVE)
    if nonce == 0:  # make dave's nonce 0 stale
        xt = signer.transfer(DAVE, BOB.account, 1_000_000_000, 0)
        node.rpc("author_submitExtrinsic", hexed(xt))
        poll_until(lambda: next_nonce(node, DAVE) > 0 and not node.rpc("author_pendingExtrinsics"))
    good = signer.transfer(ALICE, BOB.account, AMOUNT, next_nonce(node, ALICE))
    forged = dev_keypair("ferdie").sign(good)  # a signature by someone else
    spec = Balances.call_specs["transfer"]
    call_wire = [spec.pallet_index, spec.index, [bytes(BOB.account), AMOUNT]]
    bad_signature = encode_signed(
        ALICE.account, forged, IMMORTAL_ERA, next_nonce(node, ALICE), 0, signer.genesis_hash, call_wire
    )
    penniless = Keypair.from_seed(blake2_256(b"no funds at all"))
    return {
        "BadSignature": bad_signature,
        "StaleNonce": signer.transfer(DAVE, BOB.account, 1, 0),
        "CannotPayFees": signer.transfer(penniless, BOB.account, 1, 0),
    }


def test_refused_transactions_are_named_and_never_included(node: NodeProcess, signer: Signer) -> None:
    since = node.best_number()
    cases = refusals(signer, node)
    for name, xt in cases.items():
        with pytest.raises(RpcCallError) as refused:
            node.rpc("author_submitExtrinsic", hexed(xt))
        assert refused.value.code == 1010 and refused.value.data["error"] == name, name

    async def over_ws() -> None:
        async with WsClient(node.ws_url) as ws:
            for name, xt in cases.items():
                with pytest.raises(RpcCallError) as refused:
                    await ws.call("author_submitAndWatchExtrinsic", hexed(xt))
                assert refused.value.code == 1010 and refused.value.data["error"] == name

    asyncio.run(over_ws())
    marker = signer.transfer(ALICE, BOB.account, 1_000_000_000, next_nonce(node, ALICE))
    node.rpc("author_submitExtrinsic", hexed(marker))
    poll_until(lambda: included_block(node, marker, since))
    pending = node.rpc("author_pendingExtrinsics")
    for xt in cases.values():
        assert included_block(node, xt, since) is None and hexed(xt) not in pending


def test_protocol_errors_are_answered_with_their_codes(node: NodeProcess) -> None:
    status, answer = node.post(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "no_suchMethod"}))
    assert status == 200 and answer == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": -32601, "message": "Method not found: no_suchMethod"},
    }
    assert node.post('{"jsonrpc": "2.0", "id": 1, "method": ')[1]["error"]["code"] == -32700
    assert node.post("[]")[1]["error"]["code"] == -32600
    assert [a["error"]["code"] for a in node.post("[1, 2]")[1]] == [-32600, -32600]
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "system_name"} for i in range(1001)]
    assert node.post(json.dumps(too_many))[1]["error"]["code"] == -32600
    mixed = node.post(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "system_name"}, {"id": 2}]))[1]
    assert mixed[0]["result"] == "cmu-node" and mixed[1]["error"]["code"] == -32600
    with pytest.raises(RpcCallError) as bad:
        node.rpc("chain_getBlockHash", "seven")
    assert bad.value.code == -32602
    with pytest.raises(RpcCallError) as bad:
        node.rpc("chain_subscribeNewHeads")  # subscriptions need a WebSocket
    assert bad.value.code == -32601
    assert node.rpc("system_health") == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}


def test_limits_and_cors_are_enforced(node: NodeProcess) -> None:
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_name", "params": ["x" * (11 * 2**20)]})
    status, answer = node.post(huge)
    assert status == 413 and answer["error"]["code"] == -32600
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system_name"})
    status, _headers, _answer = node.request(body, {"Origin": "http://evil.example"})
    assert status == 403  # CORS is off unless --rpc-cors names the origin
    assert node.rpc("system_name") == "cmu-node"


def test_protocol_errors_over_websocket_keep_the_connection(node: NodeProcess) -> None:
    async def scenario() -> None:
        async with WsClient(node.ws_url) as ws:
            assert ws._ws is not None
            await ws._ws.send_str("{oops")
            with pytest.raises(RpcCallError) as unknown:
                await ws.call("nope_nothing")
            assert unknown.value.code == -32601
            assert await ws.call("system_chain") == "Development"

    asyncio.run(scenario())


def test_historic_state_and_read_proofs(node: NodeProcess, signer: Signer) -> None:
    old_hash = node.rpc("chain_getBlockHash")
    old_header = node.rpc("chain_getHeader", old_hash)
    old_free = account_info(node, BOB.account, at=old_hash)[1]
    since = node.best_number()
    xt = signer.transfer(ALICE, BOB.account, AMOUNT, next_nonce(node, ALICE))
    node.rpc("author_submitExtrinsic", hexed(xt))
    poll_until(lambda: included_block(node, xt, since))
    assert account_info(node, BOB.account)[1] == old_free + AMOUNT
    assert account_info(node, BOB.account, at=old_hash)[1] == old_free
    key = account_key(BOB.account)
    proof = node.rpc("state_getReadProof", [hexed(key)], old_hash)
    assert proof["at"] == old_hash
    nodes = [bytes.fromhex(p[2:]) for p in proof["proof"]]
    value = verify_proof(bytes.fromhex(old_header["stateRoot"][2:]), key, nodes)
    assert value is not None and hexed(value) == node.rpc("state_getStorage", hexed(key), old_hash)
    with pytest.raises(RpcCallError) as unknown:
        node.rpc("state_getStorage", hexed(key), "0x" + "00" * 32)
    assert unknown.value.code == -32602


def test_chain_and_state_reads(node: NodeProcess) -> None:
    genesis = node.rpc("chain_getBlockHash", 0)
    assert node.rpc("chain_getHeader", genesis)["number"] == 0
    assert node.rpc("chain_getBlock", genesis)["block"]["extrinsics"] == []
    assert node.rpc("chain_getHeader", "0x" + "11" * 32) is None
    assert node.rpc("chain_getBlockHash", 10**6) is None
    metadata = node.rpc("state_getMetadata")
    assert [p["name"] for p in metadata["pallets"]][:3] == ["System", "Balances", "Sudo"]
    assert node.rpc("state_getRuntimeVersion")["specVersion"] >= 1
    assert node.rpc("system_properties")["tokenSymbol"] == "UNIT"
    assert node.rpc("system_name") == "cmu-node" and node.rpc("system_chain") == "Development"
    assert "engine_createBlock" in node.rpc("rpc_methods")["methods"]


def test_future_transaction_waits_in_the_pool(node: NodeProcess, signer: Signer) -> None:
    eve = dev_keypair("eve")
    nonce = next_nonce(node, eve)
    later = signer.transfer(eve, BOB.account, 1_000_000_000, nonce + 1)
    node.rpc("author_submitExtrinsic", hexed(later))
    assert hexed(later) in node.rpc("author_pendingExtrinsics")
    assert next_nonce(node, eve) == nonce  # a future transaction does not count
    first = signer.transfer(eve, BOB.account, 1_000_000_000, nonce)
    node.rpc("author_submitExtrinsic", hexed(first))
    poll_until(lambda: next_nonce(node, eve) == nonce + 2 and not node.rpc("author_pendingExtrinsics"))


def test_metrics_are_served(node: NodeProcess) -> None:
    with urllib.request.urlopen(node.metrics_url, timeout=30) as response:
        text = response.read().decode()
    assert 'cmu_block_height{status="best"}' in text and "cmu_txpool_transactions" in text
    assert 'cmu_rpc_calls_total{method="system_health"}' in text
