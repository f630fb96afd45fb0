"""Tests for client.rpc and client.ws: JSON-RPC over HTTP (keep-alive, batches, typed errors) and
WebSocket subscriptions against the fake node, plus the WebSocket framing itself."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from client_fakenode import FakeNode

from cmu.client.chain import Chain, _check_status
from cmu.client.errors import NodeUnreachable, ProtocolError, RpcError, TransactionFailed, TransactionRejected
from cmu.client.rpc import Client, ws_url
from cmu.client.ws import OP_PING, OP_TEXT, decode_frame, encode_frame
from runtime.crypto import dev_keypair


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- WebSocket framing ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
@pytest.mark.parametrize("mask", [None, b"\x01\x02\x03\x04"])
def test_frames_round_trip(size: int, mask: bytes | None) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = encode_frame(OP_TEXT, payload, mask=mask)
    assert decode_frame(frame) == (True, OP_TEXT, payload, len(frame))
    assert decode_frame(frame[:-1] if size else frame[:1]) is None  # incomplete: wait for more


def test_decode_frame_reads_only_the_first_frame() -> None:
    first, second = encode_frame(OP_PING, b"p"), encode_frame(OP_TEXT, b"hello")
    assert decode_frame(first + second) == (True, OP_PING, b"p", len(first))


def test_ws_url_uses_the_same_host_and_port() -> None:
    assert ws_url("http://127.0.0.1:9944") == "ws://127.0.0.1:9944"
    assert ws_url("https://node.example:443/rpc") == "wss://node.example:443/rpc"


# --- HTTP ---------------------------------------------------------------------------------------


def test_request_and_batch_work_on_one_connection(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        assert client.request("system_chain") == "Development"
        connection = client._conn
        genesis, version = client.batch([("chain_getBlockHash", [0]), ("state_getRuntimeVersion", None)])
        assert client._conn is connection  # kept alive
    assert genesis == "0x" + fake_node.chain.runtime.genesis_hash.hex()
    assert version["specVersion"] == 1


def test_batch_returns_or_raises_errors(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        with pytest.raises(RpcError) as info:
            client.batch([("system_chain", []), ("no_such_method", [])])
        assert info.value.code == -32601
        results = client.batch([("system_chain", []), ("no_such_method", [])], return_exceptions=True)
    assert results[0] == "Development" and isinstance(results[1], RpcError)


def test_a_refused_extrinsic_raises_transaction_rejected(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        call = chain.compose("Balances.transfer", {"dest": "bob", "value": "2000000"})
        extrinsic = chain.sign(dev_keypair("alice"), call)
        chain.submit(extrinsic)
        with pytest.raises(TransactionRejected) as info:
            chain.submit(extrinsic)
    assert info.value.code == 1010 and info.value.error == "StaleNonce"
    assert "transaction rejected: StaleNonce" in str(info.value)


def test_a_bad_signature_is_rejected(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        extrinsic = bytearray(
            chain.sign(dev_keypair("alice"), chain.compose("Notes.set_note", {"text": "x"}))
        )
        extrinsic[40] ^= 1  # inside the signature
        with pytest.raises(TransactionRejected) as info:
            chain.submit(bytes(extrinsic))
    assert info.value.error == "BadSignature"


def test_no_node_raises_node_unreachable() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", timeout=2) as client, pytest.raises(NodeUnreachable):
        client.request("system_chain")


def test_a_bad_url_is_refused() -> None:
    with pytest.raises(ProtocolError, match="not an http"):
        Client("ftp://x")


def test_the_connection_is_reopened_after_the_server_closes_it(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        client.request("system_chain")
        assert client._conn is not None and client._conn.sock is not None
        client._conn.sock.shutdown(socket.SHUT_RDWR)
        assert client.request("system_chain") == "Development"


# --- subscriptions ------------------------------------------------------------------------------


def test_new_heads_subscription_sees_each_block(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        with client.subscribe("chain_subscribeNewHeads") as heads:
            for value in ("2000000", "3000000"):
                chain.submit(
                    chain.sign(
                        dev_keypair("alice"),
                        chain.compose("Balances.transfer", {"dest": "bob", "value": value}),
                    )
                )
            first, second = heads.next(timeout=5), heads.next(timeout=5)
    assert (first["number"], second["number"]) == (1, 2)
    assert second["parentHash"] == first["hash"]


def test_a_quiet_subscription_times_out(fake_node: FakeNode) -> None:
    with (
        Client(fake_node.url) as client,
        client.subscribe("chain_subscribeNewHeads") as heads,
        pytest.raises(TimeoutError),
    ):
        heads.next(timeout=0.2)


def test_submit_and_watch_returns_a_receipt(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        call = chain.compose("Balances.transfer", {"dest": "bob", "value": "2000000"})
        receipt = chain.submit_and_watch(chain.sign(dev_keypair("alice"), call), timeout=10)
    assert receipt.success and receipt.block_number == 1 and receipt.index == 1
    assert [e["event"] for e in receipt.events] == ["Transfer", "ExtrinsicSuccess"]
    assert receipt.block_hash == fake_node.chain.head_hash()


def test_submit_and_watch_reports_a_failed_call(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        call = chain.compose("Notes.set_note", {"text": "x" * 300})
        receipt = chain.submit_and_watch(chain.sign(dev_keypair("bob"), call), timeout=10, finalized=True)
    assert not receipt.success and receipt.finalized
    assert receipt.error == "Notes.TooLong" and receipt.message == "The note is longer than MAX_LEN."


def test_submit_and_watch_raises_when_refused(fake_node: FakeNode) -> None:
    with Client(fake_node.url) as client:
        chain = Chain(client)
        call = chain.compose("Notes.set_note", {"text": "x"})
        with pytest.raises(TransactionRejected) as info:
            chain.submit_and_watch(chain.sign(dev_keypair("//nobody"), call), timeout=10)
    assert info.value.error == "CannotPayFees"


# --- watch statuses -----------------------------------------------------------------------------


def test_watch_statuses_fold_to_the_inclusion() -> None:
    in_block = {"inBlock": "0xaa", "success": True, "error": None}
    assert _check_status("ready", None) is None
    assert _check_status("future", None) is None
    assert _check_status(in_block, None) == in_block
    assert _check_status({"retracted": "0xaa"}, in_block) is None
    assert _check_status({"finalized": "0xaa"}, in_block) == {**in_block, "finalized": "0xaa"}
    assert _check_status({"finalized": "0xbb"}, None) == {"inBlock": "0xbb", "finalized": "0xbb"}


@pytest.mark.parametrize(
    ("status", "error", "name"),
    [
        (
            {"invalid": {"code": "Stale", "error": "StaleNonce", "message": "used"}},
            TransactionRejected,
            "StaleNonce",
        ),
        ({"dropped": "pool full"}, TransactionFailed, "Dropped"),
        ({"usurped": "0xbb"}, TransactionFailed, "Usurped"),
    ],
)
def test_watch_statuses_that_end_badly_raise(
    status: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error) as info:
        _check_status(status, None)
    assert info.value.error == name  # type: ignore[attr-defined]
