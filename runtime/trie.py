"""The state root: a radix-16 Merkle trie over hashed storage keys, with read proofs.

Layout (fixed; consensus depends on every byte of it):

* ``H(x) = blake2b(x, digest_size=32)``. The trie key of a storage key is its *keyhash* ``H(key)``
  ("secure trie"); its path is the 64 nibbles of the keyhash, high nibble first.
* A **leaf** is never stored as a node of its own. Its hash is
  ``leaf_hash = H(b"\\x00" + keyhash + H(value))``; it does not depend on the leaf's depth.
* A **branch** has 16 slots; each is empty, a child branch (its 32-byte hash) or an inlined leaf
  (``leaf_hash + keyhash``, 64 bytes). Encoding::

      b"\\x01" + bitmap (2 bytes, big-endian) + leafmap (2 bytes, big-endian)
             + for each present slot i in nibble order: child_hash (32) [+ keyhash (32) if a leaf]

  where bit ``1 << i`` of bitmap says slot i is present and the same bit of leafmap says it is a leaf
  (a leafmap bit without its bitmap bit is malformed). The branch hash is ``H(encoding)``. Branches are
  stored content-addressed at ``node_prefix + hash`` and never deleted, so every root ever committed can
  still be walked and proven (history).
* The **root** is always a branch, possibly empty: ``EMPTY_ROOT = H(b"\\x01\\x00\\x00\\x00\\x00")``.
* **Canonical shape**: below the root, a subtree holding exactly one key is that key's leaf, inlined in
  its parent's slot; a subtree holding two or more keys is a branch (there are no extension nodes). So
  the root is a pure function of the set of (key, value) pairs, whatever the order or batching of the
  updates that built it: after deletes, a non-root branch left with a single leaf collapses into it.
* A **read proof** is a deduplicated list of encoded nodes: every branch on each key's path and, for each
  present key, a value node ``b"\\x02" + value``, which the verifier matches through
  ``H(b"\\x00" + keyhash + H(value))`` against the leaf in the slot. A path that ends on an empty slot or
  on another key's leaf proves the key absent (canonical shape guarantees it would be there).

Values are non-empty bytes; a change of None deletes (deleting a missing key is a no-op). The trie keeps
no values: the caller's flat state does, and hands them to :meth:`StateTrie.prove`.

Updates are applied as one sorted batch, grouped by nibble, so each dirty branch is visited, rebuilt and
hashed once: a block costs O(changed keys x depth), never O(state). The working representation of a
branch is its encoding itself (cached by hash; bytes cost no garbage-collector time): a slot is found by
popcount arithmetic on the bitmaps, and when no slot changes kind (the common case: values updated in
place) the new branch is the old encoding with the changed 32/64-byte slots spliced in. Only a change of
shape (insert, delete, split, collapse) decodes it into a list of 16 slots (``b""``, 32 or 64 bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from hashlib import blake2b
from itertools import product
from operator import itemgetter

from runtime.storage.backend import Backend

__all__ = [
    "EMPTY_ROOT",
    "MissingNode",
    "ProofError",
    "StateTrie",
    "branch_slot",
    "check_branch",
    "decode_branch",
    "encode_branch",
    "verify_proof",
    "verify_proof_multi",
]

BRANCH_TAG = 0x01
VALUE_TAG = 0x02
LEAF_TAG = b"\x00"
_VALUE_PREFIX = bytes((VALUE_TAG,))
HASH_LEN = 32
LEAF_LEN = 64
KEY_NIBBLES = 64

Node = tuple[bytes, ...]
"""A decoded branch: 16 slots, each b"" (empty), a 32-byte child hash or a 64-byte leaf_hash + keyhash."""
Slots = list[bytes]
"""A branch being rebuilt by an update (decoded, mutable)."""
Edit = tuple[int, int, int, bytes]
"""One slot rewritten by an update: (nibble, offset in the encoding, old width, new content)."""


def _h(data: bytes) -> bytes:
    return blake2b(data, digest_size=HASH_LEN).digest()


EMPTY_BRANCH = bytes((BRANCH_TAG, 0, 0, 0, 0))
EMPTY_ROOT: bytes = _h(EMPTY_BRANCH)
"""The root of the trie with no keys: the hash of a branch with no slots."""

_NIBBLES = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))
"""Translates a hex digest into one byte per nibble."""


def _half_table() -> dict[bytes, tuple[int, int]]:
    """For 8 slot lengths (0, 32 or 64): the (present, leaf) bits of those 8 slots."""
    table: dict[bytes, tuple[int, int]] = {}
    for lens in product((0, HASH_LEN, LEAF_LEN), repeat=8):
        present = sum(1 << i for i, n in enumerate(lens) if n)
        leaf = sum(1 << i for i, n in enumerate(lens) if n == LEAF_LEN)
        table[bytes(lens)] = (present, leaf)
    return table


_HALF = _half_table()


class ProofError(Exception):
    """A proof or node that is incomplete, malformed, or does not match the root."""


class MissingNode(ProofError):
    """A branch needed for the walk is neither in the proof nor in the cache or the store."""

    def __init__(self, node_hash: bytes) -> None:
        super().__init__(f"trie node {node_hash.hex()} is missing")
        self.node_hash = node_hash


def keyhash(key: bytes) -> bytes:
    """The trie key of a storage key."""
    return _h(key)


def leaf_hash(khash: bytes, value: bytes) -> bytes:
    """The hash of the leaf holding `value` under keyhash `khash`."""
    return _h(LEAF_TAG + khash + _h(value))


def _header(lens: bytes) -> bytes:
    lo_present, lo_leaf = _HALF[lens[:8]]
    hi_present, hi_leaf = _HALF[lens[8:]]
    return bytes((BRANCH_TAG, hi_present, lo_present, hi_leaf, lo_leaf))


def encode_branch(node: Sequence[bytes]) -> bytes:
    """The canonical encoding of a decoded branch."""
    return _header(bytes(map(len, node))) + b"".join(node)


def check_branch(raw: bytes) -> bytes:
    """`raw` if it is a well-formed branch; ProofError if not (tag, length, bitmap and leafmap)."""
    if len(raw) < len(EMPTY_BRANCH) or raw[0] != BRANCH_TAG:
        raise ProofError("not a branch node")
    bitmap = (raw[1] << 8) | raw[2]
    leafmap = (raw[3] << 8) | raw[4]
    if leafmap & ~bitmap:
        raise ProofError("branch leafmap names an empty slot")
    if len(raw) != 5 + HASH_LEN * (bitmap.bit_count() + leafmap.bit_count()):
        raise ProofError("branch length does not match its bitmap")
    return raw


def decode_branch(raw: bytes) -> Node:
    """The 16 slots of a branch; ProofError if it is malformed."""
    return _unpack(check_branch(raw))


def _unpack(raw: bytes) -> Node:
    bitmap = (raw[1] << 8) | raw[2]
    leafmap = (raw[3] << 8) | raw[4]
    slots = [b""] * 16
    pos = 5
    for i in range(16):
        bit = 1 << i
        if bitmap & bit:
            end = pos + (LEAF_LEN if leafmap & bit else HASH_LEN)
            slots[i] = raw[pos:end]
            pos = end
    return tuple(slots)


def branch_slot(raw: bytes, nibble: int) -> bytes:
    """Slot `nibble` of a well-formed branch encoding: b"", a child hash or a leaf."""
    bitmap = (raw[1] << 8) | raw[2]
    bit = 1 << nibble
    if not bitmap & bit:
        return b""
    leafmap = (raw[3] << 8) | raw[4]
    below = bit - 1
    offset = 5 + HASH_LEN * ((bitmap & below).bit_count() + (leafmap & below).bit_count())
    return raw[offset : offset + (LEAF_LEN if leafmap & bit else HASH_LEN)]


def _nibble(khash: bytes, depth: int) -> int:
    byte = khash[depth >> 1]
    return byte & 15 if depth & 1 else byte >> 4


class StateTrie:
    """The state trie over one backend: batch updates, history by root, read proofs.

    Cache: branch encodings by hash, in two generations (a hit in the old one promotes the node). When
    the young one holds ``cache_nodes // 2`` nodes it becomes the old one; this is checked before each
    update and each read, so one update may overshoot it by the nodes it creates. New nodes of an update
    enter the cache at once, so reads work before the caller commits. A node that an update supersedes
    leaves the cache (it stays in the store, once committed, for history), so the cache tends to hold
    exactly the current state's branches.
    """

    def __init__(
        self, store: Backend, node_prefix: bytes, root: bytes = EMPTY_ROOT, cache_nodes: int = 500_000
    ) -> None:
        self.store = store
        self.node_prefix = node_prefix
        self.root = root
        self._half_cap = max(1, cache_nodes // 2)
        self._young: dict[bytes, bytes] = {}
        self._old: dict[bytes, bytes] = {}
        # per-update scratch: the sorted batch and the node writes being collected
        self._khs: list[bytes] = []
        self._paths: list[bytes] = []
        self._ents: list[bytes] = []
        self._writes: list[tuple[bytes, bytes]] = []

    # ---- nodes ------------------------------------------------------------------------------

    def set_root(self, root: bytes) -> None:
        """Make `root` current (e.g. after a failed block is discarded, or to read an old state)."""
        self.root = root

    def encoding(self, node_hash: bytes) -> bytes:
        """The encoding of the branch with this hash; MissingNode if neither cached nor stored."""
        raw = self._young.get(node_hash)
        if raw is None:
            raw = self._old.pop(node_hash, None)
            if raw is None:
                raw = self._load(node_hash)
            self._rotate()[node_hash] = raw
        return raw

    def node(self, node_hash: bytes) -> Node:
        """The decoded branch with this hash; MissingNode if neither cached nor stored."""
        return _unpack(self.encoding(node_hash))

    def _take(self, node_hash: bytes) -> bytes:
        """The branch with this hash, dropped from the cache because an update supersedes it."""
        raw = self._young.pop(node_hash, None)
        if raw is None:
            raw = self._old.pop(node_hash, None)
            if raw is None:
                raw = self._load(node_hash)
        return raw

    def _load(self, node_hash: bytes) -> bytes:
        raw = self.store.get(self.node_prefix + node_hash)
        if raw is None:
            if node_hash != EMPTY_ROOT:
                raise MissingNode(node_hash)
            raw = EMPTY_BRANCH
        return check_branch(raw)

    def _rotate(self) -> dict[bytes, bytes]:
        """The young generation, after making it the old one if it is full."""
        if len(self._young) >= self._half_cap:
            self._old = self._young
            self._young = {}
        return self._young

    def clear_cache(self) -> None:
        """Forget every cached node (they are read back from the store on demand)."""
        self._young = {}
        self._old = {}

    # ---- update -----------------------------------------------------------------------------

    def update(self, changes: Mapping[bytes, bytes | None]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """Apply a batch of storage-key changes (None deletes); return (new_root, node_writes).

        node_writes are the (node_prefix + hash, encoding) pairs to put in the caller's write batch. The
        trie uses the new root at once and caches the new nodes, so reads work before the commit.
        """
        batch = sorted(_changes(changes), key=itemgetter(0))
        self._khs = [kh for kh, _ in batch]
        self._ents = [ent for _, ent in batch]
        self._paths = [kh.hex().encode().translate(_NIBBLES) for kh in self._khs]
        writes: list[tuple[bytes, bytes]] = []
        self._writes = writes
        self._rotate()
        try:
            root = self._rebranch(self.root, 0, 0, len(batch), True)
        finally:
            self._khs, self._paths, self._ents, self._writes = [], [], [], []
        self.root = root
        return root, writes

    def _slot(self, slot: bytes, depth: int, lo: int, hi: int) -> bytes:
        """The new content of a slot whose subtree starts at `depth`, after the batch entries lo..hi."""
        size = len(slot)
        if size == HASH_LEN:
            if hi - lo == 1:
                return self._single(slot, depth, lo)
            return self._rebranch(slot, depth, lo, hi, False)
        if hi - lo == 1:
            if not size or slot[HASH_LEN:] == self._khs[lo]:
                return self._ents[lo]
            if not self._ents[lo]:
                return slot  # deleting a missing key next to a lone leaf
        slots = [b""] * 16  # an empty slot or a lone leaf grows into a branch, then is sealed
        if size:
            slots[_nibble(slot[HASH_LEN:], depth)] = slot
        paths = self._paths
        i = lo
        while i < hi:
            nib = paths[i][depth]
            j = i + 1
            while j < hi and paths[j][depth] == nib:
                j += 1
            slots[nib] = self._slot(slots[nib], depth + 1, i, j)
            i = j
        return self._seal(slots, False)

    def _single(self, node_hash: bytes, depth: int, i: int) -> bytes:
        """The new content of the slot holding branch `node_hash`, after the one batch entry i below it.

        The hot path: walk down the branches on the key's path, then path-copy back up, splicing each
        new child into its parent's encoding unless the child changed kind.
        """
        path = self._paths[i]
        trail: list[tuple[bytes, int, int]] = []
        young, old = self._young, self._old
        slot = node_hash
        while len(slot) == HASH_LEN:
            raw = young.pop(slot, None) or old.pop(slot, None) or self._load(slot)
            bitmap = (raw[1] << 8) | raw[2]
            bit = 1 << path[depth]
            offset = width = 0
            if bitmap & bit:
                leafmap = (raw[3] << 8) | raw[4]
                below = bit - 1
                offset = 5 + HASH_LEN * ((bitmap & below).bit_count() + (leafmap & below).bit_count())
                width = LEAF_LEN if leafmap & bit else HASH_LEN
            slot = raw[offset : offset + width]
            trail.append((raw, offset, width))
            depth += 1
        new = (
            self._ents[i]
            if not slot or slot[HASH_LEN:] == self._khs[i]
            else self._slot(slot, depth, i, i + 1)
        )
        writes, prefix = self._writes, self.node_prefix
        for raw, offset, width in reversed(trail):
            depth -= 1
            if len(new) == width:
                raw = raw[:offset] + new + raw[offset + width :]
                new = blake2b(raw, digest_size=HASH_LEN).digest()
                young[new] = raw
                writes.append((prefix + new, raw))
            else:
                slots = list(_unpack(raw))
                slots[path[depth]] = new
                new = self._seal(slots, False)
        return new

    def _rebranch(self, node_hash: bytes, depth: int, lo: int, hi: int, is_root: bool) -> bytes:
        """The new content of the slot holding branch `node_hash`, after the batch entries lo..hi."""
        raw = self._take(node_hash)
        edits = self._edits(raw, depth, lo, hi)
        if all(width == len(new) for _, _, width, new in edits):  # same shape: splice the new slots in
            pieces: list[bytes] = []
            pos = 0
            for _, offset, width, new in edits:
                if width:
                    pieces += (raw[pos:offset], new)
                    pos = offset + width
            pieces.append(raw[pos:])
            return self._store(b"".join(pieces))
        slots = list(_unpack(raw))
        for nib, _, _, new in edits:
            slots[nib] = new
        return self._seal(slots, is_root)

    def _edits(self, raw: bytes, depth: int, lo: int, hi: int) -> list[Edit]:
        """Recurse into each slot of branch `raw` that the batch entries lo..hi touch."""
        bitmap = (raw[1] << 8) | raw[2]
        leafmap = (raw[3] << 8) | raw[4]
        paths = self._paths
        edits: list[Edit] = []
        i = lo
        while i < hi:
            nib = paths[i][depth]
            j = i + 1
            while j < hi and paths[j][depth] == nib:
                j += 1
            bit = 1 << nib
            if bitmap & bit:
                below = bit - 1
                offset = 5 + HASH_LEN * ((bitmap & below).bit_count() + (leafmap & below).bit_count())
                width = LEAF_LEN if leafmap & bit else HASH_LEN
                edits.append((nib, offset, width, self._slot(raw[offset : offset + width], depth + 1, i, j)))
            else:
                edits.append((nib, 0, 0, self._slot(b"", depth + 1, i, j)))
            i = j
        return edits

    def _seal(self, slots: Slots, is_root: bool) -> bytes:
        """The slot content for a rebuilt branch: b"" or a lone leaf below the root, else its hash."""
        lens = bytes(map(len, slots))
        if not is_root:
            empty = lens.count(0)
            if empty == 16:
                return b""
            if empty == 15:
                lone = b"".join(slots)
                if len(lone) == LEAF_LEN:
                    return lone
        return self._store(_header(lens) + b"".join(slots))

    def _store(self, raw: bytes) -> bytes:
        """Hash a new branch, cache it and queue its node write; return its hash."""
        node_hash = blake2b(raw, digest_size=HASH_LEN).digest()
        self._young[node_hash] = raw
        self._writes.append((self.node_prefix + node_hash, raw))
        return node_hash

    # ---- proofs -----------------------------------------------------------------------------

    def prove(
        self,
        keys: Sequence[bytes],
        root: bytes | None = None,
        values: Callable[[bytes], bytes | None] | None = None,
    ) -> list[bytes]:
        """A read proof for `keys` at `root` (default: current): branches on each path + value nodes.

        `values(key)` gives the value of a present key (the trie keeps none); ProofError if it is
        missing or does not match the leaf, MissingNode if a branch on a path is not available.
        """
        start = self.root if root is None else root
        proof: dict[bytes, None] = {}
        for key in keys:
            kh = _h(key)
            leaf = self._walk(start, kh, proof)
            if leaf is not None:
                proof[_VALUE_PREFIX + _proven_value(key, kh, leaf, values)] = None
        return list(proof)

    def _walk(self, node_hash: bytes, kh: bytes, proof: dict[bytes, None]) -> bytes | None:
        """Add the branches on kh's path to `proof`; return kh's leaf hash if the key is present."""
        for depth in range(KEY_NIBBLES):
            raw = self.encoding(node_hash)
            proof[raw] = None
            slot = branch_slot(raw, _nibble(kh, depth))
            if len(slot) != HASH_LEN:
                return slot[:HASH_LEN] if slot and slot[HASH_LEN:] == kh else None
            node_hash = slot
        raise ProofError("trie path longer than a keyhash")

    def get_leaf(self, key: bytes, root: bytes | None = None) -> bytes | None:
        """The leaf hash of storage `key` at `root` (default: current), or None if absent."""
        return self._walk(self.root if root is None else root, _h(key), {})


def _changes(changes: Mapping[bytes, bytes | None]) -> list[tuple[bytes, bytes]]:
    """(keyhash, new slot content) per change: the inlined leaf, or b"" for a delete."""
    out: list[tuple[bytes, bytes]] = []
    for key, value in changes.items():
        kh = blake2b(key, digest_size=HASH_LEN).digest()
        if value is None:
            out.append((kh, b""))
        elif value:
            value_hash = blake2b(value, digest_size=HASH_LEN).digest()
            out.append((kh, blake2b(LEAF_TAG + kh + value_hash, digest_size=HASH_LEN).digest() + kh))
        else:
            raise ValueError("trie values must be non-empty bytes (None deletes)")
    return out


def _proven_value(
    key: bytes, kh: bytes, leaf: bytes, values: Callable[[bytes], bytes | None] | None
) -> bytes:
    value = None if values is None else values(key)
    if not value or leaf_hash(kh, value) != leaf:
        raise ProofError(f"value of key {key.hex()} is unavailable or does not match the trie")
    return value


# ---- verification (stateless) ----------------------------------------------------------------


def verify_proof(root: bytes, key: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The value of storage `key` under `root` (None: proven absent); ProofError if the proof fails."""
    return verify_proof_multi(root, [key], proof)[key]


def verify_proof_multi(
    root: bytes, keys: Sequence[bytes], proof: Sequence[bytes]
) -> dict[bytes, bytes | None]:
    """The values of storage `keys` under `root` (None: proven absent); ProofError if the proof fails."""
    branches: dict[bytes, bytes] = {}
    values: list[tuple[bytes, bytes]] = []
    for raw in proof:
        tag = raw[0] if raw else -1
        if tag == BRANCH_TAG:
            branches[_h(raw)] = raw
        elif tag == VALUE_TAG and len(raw) > 1:
            values.append((_h(raw[1:]), raw[1:]))
        else:
            raise ProofError("proof node with an unknown tag or an empty value")
    result: dict[bytes, bytes | None] = {}
    for key in keys:
        kh = _h(key)
        leaf = _verify_path(root, kh, branches)
        result[key] = None if leaf is None else _match_value(kh, leaf, values)
    return result


def _verify_path(root: bytes, kh: bytes, branches: dict[bytes, bytes]) -> bytes | None:
    """Walk kh's path through the proof's branches; kh's leaf hash if present, None if proven absent."""
    node_hash = root
    for depth in range(KEY_NIBBLES):
        raw = branches.get(node_hash)
        if raw is None:
            raise MissingNode(node_hash)
        slot = branch_slot(check_branch(raw), _nibble(kh, depth))
        if len(slot) != HASH_LEN:
            return slot[:HASH_LEN] if slot and slot[HASH_LEN:] == kh else None
        node_hash = slot
    raise ProofError("proof path longer than a keyhash")


def _match_value(kh: bytes, leaf: bytes, values: list[tuple[bytes, bytes]]) -> bytes:
    """The value node whose leaf hash under kh is `leaf`; ProofError if none is."""
    prefix = LEAF_TAG + kh
    for value_hash, value in values:
        if _h(prefix + value_hash) == leaf:
            return value
    raise ProofError(f"no value node matches the leaf of keyhash {kh.hex()}")
