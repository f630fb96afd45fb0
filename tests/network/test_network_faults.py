"""Faults in a 4-validator network over 3 etcd members: a validator killed (the rest go on authoring and
finalizing), an etcd member killed (the network goes on), the validator restarted (it catches up from the
log and agrees on every root), and a validator that publishes blocks with a wrong state root (refused by
the others, never finalized)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_cluster import EtcdCluster
from network_harness import Network, failed, finalized_number, roots_at, wait_finalized
from node_harness import NodeProcess, Signer, account_info, poll_until

from cmu.node.network.etcd import EtcdClient
from cmu.node.network.layout import Layout, author_index, round_of
from cmu.node.runner import open_chain
from runtime.crypto import Keypair, dev_keypair
from runtime.genesis import consortium_spec
from runtime.validators import dev_validator_keys

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


class Sender:
    """Transfers from one dev account through a chosen node, counting its nonce."""

    def __init__(self, name: str, signer: Signer, dest: bytes) -> None:
        self.keypair = dev_keypair(name)
        self.signer = signer
        self.dest = dest
        self.nonce = 0
        self.sent = 0

    def send(self, node: NodeProcess, count: int) -> None:
        for _ in range(count):
            data = self.signer.transfer(self.keypair, self.dest, AMOUNT, self.nonce)
            node.rpc("author_submitExtrinsic", "0x" + data.hex())
            self.nonce += 1
            self.sent += 1


def wait_balance(nodes: list[NodeProcess], dest: bytes, amount: int) -> None:
    for node in nodes:
        poll_until(lambda n=node: account_info(n, dest)[1] == amount, timeout=120, interval=0.2)


def assert_same_chain(nodes: list[NodeProcess], up_to: int) -> None:
    for number in range(1, up_to + 1):
        seen = {roots_at(node, number) for node in nodes}
        assert len(seen) == 1, f"nodes disagree at #{number}: {seen}"


def test_validator_and_etcd_member_killed_then_validator_catches_up(network: Network) -> None:
    alice, bob, charlie, dave = network.start_all()
    dest = bytes(Keypair.generate().account)
    eve = Sender("eve", Signer.for_node(alice), dest)
    eve.send(dave, 3)
    wait_balance([alice, bob, charlie, dave], dest, eve.sent * AMOUNT)
    before = alice.best_number()
    wait_finalized([alice, bob, charlie, dave], before)

    dave.kill()  # one validator gone: 3 of 4 still make a quorum
    network.etcd.kill(0)  # and one etcd member: 2 of 3 still make etcd's
    live = [alice, bob, charlie]
    for round_ in range(4):  # four blocks at least: one of them at dave's turn, which passes on
        eve.send(live[round_ % 3], 2)
        wait_balance(live, dest, eve.sent * AMOUNT)
    best = min(n.best_number() for n in live)
    assert best >= before + 4
    authors = {alice.rpc("chain_getHeader", alice.rpc("chain_getBlockHash", n))["author"] for n in
               range(before + 1, best + 1)}  # fmt: skip
    assert "0x" + bytes(dev_keypair("dave").account).hex() not in authors
    wait_finalized(live, best)
    assert min(finalized_number(n) for n in live) >= best

    dave = network.start("dave")  # restarted on its database: catches up from the log
    poll_until(lambda: dave.best_number() >= best, timeout=120, interval=0.2)
    eve.send(dave, 2)  # and takes part again
    everyone = [alice, bob, charlie, dave]
    wait_balance(everyone, dest, eve.sent * AMOUNT)
    best = min(n.best_number() for n in everyone)
    wait_finalized(everyone, best)
    assert_same_chain(everyone, best)


def test_block_with_wrong_state_root_is_refused_and_never_finalized(network: Network) -> None:
    alice, bob, charlie = (network.start(name) for name in ("alice", "bob", "charlie"))
    dave = network.start("dave", "--test-fault-bad-state-root")
    honest = [alice, bob, charlie]
    dest = bytes(Keypair.generate().account)
    eve = Sender("eve", Signer.for_node(alice), dest)
    ferdie = Sender("ferdie", Signer.for_node(alice), dest)
    refused = re.compile(r"REFUSED block #(\d+) .*state_root does not match")
    for i in range(12):  # enough blocks that dave's turn comes several times
        eve.send(honest[i % 3], 1)
        ferdie.send(dave, 1)  # transactions sent to the faulty node still reach honest authors
        poll_until(lambda: account_info(alice, dest)[1] == (eve.sent + ferdie.sent) * AMOUNT, timeout=60)
        if all(refused.search(node.logs()) for node in honest) and i >= 4:
            break
    for node in honest:
        assert refused.search(node.logs()), f"no refusal logged:\n{node.logs()[-3000:]}"
    assert "TEST FAULT: published block" in dave.logs()
    best = min(n.best_number() for n in honest)
    wait_finalized(honest, best)
    assert_same_chain(honest, best)
    dave_account = "0x" + bytes(dev_keypair("dave").account).hex()
    for number in range(1, best + 1):  # none of dave's (forged) blocks is in the finalized chain
        header = alice.rpc("chain_getHeader", alice.rpc("chain_getBlockHash", number))
        assert header["author"] != dave_account
        assert alice.rpc("chain_getFinalityCertificate", alice.rpc("chain_getBlockHash", number)) is not None
    assert "Dropped block #" in "".join(node.logs() for node in [*honest, dave])  # any node may drop it


def test_nodes_halt_rather_than_follow_a_log_that_contradicts_them(network: Network) -> None:
    nodes = network.start_all()
    dest = bytes(Keypair.generate().account)
    eve = Sender("eve", Signer.for_node(nodes[0]), dest)
    eve.send(nodes[1], 2)
    wait_balance(nodes, dest, eve.sent * AMOUNT)
    wait_finalized(nodes, 1)
    genesis = bytes.fromhex(nodes[0].rpc("chain_getBlockHash", 0)[2:])
    layout = Layout(genesis)

    async def rewrite_history() -> None:  # someone with etcd access drops block #1 from the log
        client = EtcdClient(network.etcd.urls)
        try:
            entry = await client.get(layout.block(1))
            assert entry is not None
            assert await client.delete_if_revision(layout.block(1), entry.mod_revision)
        finally:
            await client.close()

    asyncio.run(rewrite_history())
    for node in nodes:
        poll_until(lambda n=node: "HALTED rather than fork" in n.logs(), timeout=60)
        assert "dropped block #1, which this node executed" in node.logs()
        assert node.rpc("system_health") is not None  # halted, not crashed: it still answers reads


def test_a_block_stamped_far_in_the_future_is_refused(network: Network, tmp_path: Path) -> None:
    nodes = network.start_all()
    spec = consortium_spec()
    local = open_chain(spec, tmp_path / "forger")  # a validator's own copy, to build a valid-looking block
    try:
        timestamp = int(time.time() * 1000) + 3_600_000  # an hour ahead: a turn it may claim
        index = author_index(1, round_of(local.runtime.head.timestamp, timestamp, network.turn_ms), 4)
        keys = dev_validator_keys(spec.validators[index].name)
        builder = local.runtime.new_block(timestamp, keys.account)
        forged = builder.finish(keys.keypair).block
        assert forged is not None
    finally:
        local.close()
    layout = Layout(local.runtime.genesis_hash)

    async def publish() -> None:
        client = EtcdClient(network.etcd.urls)
        try:
            created, _ = await client.create(layout.block(1), forged.encode())
            assert created
        finally:
            await client.close()

    asyncio.run(publish())
    refusal = re.compile(r"REFUSED block #1 .*ms in the future")
    # enough validators refuse it to drop it (a node may see it dropped before it got to it)
    poll_until(lambda: sum(1 for n in nodes if refusal.search(n.logs())) >= 2, timeout=60)
    dest = bytes(Keypair.generate().account)
    eve = Sender("eve", Signer.for_node(nodes[0]), dest)
    eve.send(nodes[0], 1)  # the network goes on with an honest block #1
    wait_balance(nodes, dest, AMOUNT)
    wait_finalized(nodes, 1)
    assert all(roots_at(node, 1)[0] != "0x" + forged.hash().hex() for node in nodes)
