"""A real chain for the Versioning tests that go through blocks: LevelDB, signed extrinsics, sealed blocks
committed with the node's chain records (ChainDb), and the node's read API (ModelApi, VersionApi) over it.
TestTrainer stands in for the training pallet: a signed call handing one contribution's delta to
Versioning.record_training_update, the typed API a training pallet uses."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from cmu.node.chaindb import ChainDb
from cmu.node.model_api import ModelApi
from cmu.node.version_api import VersionApi
from pallets.versioning import Versioning
from runtime.block import Header
from runtime.crypto import dev_keypair
from runtime.dispatch import ApplyResult
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import dev_spec
from runtime.pallet import Event, Origin, Pallet, call
from runtime.storage.backend import LevelDBBackend
from runtime.storage.items import StorageValue
from runtime.types import I64, U32, U64, AccountId, ByteLength

MAX_DELTA = 4_096
Indices = Annotated[list[U32], ByteLength(most=MAX_DELTA)]
Values = Annotated[list[I64], ByteLength(most=MAX_DELTA)]
BLOCK_MS = 6_000


class TestTrainer(Pallet):
    """Test stand-in for a training pallet: each call is one contribution (a delta) to a model."""

    __test__ = False
    name, index = "TestTrainer", 251
    next_contribution: StorageValue[int] = StorageValue(U64, default=0, doc="The next contribution id.")

    @dataclasses.dataclass(frozen=True)
    class Contributed(Event):
        """A contribution was handed to Versioning."""

        model: U32
        contribution: U64
        who: AccountId

    @call(index=0, weight=200_000)
    def contribute(self, origin: Origin, model: U32, indices: Indices, values: Values) -> None:
        """Set flat[indices] = values of the model's weights in this block's training version."""
        who = origin.ensure_signed()
        contribution = self.next_contribution.get()
        self.runtime.pallet(Versioning).record_training_update(model, contribution, indices, values)
        self.next_contribution.set(contribution + 1)
        self.deposit_event(self.Contributed(model=model, contribution=contribution, who=who))


EXTRA = (TestTrainer,)
SPEC = dev_spec([p for p in ("Access", "TestTrainer") if p not in dev_spec().pallets])


class Chain:
    """A chain on LevelDB at `path`, authored by alice; blocks of signed extrinsics."""

    def __init__(self, path: Path, extra: Sequence[type[Pallet]] = EXTRA) -> None:
        self.backend = LevelDBBackend(str(path), create=True)
        self.runtime = Runtime(SPEC, self.backend, extra_pallets=extra, autoload=False)
        self.chaindb = ChainDb(self.backend)
        self.chaindb.open(self.runtime.head)
        self.reader = Runtime(SPEC, self.backend, extra_pallets=extra, autoload=False)
        self.models = ModelApi(SPEC, self.reader, self.chaindb, self.header_at)
        self.versions = VersionApi(self.models)
        self.nonces: dict[str, int] = {}
        self.events: list[tuple[int, list[tuple[int, Event]]]] = []  # (block number, event records)

    def close(self) -> None:
        """Close LevelDB."""
        self.backend.close()

    def header_at(self, at: Any) -> tuple[bytes, Header]:
        """The node's block lookup: the best block, or a block by 0x hash."""
        if at is None:
            head = self.chaindb.head
            return head.best_hash, head.best
        block_hash = bytes.fromhex(at[2:])
        header = self.chaindb.header(block_hash)
        if header is None:
            raise KeyError(at)
        return block_hash, header

    def sign(self, who: str, name: str, /, **kwargs: Any) -> bytes:
        """A signed extrinsic; nonces are counted here so that one block can hold several of `who`'s."""
        rt, pair = self.runtime, dev_keypair(who)
        nonce = self.nonces.get(who, rt.system.next_nonce(pair.account))
        self.nonces[who] = nonce + 1
        wire = rt.make_call(name, **kwargs).to_wire()
        return sign_extrinsic(pair, wire, nonce=nonce, genesis_hash=rt.genesis_hash,
                              spec_version=rt.VERSION.spec_version)

    def block(self, *extrinsics: bytes) -> list[ApplyResult]:
        """Author, seal and commit one block with these extrinsics (after the timestamp inherent)."""
        rt = self.runtime
        builder = rt.new_block(rt.head.timestamp + BLOCK_MS, dev_keypair("alice").account)
        results = [builder.push(data) for data in extrinsics]
        pending = builder.finish(dev_keypair("alice"))
        rt.commit(pending, extra_puts=self.chaindb.block_records(pending, finalize=True))
        self.chaindb.advance(pending.header, finalize=True)
        self.events.append((pending.header.number, list(pending.events)))
        self.reader.view(pending.header)
        return results

    def one(self, who: str, name: str, /, **kwargs: Any) -> ApplyResult:
        """A block with one extrinsic; its result."""
        (result,) = self.block(self.sign(who, name, **kwargs))
        return result


def register_args() -> dict[str, Any]:
    """ModelRegistry.register arguments of the small sparse perceptron of versioning_helpers."""
    from versioning_helpers import KIND, LABELS, SPEC

    return {"name": "m", "description": "d", "task": "t", "kind": KIND, "input_spec": SPEC,
            "labels": LABELS, "license": "MIT", "artifact": None}


def upload_extrinsics(chain: Chain, who: str, data: bytes, upload_id: int) -> list[bytes]:
    """begin_upload, every chunk and finish_upload of `data` (the upload gets id `upload_id`)."""
    from cmu.formats import artifact as art

    root = art.artifact_root(data)
    out = [chain.sign(who, "ModelRegistry.begin_upload", root=root, size=len(data))]
    for index, piece in enumerate(art.split_chunks(data)):
        out.append(chain.sign(who, "ModelRegistry.upload_chunk", upload=upload_id, index=index, data=piece))
    out.append(chain.sign(who, "ModelRegistry.finish_upload", upload=upload_id))
    return out


def contribute(chain: Chain, who: str, model: int, indices: Any, values: Any) -> bytes:
    """A TestTrainer.contribute extrinsic."""
    return chain.sign(who, "TestTrainer.contribute", model=model, indices=[int(i) for i in indices],
                      values=[int(v) for v in values])
