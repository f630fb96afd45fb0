"""Where the network keeps its shared records in etcd, and whose turn it is to author a block.

Keys live under /cmu/<genesis hash hex>/: config, blocks/<height>, votes/<height>/<validator>,
refusals/<height>/<log revision>/<validator> and txs/<node>/<seq> (heights zero-padded, so key order is
height order). The author of block h is validator (h + round) mod n, where round counts the turn timeouts
since the parent's timestamp: round = (timestamp - parent timestamp) // turn_ms. Every node computes the
same round from the block itself, so a block's author is checked without any extra record.
"""

from __future__ import annotations

import dataclasses

HEIGHT_DIGITS = 10


def quorum_size(count: int) -> int:
    """The least number of validators that is strictly more than 2/3 of `count`."""
    return count * 2 // 3 + 1


def blocking_size(count: int) -> int:
    """The least number of refusals that leaves no quorum among the others (a block can never finalize)."""
    return count - quorum_size(count) + 1


@dataclasses.dataclass(frozen=True)
class Layout:
    """The etcd keys of one chain (named by its genesis hash)."""

    genesis_hash: bytes

    @property
    def root(self) -> bytes:
        """The common prefix."""
        return b"/cmu/" + self.genesis_hash.hex().encode() + b"/"

    @property
    def config(self) -> bytes:
        """The network parameters every node must share (JSON, written by the first node)."""
        return self.root + b"config"

    @property
    def blocks(self) -> bytes:
        """Prefix of the block log."""
        return self.root + b"blocks/"

    def block(self, height: int) -> bytes:
        """The log entry of block `height` (created once, by compare-and-swap)."""
        return self.blocks + _height(height)

    def height_of(self, key: bytes) -> int:
        """The height of a blocks/ key."""
        return int(key[len(self.blocks) :])

    @property
    def votes(self) -> bytes:
        """Prefix of finality votes."""
        return self.root + b"votes/"

    def vote(self, height: int, validator: int) -> bytes:
        """One validator's vote at `height`."""
        return self.votes + _height(height) + b"/" + str(validator).encode()

    @property
    def refusals(self) -> bytes:
        """Prefix of refusals of log entries."""
        return self.root + b"refusals/"

    def refusal(self, height: int, revision: int, validator: int) -> bytes:
        """One validator's refusal of the entry written at etcd `revision` for `height`."""
        return (
            self.refusals + _height(height) + b"/" + str(revision).encode() + b"/" + str(validator).encode()
        )

    def refusal_fields(self, key: bytes) -> tuple[int, int, int]:
        """(height, revision, validator) of a refusals/ key (ValueError if malformed)."""
        height, revision, validator = key[len(self.refusals) :].split(b"/")
        return int(height), int(revision), int(validator)

    @property
    def txs(self) -> bytes:
        """Prefix of gossiped transaction batches."""
        return self.root + b"txs/"

    def tx_batch(self, node_id: str, seq: int) -> bytes:
        """One batch of transactions a node received from its clients."""
        return self.txs + node_id.encode() + b"/" + str(seq).zfill(12).encode()


def _height(height: int) -> bytes:
    return str(height).zfill(HEIGHT_DIGITS).encode()


def round_of(parent_timestamp: int, timestamp: int, turn_ms: int) -> int:
    """The authoring round a block's timestamp falls in (0 while the first turn lasts)."""
    return max(0, timestamp - parent_timestamp - 1) // turn_ms


def author_index(height: int, round_: int, count: int) -> int:
    """The validator whose turn it is to author block `height` in `round_`."""
    return (height + round_) % count


def turn_window(parent_timestamp: int, round_: int, turn_ms: int) -> tuple[int, int]:
    """The timestamps [first, last] a block of `round_` may carry."""
    first = parent_timestamp + 1 + round_ * turn_ms
    return first, first + turn_ms - 1


def next_turn(parent_timestamp: int, now_ms: int, height: int, me: int, count: int, turn_ms: int) -> int:
    """The earliest time (ms, >= now) at which validator `me` may author block `height`."""
    current = round_of(parent_timestamp, max(now_ms, parent_timestamp + 1), turn_ms)
    for ahead in range(count):
        round_ = current + ahead
        if author_index(height, round_, count) == me:
            first, _last = turn_window(parent_timestamp, round_, turn_ms)
            return max(first, now_ms)
    raise ValueError(f"validator {me} is not among {count}")
