"""Liveness under faults within the budget, and safety beyond it: a frozen etcd member (the one every node
starts on) does not stop finality; a lost vote is re-sent (and the nodes then stop cleanly); with 2 of 4
validators or 2 of 3 etcd members down finality stops, nothing unsafe happens, and it resumes by itself
once they return; a validator whose clock is off neither forks nor gets executed entries removed (signed
refusals of an executed entry do not drop it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from etcd_cluster import EtcdCluster
from network_harness import Network, failed, finalized_number, roots_at, wait_finalized
from node_harness import NodeProcess, Signer, account_info, poll_until

from cmu.node.network.etcd import EtcdClient
from cmu.node.network.layout import Layout
from cmu.node.network.orderer import refusal_message
from runtime.crypto import Keypair, dev_keypair
from runtime.genesis import CONSORTIUM_VALIDATORS
from runtime.validators import dev_validator_keys

AMOUNT = 10**12


@pytest.fixture
def network(etcd_cluster: EtcdCluster, request: pytest.FixtureRequest) -> Iterator[Network]:
    net = Network(etcd_cluster)
    try:
        yield net
    finally:
        for member in etcd_cluster.members:
            member.thaw()
        if failed(request):
            net.print_logs()
        net.close()


class Sender:
    """Transfers from one dev account, counting its nonce."""

    def __init__(self, name: str, node: NodeProcess) -> None:
        self.keypair = dev_keypair(name)
        self.signer = Signer.for_node(node)
        self.dest = bytes(Keypair.generate().account)
        self.nonce = 0

    def send(self, node: NodeProcess, count: int = 1) -> None:
        for _ in range(count):
            data = self.signer.transfer(self.keypair, self.dest, AMOUNT, self.nonce)
            node.rpc("author_submitExtrinsic", "0x" + data.hex())
            self.nonce += 1

    def landed(self, nodes: list[NodeProcess], timeout: float = 60) -> None:
        for node in nodes:
            poll_until(lambda n=node: account_info(n, self.dest)[1] == self.nonce * AMOUNT, timeout, 0.2)


def assert_same_chain(nodes: list[NodeProcess], up_to: int) -> None:
    for number in range(1, up_to + 1):
        seen = {roots_at(node, number) for node in nodes}
        assert len(seen) == 1, f"nodes disagree at #{number}: {seen}"


def assert_safe(nodes: list[NodeProcess]) -> None:
    for node in nodes:
        assert "HALTED" not in node.logs() and "Dropped block" not in node.logs()


def test_a_frozen_first_etcd_member_does_not_stop_finality(network: Network) -> None:
    nodes = network.start_all()
    eve = Sender("eve", nodes[0])
    eve.send(nodes[1])
    eve.landed(nodes)
    wait_finalized(nodes, nodes[0].best_number())
    first = network.etcd.members[0]  # every node's first --etcd URL
    first.freeze()
    frozen_at = time.monotonic()
    for i in range(3):  # blocks keep coming and becoming final while it stays frozen
        eve.send(nodes[i % 4])
        eve.landed(nodes, timeout=30)
    best = max(n.best_number() for n in nodes)
    wait_finalized(nodes, best, timeout=30)
    assert time.monotonic() - frozen_at < 25, "finality waited for the frozen member"
    for node in nodes:  # each node said, at WARNING, which member stalled
        assert f"etcd member {first.client_url} stalled" in node.logs()
    first.thaw()
    assert_same_chain(nodes, best)
    assert_safe(nodes)


def test_a_lost_vote_is_re_sent_and_the_last_block_becomes_final(network: Network) -> None:
    # dave is down: a quorum (3 of 4) needs charlie, whose every first publication of a vote is lost
    alice, bob = network.start("alice"), network.start("bob")
    charlie = network.start("charlie", "--test-fault-lose-first-vote")
    nodes = [alice, bob, charlie]
    eve = Sender("eve", alice)
    eve.send(bob, 2)
    eve.landed(nodes)
    best = max(n.best_number() for n in nodes)
    wait_finalized(nodes, best, timeout=30)  # with no more traffic: only the re-sent vote can finalize it
    assert "TEST FAULT: lost the vote" in charlie.logs()
    # the others re-sent theirs while #best was not final for them; charlie answered with its own again
    assert any(f"re-publishing the vote on #{best}" in n.logs() for n in (alice, bob))
    assert f"sending the vote on #{best} again" in charlie.logs()
    for node in nodes:  # a clean stop leaves no task failing behind it (votes, probes, watches)
        assert node.stop() == 0
        assert "never retrieved" not in node.logs() and "Session is closed" not in node.logs()
        assert "Stopped cleanly" in node.logs()


def test_beyond_the_budget_finality_halts_safely_then_resumes(network: Network) -> None:
    nodes = network.start_all()
    alice, bob, charlie, dave = nodes
    eve = Sender("eve", alice)
    eve.send(bob)
    eve.landed(nodes)
    wait_finalized(nodes, alice.best_number())

    charlie.kill()  # 2 of 4 validators down: blocks may still be authored, none can be final
    dave.kill()
    final = finalized_number(alice)
    eve.send(alice, 2)
    eve.landed([alice, bob])
    time.sleep(3)
    assert finalized_number(alice) == final and finalized_number(bob) == final
    charlie = network.start("charlie")  # 3 of 4 again: finality resumes by itself
    live = [alice, bob, charlie]
    best = max(n.best_number() for n in live)
    wait_finalized(live, best, timeout=60)

    network.etcd.kill(1)  # 2 of 3 etcd members down: nothing is ordered or finalized
    network.etcd.kill(2)
    final = finalized_number(alice)
    eve.send(bob)
    time.sleep(4)
    assert finalized_number(alice) == final
    network.etcd.restart(1)  # a quorum of etcd again: the pending transfer lands and becomes final
    eve.landed(live, timeout=60)
    best = max(n.best_number() for n in live)
    wait_finalized(live, best, timeout=60)
    assert_same_chain(live, best)
    assert_safe(live)


def test_a_skewed_validator_neither_forks_nor_gets_executed_entries_removed(network: Network) -> None:
    alice, bob, charlie = (network.start(name) for name in CONSORTIUM_VALIDATORS[:3])
    dave = network.start("dave", skew_s=2.0)  # its clock runs 2 s ahead: its blocks look early to others
    nodes = [alice, bob, charlie, dave]
    eve = Sender("eve", alice)
    for i in range(6):  # six blocks at least: dave's turn comes
        eve.send(nodes[i % 4])
        eve.landed(nodes)
    best = min(n.best_number() for n in nodes)
    wait_finalized(nodes, best, timeout=60)
    assert_same_chain(nodes, best)
    dave_account = "0x" + bytes(dev_keypair("dave").account).hex()
    authors = {
        alice.rpc("chain_getHeader", alice.rpc("chain_getBlockHash", n))["author"] for n in range(1, best + 1)
    }
    if dave_account in authors:  # the others waited for dave's early timestamps rather than refuse them
        assert any("ahead of this node's clock" in n.logs() for n in nodes[:3])

    # two validators whose clocks drift sign refusals of block #1, which everyone executed: not dropped
    layout = Layout(bytes.fromhex(alice.rpc("chain_getBlockHash", 0)[2:]))

    async def refuse_executed_block() -> None:
        client = EtcdClient(network.etcd.urls)
        try:
            entry = await client.get(layout.block(1))
            assert entry is not None
            for index, name in ((2, "charlie"), (3, "dave")):
                message = refusal_message(layout.genesis_hash, 1, entry.mod_revision)
                signature = dev_validator_keys(name).keypair.sign(message)
                await client.put(layout.refusal(1, entry.mod_revision, index), signature)
            await asyncio.sleep(2)
            assert await client.get(layout.block(1)) == entry
        finally:
            await client.close()

    asyncio.run(refuse_executed_block())
    for node in nodes:
        poll_until(lambda n=node: "this node does not: not dropping it" in n.logs(), timeout=20)
    eve.send(bob)
    eve.landed(nodes)
    assert_safe(nodes)
