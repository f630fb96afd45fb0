"""Determinism across runtimes: blocks of contributions, refunds and reports built by one runtime in memory
are re-executed by another on a real LevelDB at the same state roots (the in-memory running weights and
the decode caches change no result), and after reopening the database the training state is all there."""

from __future__ import annotations

from pathlib import Path

from training_helpers import COST, SCALE, SPECS, WAITS

from pallets.training import Training
from pallets.training.types import Mechanism, Status
from pallets.versioning import Versioning
from runtime.crypto import dev_keypair
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import dev_spec
from runtime.storage.backend import LevelDBBackend, MemoryBackend

POS, NEG = [2 * SCALE, SCALE, 0], [-2 * SCALE, -SCALE, 0]


class Builder:
    """Builds blocks of signed extrinsics on an in-memory runtime, each `gap_s` after the last."""

    def __init__(self) -> None:
        self.rt = Runtime(dev_spec(), MemoryBackend(), autoload=False)
        self.nonces: dict[str, int] = {}
        self.blocks: list[object] = []

    def block(self, gap_s: int, *calls: tuple[str, str, dict[str, object]]) -> None:
        rt = self.rt
        builder = rt.new_block(rt.head.timestamp + gap_s * 1_000, dev_keypair("alice").account)
        for who, name, args in calls:
            nonce = self.nonces.get(who, 0)
            xt = sign_extrinsic(dev_keypair(who), rt.make_call(name, **args).to_wire(), nonce=nonce,
                                genesis_hash=rt.genesis_hash, spec_version=rt.VERSION.spec_version)
            result = builder.push(xt)
            assert result.error is None, (name, result.error, result.message)
            self.nonces[who] = nonce + 1
        pending = builder.finish(dev_keypair("alice"))
        rt.commit(pending)
        self.blocks.append(pending.block)


def add(who: str, features: list[int], label: int) -> tuple[str, str, dict[str, object]]:
    return who, "Training.add_data", {"model": 0, "features": features, "label": label}


Call = tuple[str, str, dict[str, object]]


def settle(who: str, call: str, cid: int, features: list[int], label: int) -> Call:
    return who, f"Training.{call}", {"contribution": cid, "features": features, "label": label}


def test_training_blocks_reimport_on_leveldb_at_the_same_roots_and_persist(tmp_path: Path) -> None:
    chain = Builder()
    register = {"name": "m", "description": "", "task": "t", "kind": "dense_perceptron",
                "input_spec": SPECS["dense_perceptron"], "labels": ("neg", "pos"), "license": "",
                "artifact": None}
    config = {"model": 0, "enabled": True, "mechanism": Mechanism.STAKE, **WAITS, "cost_weight": COST,
              "batch_limit": 4}
    chain.block(6, ("alice", "ModelRegistry.register", register), ("alice", "Training.set_config", config))
    chain.block(6, add("charlie", POS, 1), add("dave", NEG, 0), add("bob", POS, 0), add("eve", POS, 1))
    refunds = (settle("charlie", "refund", 0, POS, 1), settle("dave", "refund", 1, NEG, 0))
    chain.block(WAITS["refund_wait_s"], *refunds)
    chain.block(6, settle("charlie", "report", 2, POS, 0), add("ferdie", NEG, 0))
    path = str(tmp_path / "db")
    backend = LevelDBBackend(path)
    importer = Runtime(dev_spec(), backend, autoload=False)
    for block in chain.blocks:
        importer.commit(importer.import_block(block))  # InvalidBlock on any differing root
    assert importer.head.state_root == chain.rt.head.state_root
    backend.close()

    reopened = Runtime(dev_spec(), LevelDBBackend(path), autoload=False)
    pallet = reopened.pallet(Training)
    assert [pallet.contribution(i).status for i in range(5)] == [
        Status.REFUNDED, Status.REFUNDED, Status.OPEN, Status.OPEN, Status.OPEN
    ]
    assert pallet.contribution(2).claimable < pallet.contribution(2).initial_deposit  # charlie took a share
    versioning = reopened.pallet(Versioning)
    assert versioning.latest(0) == 2  # one training version per block with contributions
    expected = chain.rt.pallet(Versioning).weights_at(0, 2)
    assert versioning.current_weights(0) == expected
    reopened.backend.close()
