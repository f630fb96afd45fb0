"""A consortium network on loopback: 3 etcd members and 4 validator node processes (alice, bob, charlie,
dave) ordering blocks through etcd and finalizing them with BLS certificates; transactions sent to
different nodes; every node executes every block and agrees on every hash and state root."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from etcd_cluster import EtcdCluster
from network_harness import Network, failed, finalized_number, roots_at, wait_finalized
from node_harness import NodeProcess, Signer, WsClient, account_info, poll_until

from cmu.node.finality import FinalityCertificate, verify_certificate
from runtime.crypto import Keypair, dev_keypair
from runtime.genesis import consortium_spec

SENDERS = ("eve", "ferdie", "alice", "bob")
AMOUNT = 10**12


@pytest.fixture
def network(etcd_cluster: EtcdCluster, request: pytest.FixtureRequest) -> Iterator[Network]:
    net = Network(etcd_cluster)
    try:
        yield net
    finally:
        if failed(request):
            net.print_logs()
        net.close()


def send_transfers(nodes: list[NodeProcess], count: int, dest: bytes) -> None:
    """`count` transfers from each sender, each sender through its own node."""
    signer = Signer.for_node(nodes[0])
    for sender, node in zip(SENDERS, nodes, strict=False):
        keypair = dev_keypair(sender)
        nonce = node.rpc("system_accountNextIndex", "0x" + bytes(keypair.account).hex())
        for i in range(count):
            node.rpc("author_submitExtrinsic", "0x" + signer.transfer(keypair, dest, AMOUNT, nonce + i).hex())


def assert_same_chain(nodes: list[NodeProcess], up_to: int) -> None:
    """Every node has the same block hash and state root at every height up to `up_to`."""
    for number in range(1, up_to + 1):
        seen = {roots_at(node, number) for node in nodes}
        assert len(seen) == 1, f"nodes disagree at #{number}: {seen}"


def test_four_validators_agree_and_finalize(network: Network) -> None:
    nodes = network.start_all()
    dest = bytes(Keypair.generate().account)  # not a validator: authors earn the fees
    send_transfers(nodes, 3, dest)  # two waves, so at least two blocks (of two different authors)
    first = 3 * len(SENDERS) * AMOUNT
    poll_until(lambda: account_info(nodes[0], dest)[1] == first, timeout=90, interval=0.2)
    send_transfers(nodes, 2, dest)
    expected = 5 * len(SENDERS) * AMOUNT

    for node in nodes:  # each node executed every transfer, whichever node received it
        poll_until(lambda n=node: account_info(n, dest)[1] == expected, timeout=90, interval=0.2)
    best = min(node.best_number() for node in nodes)
    wait_finalized(nodes, best)
    assert_same_chain(nodes, best)
    authors = {nodes[0].rpc("chain_getHeader", nodes[0].rpc("chain_getBlockHash", n))["author"] for n in
               range(1, best + 1)}  # fmt: skip
    assert len(authors) >= 2, "blocks should come from several validators (round-robin)"

    spec = consortium_spec()
    for node in nodes:  # every node stores a certificate that verifies against the spec's validators
        for number in (1, best):
            block_hash = node.rpc("chain_getBlockHash", number)
            cert_json = node.rpc("chain_getFinalityCertificate", block_hash)
            assert cert_json is not None, f"no certificate for #{number}"
            cert = FinalityCertificate.from_json(cert_json)
            assert cert.block_hash.hex() == block_hash[2:]
            verify_certificate(cert, spec.validators)
            assert len(cert.signers) >= 3


def test_a_follower_node_follows_the_finalized_chain(network: Network) -> None:
    nodes = network.start_all()
    follower = network.start("follower", validator=False)
    dest = bytes(Keypair.generate().account)
    send_transfers([follower, *nodes[:3]], 2, dest)  # a follower passes transactions on, too
    poll_until(lambda: finalized_number(follower) >= 1 and follower.best_number() >= 1, timeout=90)
    best = nodes[0].best_number()
    wait_finalized([follower, *nodes], best)
    assert_same_chain([follower, *nodes], best)
    assert follower.stop() == 0  # SIGTERM: a network node stops cleanly
    assert "Stopped cleanly" in follower.logs()


def test_finalized_head_subscription_follows_certificates(network: Network) -> None:
    nodes = network.start_all()
    dest = bytes(Keypair.generate().account)

    async def scenario() -> list[dict[str, Any]]:
        async with WsClient(nodes[2].ws_url) as ws:
            finalized = await ws.subscribe("chain_subscribeFinalizedHeads")
            first = await ws.next(finalized)  # the current finalized head (genesis here)
            send_transfers(nodes[:1], 1, dest)
            later = [first]
            while later[-1]["number"] < 1:
                later.append(await ws.next(finalized, timeout=60))
            return later

    heads = asyncio.run(scenario())
    assert heads[0]["number"] == 0
    head = heads[-1]
    cert = nodes[2].rpc("chain_getFinalityCertificate", head["hash"])
    assert cert is not None and cert["blockHash"] == head["hash"] and cert["stateRoot"] == head["stateRoot"]
    assert len(cert["signers"]) >= 3
