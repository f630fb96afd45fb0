"""The chain database: blocks, the number index, head pointers and a per-block state-change index, kept in
the same LevelDB as the runtime state and written in the same batch as each block's state changes.

Key layout (the runtime owns b"S" state, b"T" trie nodes and b"M:" meta):
    b"B" + hash            -> encoded block                 (kept for ever)
    b"h" + hash            -> encoded header                (so reads at a block need not decode it whole)
    b"N" + number (4B BE)  -> block hash
    b"C:best", b"C:final"  -> hashes of the best and the finalized block
    b"F" + number (4B BE)  -> encoded finality certificate of best-chain block `number`
    b"C:cert"              -> number (4B BE) of the latest block with a certificate
    b"H" + len(key) (2B BE) + key + (0xFFFFFFFF - number) (4B BE) -> b"\\x01" + value, or b"\\x00" (deleted)
The inverted number makes an ascending seek from (key, n) land on the latest change at or before block n.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

from cmu.node.finality import FinalityCertificate
from runtime.block import Block, Header
from runtime.executive import PendingBlock
from runtime.storage.backend import Backend
from runtime.storage.overlay import STATE_PREFIX

BLOCK_PREFIX = b"B"
HEADER_PREFIX = b"h"
NUMBER_PREFIX = b"N"
HISTORY_PREFIX = b"H"
BEST_KEY = b"C:best"
FINAL_KEY = b"C:final"
CERT_PREFIX = b"F"
LATEST_CERT_KEY = b"C:cert"
GENESIS_SEAL = bytes(64)
_U32 = 0xFFFFFFFF
_PRESENT = b"\x01"
_DELETED = b"\x00"

Put = tuple[bytes, bytes]


class ChainDbError(Exception):
    """The chain database is missing a record it must have, or disagrees with the runtime's head."""


@dataclasses.dataclass(frozen=True, slots=True)
class ChainHead:
    """The best and finalized blocks as readers see them (replaced whole after each block)."""

    best: Header
    best_hash: bytes
    final: Header
    final_hash: bytes


def number_key(number: int) -> bytes:
    """The index key of block `number`."""
    return NUMBER_PREFIX + number.to_bytes(4, "big")


def history_prefix(state_key: bytes) -> bytes:
    """The prefix of every history entry of one state key (its length makes it unambiguous)."""
    return HISTORY_PREFIX + len(state_key).to_bytes(2, "big") + state_key


def history_key(state_key: bytes, number: int) -> bytes:
    """The history entry of `state_key` written by block `number`."""
    return history_prefix(state_key) + (_U32 - number).to_bytes(4, "big")


def history_puts(puts: Iterable[Put], deletes: Iterable[bytes], number: int) -> list[Put]:
    """History entries for the state writes (b"S" keys) among a block's backend operations."""
    prefix_byte = STATE_PREFIX[0]
    out = [(history_key(k[1:], number), _PRESENT + v) for k, v in puts if k and k[0] == prefix_byte]
    out += [(history_key(k[1:], number), _DELETED) for k in deletes if k and k[0] == prefix_byte]
    return out


class ChainDb:
    """Block records and historic state over a backend shared with the runtime."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._head: ChainHead | None = None

    # --- head --------------------------------------------------------------------------------------

    @property
    def head(self) -> ChainHead:
        """The current best and finalized blocks (ChainDbError before `open`)."""
        if self._head is None:
            raise ChainDbError("the chain database is not open")
        return self._head

    def open(self, runtime_head: Header) -> ChainHead:
        """Load the head pointers, writing the genesis records on first start; check the runtime agrees."""
        best_hash = self.backend.get(BEST_KEY)
        if best_hash is None:
            if runtime_head.number != 0:
                raise ChainDbError(f"the state is at block {runtime_head.number} but no blocks are stored")
            self.backend.write(self.genesis_records(runtime_head))
            best_hash = runtime_head.hash()
        if best_hash != runtime_head.hash():
            raise ChainDbError(
                f"best block 0x{best_hash.hex()} is not the runtime head 0x{runtime_head.hash().hex()}"
            )
        final_hash = self.backend.get(FINAL_KEY) or best_hash
        self._head = ChainHead(runtime_head, best_hash, self._required_header(final_hash), final_hash)
        return self._head

    def genesis_records(self, genesis: Header) -> list[Put]:
        """Block 0, its index, the head pointers and a history entry for every genesis state key."""
        genesis_hash = genesis.hash()
        records = [
            (BLOCK_PREFIX + genesis_hash, Block(genesis, (), GENESIS_SEAL).encode()),
            (HEADER_PREFIX + genesis_hash, genesis.encode()),
            (number_key(0), genesis_hash),
            (BEST_KEY, genesis_hash),
            (FINAL_KEY, genesis_hash),
        ]
        state = self.backend.iterate(STATE_PREFIX)
        return records + history_puts(state, (), 0)

    def block_records(self, pending: PendingBlock, *, finalize: bool) -> list[Put]:
        """What a block adds to the chain database, for `runtime.commit(pending, extra_puts=...)`."""
        block = pending.block
        if block is None:
            raise ChainDbError("a pending block without its block (not sealed)")
        block_hash = pending.hash
        records = [
            (BLOCK_PREFIX + block_hash, block.encode()),
            (HEADER_PREFIX + block_hash, pending.header.encode()),
            (number_key(pending.header.number), block_hash),
            (BEST_KEY, block_hash),
        ]
        if finalize:
            records.append((FINAL_KEY, block_hash))
        return records + history_puts(pending.puts, pending.deletes, pending.header.number)

    def advance(self, header: Header, *, finalize: bool) -> ChainHead:
        """Move the in-memory head after a block's batch was written."""
        old = self.head
        block_hash = header.hash()
        final, final_hash = (header, block_hash) if finalize else (old.final, old.final_hash)
        self._head = ChainHead(header, block_hash, final, final_hash)
        return self._head

    def finalize(self, block_hash: bytes) -> ChainHead:
        """Mark an earlier block (at or above the finalized one, on the best chain) final."""
        header = self._required_header(block_hash)
        old = self.head
        if header.number < old.final.number or self.hash_at(header.number) != block_hash:
            raise ChainDbError(f"0x{block_hash.hex()} is not a best-chain block above the finalized one")
        self.backend.write([(FINAL_KEY, block_hash)])
        self._head = dataclasses.replace(old, final=header, final_hash=block_hash)
        return self._head

    # --- blocks ------------------------------------------------------------------------------------

    def hash_at(self, number: int) -> bytes | None:
        """The hash of best-chain block `number`, or None."""
        if not 0 <= number <= _U32:
            return None
        return self.backend.get(number_key(number))

    def block_bytes(self, block_hash: bytes) -> bytes | None:
        """The stored encoding of a block, or None."""
        return self.backend.get(BLOCK_PREFIX + block_hash)

    def block(self, block_hash: bytes) -> Block | None:
        """A stored block, or None."""
        raw = self.block_bytes(block_hash)
        return None if raw is None else Block.decode(raw)

    def header(self, block_hash: bytes) -> Header | None:
        """A stored block's header, or None (the head's comes from memory)."""
        head = self._head
        if head is not None and block_hash == head.best_hash:
            return head.best
        raw = self.backend.get(HEADER_PREFIX + block_hash)
        return None if raw is None else Header.decode(raw)

    def _required_header(self, block_hash: bytes) -> Header:
        header = self.header(block_hash)
        if header is None:
            raise ChainDbError(f"block 0x{block_hash.hex()} is not stored")
        return header

    def iter_blocks(self, first: int = 0, last: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(number, encoded block) of the best chain from `first` to `last` (default: the best)."""
        end = self.head.best.number if last is None else last
        for number in range(first, end + 1):
            block_hash = self.hash_at(number)
            raw = None if block_hash is None else self.block_bytes(block_hash)
            if raw is None:
                raise ChainDbError(f"block #{number} is missing from the database")
            yield number, raw

    # --- historic state ----------------------------------------------------------------------------

    def state_at(self, state_key: bytes, number: int) -> bytes | None:
        """The value of a runtime state key after block `number` (None: absent)."""
        prefix = history_prefix(state_key)
        start = prefix + (_U32 - number).to_bytes(4, "big")
        for _key, value in self.backend.iterate(prefix, start):
            return value[1:] if value[:1] == _PRESENT else None
        return None

    def state_getter(self, number: int) -> Callable[[bytes], bytes | None]:
        """A reader of the state after block `number` (for historic read proofs)."""
        return lambda key: self.state_at(key, number)

    def latest_state(self, state_key: bytes) -> bytes | None:
        """The committed value of a state key (at the newest written block)."""
        return self.backend.get(STATE_PREFIX + state_key)

    # --- finality certificates ---------------------------------------------------------------------
    # The caller verifies a certificate (service.finality.verify_certificate) before storing it.

    def certificate_records(
        self, cert: FinalityCertificate, *, committing: Header | None = None
    ) -> list[Put]:
        """The records that store `cert` (and move the latest-certificate pointer if it is newer).
        `committing`: the header of the block written in the same batch (not stored yet) it certifies."""
        if committing is None:
            self._check_certified_block(cert)
        elif committing.hash() != cert.block_hash or committing.state_root != cert.state_root:
            raise ChainDbError(f"certificate for #{cert.number} is not of the block being committed")
        records = [(CERT_PREFIX + cert.number.to_bytes(4, "big"), cert.encode())]
        latest = self.latest_certificate_number()
        if latest is None or cert.number > latest:
            records.append((LATEST_CERT_KEY, cert.number.to_bytes(4, "big")))
        return records

    def put_certificate(self, cert: FinalityCertificate) -> None:
        """Store a verified certificate of a best-chain block (ChainDbError if it names another block)."""
        self.backend.write(self.certificate_records(cert))

    def finalize_with_certificate(self, cert: FinalityCertificate) -> ChainHead:
        """Store `cert` and, when its block is above the finalized one, finalize it, in one write."""
        records = self.certificate_records(cert)
        old = self.head
        if cert.number <= old.final.number:
            self.backend.write(records)
            return old
        self.backend.write([*records, (FINAL_KEY, cert.block_hash)])
        final = self._required_header(cert.block_hash)
        self._head = dataclasses.replace(old, final=final, final_hash=cert.block_hash)
        return self._head

    def _check_certified_block(self, cert: FinalityCertificate) -> None:
        header = self.header(cert.block_hash)
        if header is None or self.hash_at(cert.number) != cert.block_hash:
            raise ChainDbError(f"certificate for 0x{cert.block_hash.hex()}, not a best-chain block here")
        if header.number != cert.number or header.state_root != cert.state_root:
            raise ChainDbError(f"certificate for #{cert.number} disagrees with the stored header")

    def certificate_at(self, number: int) -> FinalityCertificate | None:
        """The stored certificate of best-chain block `number`, or None."""
        if not 0 <= number <= _U32:
            return None
        raw = self.backend.get(CERT_PREFIX + number.to_bytes(4, "big"))
        return None if raw is None else FinalityCertificate.decode(raw)

    def certificate_for(self, block_hash: bytes) -> FinalityCertificate | None:
        """The stored certificate of the block `block_hash`, or None."""
        header = self.header(block_hash)
        cert = None if header is None else self.certificate_at(header.number)
        return cert if cert is not None and cert.block_hash == block_hash else None

    def latest_certificate_number(self) -> int | None:
        """The number of the newest block with a stored certificate, or None."""
        raw = self.backend.get(LATEST_CERT_KEY)
        return None if raw is None else int.from_bytes(raw, "big")

    def latest_certificate(self) -> FinalityCertificate | None:
        """The certificate of the newest certified block, or None when no block has one."""
        number = self.latest_certificate_number()
        return None if number is None else self.certificate_at(number)
