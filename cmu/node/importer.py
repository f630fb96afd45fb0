"""Block import (re-execute, verify every root, commit with the chain records) and block files.

A block file is MAGIC followed by, for each block from #0 on, its length (4 bytes, big-endian) and its
canonical encoding. Importing a file re-executes every block through Runtime.import_block; the first
block that does not decode, is out of place or does not verify is refused by number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import BinaryIO

from cmu.node.author import ChainEvents, NoEvents
from cmu.node.chaindb import ChainDb
from cmu.node.metrics import Metrics
from runtime.block import Block, Header
from runtime.errors import CodecError, InvalidBlock
from runtime.executive import PendingBlock, Runtime

log = logging.getLogger("cmu.import")
MAGIC = b"CMU-BLOCKS/1\n"
MAX_BLOCK_FILE_RECORD = 64 * 1024 * 1024


class BadBlock(Exception):
    """A block (by number) that cannot be imported, with the reason."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"block #{number} refused: {reason}")
        self.number = number
        self.reason = reason


class BlockImporter:
    """Executes received blocks on the node's runtime and commits them."""

    def __init__(
        self, runtime: Runtime, chaindb: ChainDb, metrics: Metrics, events: ChainEvents | None = None
    ) -> None:
        self.runtime = runtime
        self.chaindb = chaindb
        self.metrics = metrics
        self.events = events or NoEvents()

    def import_block(self, block: Block, *, finalize: bool = True) -> Header:
        """Re-execute and commit one block on top of the best (InvalidBlock leaves the state as it was).

        `finalize` marks it final at once (block files); the network finalizes by certificate instead."""
        return self.import_pending(block, finalize=finalize).header

    def import_pending(self, block: Block, *, finalize: bool = True) -> PendingBlock:
        """import_block, answering the executed block with its writes (the network updates its pool)."""
        started = time.perf_counter()
        pending = self.runtime.import_block(block)
        records = self.chaindb.block_records(pending, finalize=finalize)
        self.runtime.commit(pending, extra_puts=records)
        header = pending.header
        self.chaindb.advance(header, finalize=finalize)
        elapsed = time.perf_counter() - started
        self.metrics.block_import_seconds.observe(elapsed)
        self.metrics.best_height.set(header.number)
        block_hash = pending.hash
        self.events.new_head(header, block_hash)
        if finalize:
            self.metrics.finalized_height.set(header.number)
            self.events.finalized_head(header, block_hash)
        log.info(
            "Imported #%d (0x%s…%s) with %d extrinsics in %.0f ms",
            header.number,
            block_hash.hex()[:8],
            block_hash.hex()[-4:],
            len(block.extrinsics) - 1,
            elapsed * 1000,
        )
        return pending

    def import_stream(self, stream: BinaryIO) -> tuple[int, int]:
        """Import a block file: (blocks imported, blocks already known). BadBlock names the first bad one."""
        imported = known = 0
        for number, raw in read_block_file(stream):
            block = _decode(number, raw)
            if number <= self.chaindb.head.best.number:
                if self.chaindb.hash_at(number) != block.hash():
                    raise BadBlock(number, "it differs from the stored block of that number (another chain?)")
                known += 1
                continue
            try:
                self.import_block(block)
            except InvalidBlock as exc:
                raise BadBlock(number, str(exc)) from exc
            imported += 1
        return imported, known


def _decode(number: int, raw: bytes) -> Block:
    try:
        block = Block.decode(raw)
    except CodecError as exc:
        raise BadBlock(number, f"it does not decode: {exc}") from exc
    if block.header.number != number:
        raise BadBlock(number, f"the record holds block #{block.header.number}")
    return block


def write_block_file(stream: BinaryIO, blocks: Iterator[tuple[int, bytes]]) -> int:
    """Write MAGIC and the length-prefixed blocks; returns how many were written."""
    stream.write(MAGIC)
    count = 0
    for _number, raw in blocks:
        stream.write(len(raw).to_bytes(4, "big"))
        stream.write(raw)
        count += 1
    return count


def read_block_file(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(number, encoded block) records of a block file, numbered from 0 in file order."""
    if stream.read(len(MAGIC)) != MAGIC:
        raise BadBlock(0, "the file is not a cmu block export (wrong header)")
    number = 0
    while True:
        prefix = stream.read(4)
        if not prefix:
            return
        if len(prefix) != 4:
            raise BadBlock(number, "the file ends inside the block's length")
        length = int.from_bytes(prefix, "big")
        if length > MAX_BLOCK_FILE_RECORD:
            raise BadBlock(number, f"a length of {length} bytes is not plausible")
        raw = stream.read(length)
        if len(raw) != length:
            raise BadBlock(number, f"the file ends inside the block ({len(raw)} of {length} bytes)")
        yield number, raw
        number += 1
