"""Pipelined artifact uploads against real dev nodes: the chunks of one upload share blocks, a pool that
refuses most of them (a sender share of 4) only slows the upload down, a chunk lost on the way is found
missing and sent again, and the downloaded bytes are the uploaded ones."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from node_harness import NodeProcess

from cmu.client.chain import Chain
from cmu.client.models import download_artifact, upload_artifact
from cmu.client.rpc import Client
from cmu.client.upload import ChunkSender
from cmu.formats import artifact as art
from runtime.crypto import dev_keypair

CHUNKS = 12
DATA = os.urandom(art.CHUNK_SIZE * (CHUNKS - 1) + 1234)


@pytest.fixture(scope="module")
def node() -> Iterator[NodeProcess]:
    process = NodeProcess("--dev", "--seal", "instant", "--pool-sender-limit", "4").start()
    yield process
    code = process.stop()
    logs = process.logs()
    process.close()
    assert code == 0, logs


def _chunk_blocks(chain: Chain, first: int) -> dict[int, int]:
    """Block number -> how many upload_chunk extrinsics it holds, from block `first` to the best."""
    best = int(chain.client.request("chain_getHeader")["number"])
    counts: dict[int, int] = {}
    for number in range(first, best + 1):
        calls = [x["call"] for x in chain.block(number)["extrinsics"]]
        found = calls.count("ModelRegistry.upload_chunk")
        if found:
            counts[number] = found
    return counts


def test_chunks_share_blocks_past_a_small_pool_share_and_download_intact(node: NodeProcess) -> None:
    seen: list[tuple[int, int]] = []
    with Client(node.url, timeout=60) as client:
        chain = Chain(client)
        start = int(client.request("chain_getHeader")["number"]) + 1
        root = upload_artifact(chain, dev_keypair("bob"), DATA, progress=lambda d, t: seen.append((d, t)))
        assert download_artifact(chain, root).data == DATA
        counts = _chunk_blocks(chain, start)
    assert sum(counts.values()) == CHUNKS
    assert max(counts.values()) > 1, counts  # several chunks in one block
    assert seen[-1] == (len(DATA), len(DATA))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


class _LosesOneChunk(ChunkSender):
    """Leaves chunk 3 out of the first round, as if its submission had been lost."""

    lost = False

    def _send(self, indices: list[int], *, wait: bool) -> None:
        if not self.lost:
            self.lost = True
            indices = [i for i in indices if i != 3]
        super()._send(indices, wait=wait)


def test_a_lost_chunk_is_found_missing_and_sent_again(node: NodeProcess) -> None:
    charlie = dev_keypair("charlie")
    data = os.urandom(art.CHUNK_SIZE * 5)
    with Client(node.url, timeout=60) as client:
        chain = Chain(client)
        begun = chain.submit_and_watch(chain.sign(charlie, chain.compose(
            "ModelRegistry.begin_upload", {"root": "0x" + art.artifact_root(data).hex(), "size": len(data)})))
        upload = next(e for e in begun.events if e["event"] == "UploadStarted")["fields"]["upload"]
        sender = _LosesOneChunk(chain, charlie, upload, art.split_chunks(data), timeout=60)
        receipt = sender.send_and_finish()
        assert sender.lost and receipt.success
        assert download_artifact(chain, art.artifact_root(data)).data == data


def test_a_nonce_taken_meanwhile_is_signed_afresh(node: NodeProcess) -> None:
    dave = dev_keypair("dave")
    data = os.urandom(art.CHUNK_SIZE * 3)
    with Client(node.url, timeout=60) as client:
        chain = Chain(client)
        root = "0x" + art.artifact_root(data).hex()
        begun = chain.submit_and_watch(
            chain.sign(dave, chain.compose("ModelRegistry.begin_upload", {"root": root, "size": len(data)}))
        )
        upload = next(e for e in begun.events if e["event"] == "UploadStarted")["fields"]["upload"]
        sender = ChunkSender(chain, dave, upload, art.split_chunks(data), timeout=60)
        expected = sender.signer.nonce
        transfer = chain.sign(dave, chain.compose("Balances.transfer", {"dest": "eve", "value": 1}))
        chain.submit(transfer)  # takes the nonce the sender counted on
        assert sender.send_and_finish().success
        assert sender.signer.nonce > expected + 4  # 3 chunks + finish, after the transfer's nonce
        assert download_artifact(chain, art.artifact_root(data)).data == data
