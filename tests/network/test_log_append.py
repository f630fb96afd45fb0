"""Appending to the etcd block log: a retry of an append whose answer was lost finds its own block and
succeeds without a second entry; an append to a height another author took loses and says who holds it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from etcd_cluster import EtcdCluster

from cmu.node.network.etcd import EtcdClient
from cmu.node.network.orderer import LostRace, NetworkParams, Orderer
from runtime.genesis import consortium_spec


def make_orderer(client: EtcdClient) -> Orderer:
    node = SimpleNamespace(runtime=SimpleNamespace(genesis_hash=bytes(32)))
    return Orderer(
        node=node, etcd=client, members=consortium_spec().validators, identity=None, params=NetworkParams()
    )


def test_a_retried_append_is_applied_once(etcd_cluster: EtcdCluster) -> None:
    async def scenario() -> None:
        client = EtcdClient(etcd_cluster.urls)
        orderer = make_orderer(client)
        try:
            first = await orderer._append(7, b"block seven")
            again = await orderer._append(7, b"block seven")  # the retry after a lost answer
            assert again == first
            entries, _ = await client.prefix(orderer.layout.blocks)
            assert [(e.key, e.value) for e in entries] == [(orderer.layout.block(7), b"block seven")]
            with pytest.raises(LostRace) as lost:
                await orderer._append(7, b"another block seven")
            assert lost.value.entry is not None and lost.value.entry.value == b"block seven"
        finally:
            orderer.stop()
            await client.close()

    asyncio.run(scenario())
