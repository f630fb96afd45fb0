"""The etcd gateway client against a real 3-member cluster: compare-and-swap creation is idempotent under
retries, guarded deletes, prefix ranges, and watches that survive the loss of the member they use."""

from __future__ import annotations

import asyncio

import pytest
from etcd_cluster import EtcdCluster

from cmu.node.network.etcd import Compacted, EtcdClient, prefix_end


def test_prefix_end_covers_the_prefix() -> None:
    assert prefix_end(b"/a/") == b"/a0"
    assert prefix_end(b"a\xff") == b"b"


def test_create_is_a_compare_and_swap(etcd_cluster: EtcdCluster) -> None:
    async def scenario() -> None:
        client = EtcdClient(etcd_cluster.urls)
        try:
            created, mine = await client.create(b"/t/blocks/1", b"first")
            assert created and mine is not None and mine.value == b"first"
            created, existing = await client.create(b"/t/blocks/1", b"second")
            assert not created and existing is not None
            assert existing.value == b"first" and existing.mod_revision == mine.mod_revision
            # a retry of the first append finds its own value: the caller knows it went through once
            created, existing = await client.create(b"/t/blocks/1", b"first")
            assert not created and existing is not None and existing.value == b"first"
            kv = await client.get(b"/t/blocks/1")
            assert kv is not None and kv.value == b"first"
            assert not await client.delete_if_revision(b"/t/blocks/1", kv.mod_revision + 100)
            assert await client.delete_if_revision(b"/t/blocks/1", kv.mod_revision)
            assert await client.get(b"/t/blocks/1") is None
        finally:
            await client.close()

    asyncio.run(scenario())


def test_prefix_lists_keys_in_order(etcd_cluster: EtcdCluster) -> None:
    async def scenario() -> None:
        client = EtcdClient(etcd_cluster.urls)
        try:
            for key in (b"/p/b", b"/p/a", b"/q/x", b"/p/c"):
                await client.put(key, key.upper())
            kvs, revision = await client.prefix(b"/p/")
            assert [kv.key for kv in kvs] == [b"/p/a", b"/p/b", b"/p/c"]
            assert [kv.value for kv in kvs] == [b"/P/A", b"/P/B", b"/P/C"]
            assert revision >= 4
        finally:
            await client.close()

    asyncio.run(scenario())


def test_watch_resumes_on_another_member(etcd_cluster: EtcdCluster) -> None:
    async def scenario() -> None:
        writer = EtcdClient(etcd_cluster.urls[1:])
        watcher = EtcdClient(etcd_cluster.urls)  # watches through member 0 first
        try:
            first = await writer.put(b"/w/0", b"zero")
            seen: list[bytes] = []

            async def follow() -> None:
                async for event in watcher.watch(b"/w/", first):
                    seen.append(event.kv.value)
                    if len(seen) == 3:
                        return

            task = asyncio.create_task(follow())
            while not seen:
                await asyncio.sleep(0.05)
            etcd_cluster.kill(0)  # the watched member goes away
            await writer.put(b"/w/1", b"one")
            await writer.put(b"/w/2", b"two")
            await asyncio.wait_for(task, 60)
            assert seen == [b"zero", b"one", b"two"]
        finally:
            await writer.close()
            await watcher.close()

    asyncio.run(scenario())


def test_a_value_of_megabytes_goes_through_put_range_and_watch(etcd_cluster: EtcdCluster) -> None:
    big = bytes(range(256)) * (3 * 1024 * 1024 // 256)  # a large block: one watch line of about 4 MB

    async def scenario() -> None:
        client = EtcdClient(etcd_cluster.urls)
        try:
            revision = await client.put(b"/big/block", big)
            kv = await client.get(b"/big/block")
            assert kv is not None and kv.value == big
            async for event in client.watch(b"/big/", revision):
                assert event.kv.value == big
                break
        finally:
            await client.close()

    asyncio.run(scenario())


def test_a_watch_below_the_compacted_revision_says_so(etcd_cluster: EtcdCluster) -> None:
    async def scenario() -> None:
        client = EtcdClient(etcd_cluster.urls)
        try:
            first = await client.put(b"/c/a", b"1")
            last = await client.put(b"/c/a", b"2")
            await client.call("/v3/kv/compaction", {"revision": str(last), "physical": True})
            with pytest.raises(Compacted):
                async for _event in client.watch(b"/c/", first):
                    pass
        finally:
            await client.close()

    asyncio.run(scenario())
