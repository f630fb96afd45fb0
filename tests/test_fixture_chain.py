"""Importing the recorded fixture chain gives the recorded head state root and the recorded events of every
block: the runtime still computes what it computed when the chain was made.

The fixture (tests/fixtures/chain/: spec.json, blocks.bin as `node.py export-blocks` writes them, and
expected.json) exercises every pallet. It goes through the node's real import path (open_chain on a fresh
LevelDB, BlockImporter re-executing each block and committing it with the chain records).

When behaviour changes ON PURPOSE (a fee rule, a pallet's storage or events), regenerate it with one command
and say why in the commit:

    python tests/fixtures/make_chain.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmu.node.importer import BlockImporter, read_block_file
from cmu.node.metrics import Metrics
from cmu.node.runner import open_chain
from runtime.genesis import ChainSpec

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "chain"


def _expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
    return data


def test_fixture_exercises_every_pallet() -> None:
    """The recorded events name every pallet of the spec, refunds and takes included."""
    spec = ChainSpec.load(FIXTURE / "spec.json")
    names = {name for block in _expected()["blocks"] for name in block["names"]}
    pallets = {name.split(".")[0] for name in names}
    assert set(spec.pallets) - {"System"} <= pallets
    needed = {"Training.Refunded", "Training.Taken", "Balances.Transfer", "Versioning.ChannelMoved",
              "Access.PassBought", "ModelRegistry.ArtifactStored", "Sudo.Sudid"}
    assert needed <= names


def test_import_gives_recorded_roots_and_events(tmp_path: Path) -> None:
    """Re-executing every block yields the same events per block, head hash and head state root."""
    expected = _expected()
    opened = open_chain(ChainSpec.load(FIXTURE / "spec.json"), tmp_path / "db", create=True)
    importer = BlockImporter(opened.runtime, opened.chaindb, Metrics())
    from runtime.block import Block

    try:
        recorded = iter(expected["blocks"])
        with open(FIXTURE / "blocks.bin", "rb") as stream:
            for number, raw in read_block_file(stream):
                if number == 0:
                    assert Block.decode(raw).hash() == opened.runtime.genesis_hash
                    continue
                pending = importer.import_pending(Block.decode(raw))
                block = next(recorded)
                assert block["number"] == number
                assert opened.runtime.encode_events(pending.events).hex() == block["encoded"], number
        assert next(recorded, None) is None
        head = opened.chaindb.head
        assert head.best.number == expected["head_number"]
        assert head.best.state_root.hex() == expected["state_root"]
        assert head.best_hash.hex() == expected["head_hash"]
    finally:
        opened.close()


def test_tampered_block_is_refused(tmp_path: Path) -> None:
    """The comparison can fail: a block whose extrinsic is swapped out no longer imports."""
    from runtime.block import Block
    from runtime.errors import InvalidBlock

    opened = open_chain(ChainSpec.load(FIXTURE / "spec.json"), tmp_path / "db", create=True)
    importer = BlockImporter(opened.runtime, opened.chaindb, Metrics())
    try:
        with open(FIXTURE / "blocks.bin", "rb") as stream:
            blocks = [Block.decode(raw) for _, raw in read_block_file(stream)]
        first = blocks[1]
        tampered = Block(first.header, (first.extrinsics[0],), first.seal)
        with pytest.raises(InvalidBlock):
            importer.import_block(tampered)
    finally:
        opened.close()
