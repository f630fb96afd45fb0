"""Crash safety: a node authoring under load is killed with SIGKILL at random moments, 20 times in a row.

After each kill the database is opened in the test process: its head must equal the re-execution of its
blocks (a second runtime imports every stored block, checking every root), and every block a client saw
through chain_getBlock must still be there with the same hash and extrinsics. Then the node restarts on
the same database and must come up at (or past) that head.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from node_harness import NodeProcess, RpcCallError, Signer, hexed, poll_until

from cmu.node.config import database_path
from cmu.node.runner import open_chain
from runtime.block import Block
from runtime.crypto import dev_keypair
from runtime.executive import Runtime
from runtime.genesis import dev_spec
from runtime.storage.backend import MemoryBackend

ROUNDS = 20
SENDERS = [dev_keypair(n) for n in ("alice", "bob", "charlie", "dave")]
DEST = dev_keypair("ferdie").account
Seen = dict[int, tuple[str, frozenset[str]]]


class Load(threading.Thread):
    """Submits transfers from several senders and records every block it sees, until the node dies."""

    def __init__(self, node: NodeProcess, signer: Signer, seen: Seen) -> None:
        super().__init__(daemon=True)
        self.node, self.signer, self.seen = node, signer, seen
        self.last = max(seen, default=0)
        self.unexpected: Exception | None = None

    def run(self) -> None:
        try:
            while True:
                self.submit()
                self.record()
        except (OSError, ValueError):  # the node was killed mid-request
            return
        except RpcCallError as exc:
            self.unexpected = exc

    def submit(self) -> None:
        batch: list[dict[str, Any]] = []
        for key in SENDERS:
            nonce = self.node.rpc("system_accountNextIndex", hexed(key.account))
            for i in range(8):
                xt = self.signer.transfer(key, DEST, 1_000_000_000 + i, nonce + i)
                batch.append(
                    {
                        "jsonrpc": "2.0",
                        "id": len(batch),
                        "method": "author_submitExtrinsic",
                        "params": [hexed(xt)],
                    }
                )
        self.node.post(json.dumps(batch))

    def record(self) -> None:
        best = self.node.best_number()
        while self.last < best:
            number = self.last + 1
            block_hash = self.node.rpc("chain_getBlockHash", number)
            block = self.node.rpc("chain_getBlock", block_hash)["block"]
            self.seen[number] = (block_hash, frozenset(block["extrinsics"]))
            self.last = number


def verify(db_path: Path, verifier: Runtime, seen: Seen) -> tuple[int, str]:
    """Open the killed node's database and check it against re-execution and what clients saw."""
    chain = open_chain(dev_spec(), db_path, create=False)
    try:
        head = chain.chaindb.head
        for number, raw in chain.chaindb.iter_blocks(verifier.head.number + 1):
            verifier.commit(verifier.import_block(Block.decode(raw)))
            assert verifier.head.number == number
        assert verifier.head == head.best, "the stored head differs from the re-execution of its blocks"
        assert chain.runtime.head == head.best
        for number, (block_hash, extrinsics) in seen.items():
            assert chain.chaindb.hash_at(number) == bytes.fromhex(block_hash[2:]), f"block #{number} was lost"
            block = chain.chaindb.block(bytes.fromhex(block_hash[2:]))
            assert block is not None and frozenset(hexed(x) for x in block.extrinsics) == extrinsics
        return head.best.number, hexed(head.best_hash)
    finally:
        chain.close()


def run_and_kill(base: Path, seen: Seen, head: tuple[int, str] | None, pause: float) -> None:
    """Start the node on `base` (it must come up at `head`), load it, and SIGKILL it while it authors."""
    node = NodeProcess("--dev", "--base-path", str(base), "--seal", "interval:100").start()
    try:
        if head is not None:
            assert node.rpc("chain_getBlockHash", head[0]) == head[1]
        load = Load(node, Signer.for_node(node), seen)
        first = load.last
        load.start()
        poll_until(lambda: load.last > first or not load.is_alive())  # blocks of transfers are coming
        time.sleep(pause)
        node.kill()
        load.join(timeout=60)
        assert load.unexpected is None, load.unexpected
    finally:
        node.close()


def test_sigkill_while_authoring_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20_240_611)
    db_path = database_path(tmp_path, dev_spec())
    verifier = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    seen: Seen = {}
    head: tuple[int, str] | None = None
    for _round in range(ROUNDS):
        run_and_kill(tmp_path, seen, head, rng.uniform(0.0, 0.8))
        head = verify(db_path, verifier, seen)
    included = sum(len(x) - 1 for _h, x in seen.values())
    print(f"{ROUNDS} kills: head #{head[0] if head else 0}, {included} transfers seen included")
    assert head is not None and head[0] >= ROUNDS and included > ROUNDS
