"""100 blocks of mixed uploads (publish_version and set_artifact), training contributions, rollbacks,
deprecations and promotions of stable with a quorum of 2 (approvals one by one and BLS aggregates) on a
real LevelDB chain. Every version's root is recomputed from its bytes, every version's weights match an
independent replay of what was submitted, parents form one tree, and the history rebuilt from the
exported blocks (re-executed into a fresh LevelDB runtime, and from their events alone) equals the state's.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from versioning_chain import Chain, contribute, register_args, upload_extrinsics
from versioning_helpers import ROWS, bls_key, encode, initial_weights, kind
from versioning_history import check_integrity, events_history, state_history

from cmu.formats import artifact as art
from cmu.models.weights import with_flat
from cmu.node.importer import BlockImporter, read_block_file, write_block_file
from cmu.node.metrics import Metrics
from cmu.node.rpc_views import versioning as versions
from pallets.access.types import Role
from pallets.versioning import Versioning
from pallets.versioning.quorum import promotion_message
from runtime import bls
from runtime.block import Block

BLOCKS = 100
MAINTAINERS = ("alice", "dave", "eve")  # alice owns the model; dave and eve are granted Maintainer
TRAINERS = ("bob", "charlie", "ferdie")


class Scenario:
    """Drives the chain and keeps an independent account of every version's weights."""

    def __init__(self, chain: Chain, seed: int) -> None:
        self.chain, self.rng = chain, random.Random(seed)
        self.expected: dict[int, Any] = {0: initial_weights()}
        self.deprecated: set[int] = set()
        self.approvals: dict[int, set[str]] = {}
        self.stable: int | None = None
        self.uploads = 0

    @property
    def latest(self) -> int:
        return max(self.expected)

    def setup(self) -> None:
        chain = self.chain
        assert chain.one("alice", "ModelRegistry.register", **register_args()).error is None
        xts = [chain.sign("alice", "Access.grant", model=0, who=_account(who), role=Role.MAINTAINER,
                          expires_at=None) for who in ("dave", "eve")]
        xts.append(chain.sign("alice", "Versioning.set_quorum", model=0, threshold=2))
        for name in ("alice", "dave"):
            _, public, pop = bls_key(name)
            xts.append(chain.sign(name, "Versioning.register_bls_key", public_key=public, pop=pop))
        assert all(r.error is None for r in chain.block(*xts))

    def block(self) -> None:
        base, xts = self.latest, []
        if self.rng.random() < 0.55:
            running = self.expected[base]
            for _ in range(self.rng.randint(1, 3)):
                step = kind().update(running, ROWS[self.rng.randrange(len(ROWS))], self.rng.randrange(3))
                running = step.weights
                xts.append(contribute(self.chain, self.rng.choice(TRAINERS), 0, step.indices, step.values))
            # the training version comes next: minted at block end, or just before an explicit version
            # that follows the contributions in this block (Versioning.settle_training)
            self.expected[self.latest + 1] = running
        if self.rng.random() < 0.6:
            xts.extend(self.operation())
        results = self.chain.block(*xts)
        assert [r.error for r in results] == [None] * len(results), [r.message for r in results]

    def operation(self) -> list[bytes]:
        roll = self.rng.random()
        if roll < 0.3:
            return self.publish(set_artifact=roll < 0.08)
        if roll < 0.5:
            return self.rollback()
        if roll < 0.8:
            return self.approve()
        if roll < 0.9:
            return self.aggregate()
        return self.deprecate()

    def usable(self) -> list[int]:
        """Versions a call may name: minted before this block, not deprecated."""
        minted = self.chain_latest()
        return [v for v in sorted(self.expected) if v not in self.deprecated and v <= minted]

    def publish(self, *, set_artifact: bool) -> list[bytes]:
        who = "alice" if set_artifact else self.rng.choice(MAINTAINERS)
        base = initial_weights()
        flat = np.asarray([self.rng.randint(-8 * 65536, 8 * 65536) for _ in range(base.flat.size)], np.int64)
        weights = with_flat(base, flat)
        data = encode(weights)
        xts = upload_extrinsics(self.chain, who, data, self.uploads)
        self.uploads += 1
        root = art.artifact_root(data)
        if set_artifact:
            xts.append(self.chain.sign(who, "ModelRegistry.set_artifact", model=0, artifact=root))
        else:
            xts.append(self.chain.sign(who, "Versioning.publish_version", model=0, artifact=root,
                                       tag=f"u{self.uploads}", notes_hash=bytes([self.uploads]) * 32,
                                       metrics=[]))
        self.expected[self.latest + 1] = weights
        return xts

    def rollback(self) -> list[bytes]:
        target = self.rng.choice(self.usable())
        self.expected[self.latest + 1] = self.expected[target]
        who = self.rng.choice(MAINTAINERS)
        return [self.chain.sign(who, "Versioning.rollback", model=0, version=target, notes_hash=None)]

    def approve(self) -> list[bytes]:
        target = self.rng.choice(self.usable())
        approvers = self.approvals.setdefault(target, set())
        who = self.rng.choice([m for m in MAINTAINERS if m not in approvers])
        approvers.add(who)
        if len(approvers) >= 2:
            self.promoted(target)
        return [self.chain.sign(who, "Versioning.approve_promotion", model=0, version=target)]

    def aggregate(self) -> list[bytes]:
        target = self.rng.choice(self.usable())
        message = promotion_message(0, target, versions.resolve(self.chain.reader, 0, target).artifact)
        signature = bls.aggregate([bls.sign(bls_key(n)[0], message) for n in ("alice", "dave")])
        self.promoted(target)
        signers = [_account("alice"), _account("dave")]
        return [self.chain.sign("bob", "Versioning.promote_with_aggregate", model=0, version=target,
                                signers=signers, signature=signature)]

    def chain_latest(self) -> int:
        return self.chain.reader.pallet(Versioning).latest(0)

    def promoted(self, target: int) -> None:
        self.stable, self.approvals = target, {}

    def deprecate(self) -> list[bytes]:
        candidates = [v for v in self.usable() if v != self.stable and v <= self.chain_latest()]
        if len(candidates) < 2:
            return []
        target = self.rng.choice(candidates[:-1])
        self.deprecated.add(target)
        self.approvals.pop(target, None)  # its pending approvals stay in state, never to be completed
        return [self.chain.sign("eve", "Versioning.deprecate", model=0, version=target)]


def _account(name: str) -> Any:
    from runtime.crypto import dev_keypair

    return dev_keypair(name).account


@pytest.fixture
def scenario(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setattr(Versioning, "CHECKPOINT_EVERY", 6)  # checkpoints within 100 blocks
    made = Scenario(chain, seed=6)
    made.setup()
    while chain.runtime.head.number < BLOCKS:
        made.block()
    return made


def test_mixed_blocks_build_one_verifiable_tree(scenario: Scenario) -> None:
    rt = scenario.chain.reader
    history = check_integrity(rt, 0)
    pallet = rt.pallet(Versioning)
    assert len(history) == len(scenario.expected)
    for entry in history:
        assert pallet.weights_at(0, entry["version"]) == scenario.expected[entry["version"]], entry
    causes = [e["cause"] for e in history]
    assert causes.count("training") >= 15 and causes.count("rollback") >= 4 and causes.count("upload") >= 6
    assert sum(1 for e in history if not e["full"]) >= 10 and sum(1 for e in history[1:] if e["full"]) >= 6
    assert pallet.channels.get(0, "stable") == scenario.stable is not None
    assert sorted(v for (m, v), _ in pallet.deprecated.items() if m == 0) == sorted(scenario.deprecated)


def test_mixed_blocks_history_is_rebuilt_from_exported_blocks(scenario: Scenario, tmp_path: Any) -> None:
    chain = scenario.chain
    in_state = state_history(chain.reader, 0)
    assert events_history(chain.events, 0) == in_state
    exported = tmp_path / "blocks.bin"
    with open(exported, "wb") as stream:
        assert write_block_file(stream, chain.chaindb.iter_blocks()) == BLOCKS + 1
    fresh = Chain(tmp_path / "fresh")
    try:
        importer = BlockImporter(fresh.runtime, fresh.chaindb, Metrics())
        replayed = []
        with open(exported, "rb") as stream:
            for number, raw in read_block_file(stream):
                if number == 0:
                    assert Block.decode(raw).hash() == fresh.chaindb.head.best_hash
                    continue
                importer.import_block(Block.decode(raw))
                replayed.append((number, list(fresh.runtime.last_events)))
        assert fresh.runtime.head == chain.runtime.head  # same state root, block by block re-executed
        assert state_history(fresh.runtime, 0) == in_state
        assert events_history(replayed, 0) == in_state
        check_integrity(fresh.runtime, 0)
    finally:
        fresh.close()
