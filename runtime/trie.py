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
popcount arithmetic on the bitmaps, and the new branch is the old encoding with the changed slots
spliced in; a slot that changes kind (insert, delete, split, collapse) also flips its two header bits, so
an update never decodes a branch. A change that leaves its slot as it was (the same value again, or
deleting a missing key) leaves the branches above it alone: no new node, no node write.

Use: ``root, node_writes = trie.update(changes)`` once per block, and put ``node_writes`` in the block's
one write batch with the flat-state values. ``set_root(parent_root)`` discards a failed block;
``StateTrie(store, prefix, root=saved_root)`` reopens a store at a saved root. Commit each update's
node writes (or discard them together with every later update): nodes an update supersedes leave the
cache, so rewinding to a root whose nodes were never written raises MissingNode.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from hashlib import blake2b
from itertools import islice

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
    "keyhash",
    "leaf_hash",
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


_H = blake2b(digest_size=HASH_LEN)
"""H with no input: hot paths copy it and feed it, which skips parsing keyword arguments per hash."""
_H_LEAF = blake2b(LEAF_TAG, digest_size=HASH_LEN)
"""H after the leaf tag."""


def _h(data: bytes) -> bytes:
    """H: blake2b-256."""
    hasher = _H.copy()
    hasher.update(data)
    return hasher.digest()


EMPTY_BRANCH = bytes((BRANCH_TAG, 0, 0, 0, 0))
EMPTY_ROOT: bytes = _h(EMPTY_BRANCH)
"""The root of the trie with no keys: the hash of a branch with no slots."""

_NIBBLES = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))
"""Translates a hex digest into one byte per nibble."""


_MASKS = tuple(((1 << 16) << i, 1 << i, ((1 << i) - 1) * 0x10001) for i in range(16))
"""Per nibble i, masks over ``bitmap << 16 | leafmap``: slot i present, slot i a leaf, slots before i."""
_KINDS = tuple((0, (1 << 16) << i, ((1 << 16) | 1) << i) for i in range(16))
"""Per nibble i, the header bits of slot i by its length // 32: empty, child hash, leaf."""
_CLEARS = tuple(~(((1 << 16) | 1) << i) for i in range(16))
"""Per nibble i, a mask clearing the header bits of slot i."""
_PAST_NIBBLE = b"\x10"
"""Appended to a path prefix, sorts after every path with that prefix (nibbles are 0..15)."""
_TAG_BIT = BRANCH_TAG << 32
"""The tag byte, as read with the maps by ``int.from_bytes(raw[:5])``."""
_LONE_LEAF_LEN = 5 + LEAF_LEN
"""The length of a branch holding a single leaf (never stored below the root)."""


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


def encode_branch(node: Sequence[bytes]) -> bytes:
    """The canonical encoding of a decoded branch; ValueError unless 16 slots of 0, 32 or 64 bytes."""
    if len(node) != 16 or any(len(slot) not in (0, HASH_LEN, LEAF_LEN) for slot in node):
        raise ValueError("a branch has 16 slots, each empty, a 32-byte hash or a 64-byte leaf")
    maps = _TAG_BIT
    for nibble, slot in enumerate(node):
        maps |= _KINDS[nibble][len(slot) >> 5]
    return maps.to_bytes(5) + b"".join(node)


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
    """The 16 slots of a well-formed branch encoding."""
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
    maps = int.from_bytes(raw[1:5])
    present, leaf, below = _MASKS[nibble]
    if not maps & present:
        return b""
    offset = 5 + HASH_LEN * (maps & below).bit_count()
    return raw[offset : offset + (LEAF_LEN if maps & leaf else HASH_LEN)]


def _nibble(khash: bytes, depth: int) -> int:
    """Nibble `depth` of a keyhash, high nibble first."""
    byte = khash[depth >> 1]
    return byte & 15 if depth & 1 else byte >> 4


class StateTrie:
    """The state trie over one backend: batch updates, history by root, read proofs.

    Cache: branch encodings by hash in one dict, least recently used first (a read moves its node to the
    end). When it would hold more than ``cache_nodes`` nodes, the oldest are dropped, down to 7/8 of that;
    this is checked after each read miss and before an update adds its new nodes, which all enter the
    cache at once (even more than ``cache_nodes`` of them), so reads work before the caller commits. A
    node that an update supersedes leaves the cache (it stays in the store, once committed, for history),
    so the cache tends to hold exactly the current state's branches.
    """

    def __init__(
        self, store: Backend, node_prefix: bytes, root: bytes = EMPTY_ROOT, cache_nodes: int = 500_000
    ) -> None:
        self.store = store
        self.node_prefix = node_prefix
        self.root = root
        self._cap = max(1, cache_nodes)
        self._cache: dict[bytes, bytes] = {}
        # per-update scratch: the sorted batch and the new nodes
        self._khs: list[bytes] = []
        self._paths: list[bytes] = []
        self._ents: list[bytes] = []
        self._fresh: dict[bytes, bytes] = {}

    # ---- nodes ------------------------------------------------------------------------------

    def set_root(self, root: bytes) -> None:
        """Make `root` current (e.g. after a failed block is discarded, or to read an old state)."""
        self.root = root

    def encoding(self, node_hash: bytes) -> bytes:
        """The encoding of the branch with this hash; MissingNode if neither cached nor stored."""
        cache = self._cache
        raw = cache.pop(node_hash, None)
        if raw is None:
            raw = self._load(node_hash)
            cache[node_hash] = raw
            self._trim()
        else:
            cache[node_hash] = raw
        return raw

    def node(self, node_hash: bytes) -> Node:
        """The decoded branch with this hash; MissingNode if neither cached nor stored."""
        return _unpack(self.encoding(node_hash))

    def _load(self, node_hash: bytes) -> bytes:
        """Read a branch from the store (the empty root needs no stored node)."""
        raw = self.store.get(self.node_prefix + node_hash)
        if raw is None:
            if node_hash != EMPTY_ROOT:
                raise MissingNode(node_hash)
            raw = EMPTY_BRANCH
        return check_branch(raw)

    def _trim(self, incoming: int = 0) -> None:
        """Drop the oldest nodes, down to 7/8 of the cap, if the cache plus `incoming` nodes is over it."""
        cache = self._cache
        excess = len(cache) + incoming - self._cap
        if excess > 0:
            for node_hash in list(islice(cache, excess + self._cap // 8)):
                del cache[node_hash]

    def clear_cache(self) -> None:
        """Forget every cached node (they are read back from the store on demand)."""
        self._cache = {}

    # ---- update -----------------------------------------------------------------------------

    def update(self, changes: Mapping[bytes, bytes | None]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """Apply a batch of storage-key changes (None deletes); return (new_root, node_writes).

        node_writes are the (node_prefix + hash, encoding) pairs to put in the caller's write batch. The
        trie uses the new root at once and caches the new nodes, so reads work before the commit.
        """
        batch = _changes(changes)
        batch.sort()  # keyhashes are distinct, so only they are compared
        self._khs = khs = [kh for kh, _ in batch]
        self._ents = [ent for _, ent in batch]
        self._paths = [kh.hex().encode().translate(_NIBBLES) for kh in khs]
        fresh: dict[bytes, bytes] = {}
        self._fresh = fresh
        try:
            root = self._rebranch(self.root, 0, 0, len(batch), True)
        finally:
            self._khs, self._paths, self._ents, self._fresh = [], [], [], {}
        self._trim(len(fresh))
        self._cache.update(fresh)
        self.root = root
        return root, list(zip(map(self.node_prefix.__add__, fresh), fresh.values(), strict=True))

    def _rebranch(self, node_hash: bytes, depth: int, lo: int, hi: int, is_root: bool) -> bytes:
        """The new content of the slot holding branch `node_hash`, after the batch entries lo..hi."""
        raw = self._cache.pop(node_hash, None) or self._load(node_hash)
        new = self._branch(raw, depth, lo, hi, is_root)
        if new is None:
            self._cache[node_hash] = raw
            return node_hash
        return new

    def _branch(self, raw: bytes, depth: int, lo: int, hi: int, is_root: bool) -> bytes | None:
        """The new slot content for branch `raw` after the batch entries lo..hi; None if it is unchanged.

        Each touched slot is rebuilt recursively and spliced into the encoding in place; a slot that
        changes kind flips its header bits. Below the root, the result collapses to b"" or a lone leaf.
        """
        paths = self._paths
        maps = old_maps = int.from_bytes(raw[:5])
        pieces = [b""]
        pos = 5
        below_depth = depth + 1
        i = lo
        while i < hi:
            path = paths[i]
            nib = path[depth]
            j = i + 1
            if j < hi and paths[j][depth] == nib:  # the entries i..hi share this branch's path: bisect
                j = bisect_left(paths, path[:below_depth] + _PAST_NIBBLE, j + 1, hi)
            present, leaf, below = _MASKS[nib]
            offset = 5 + 32 * (old_maps & below).bit_count()
            if old_maps & leaf or not old_maps & present:
                width = 64 if old_maps & leaf else 0
                slot = raw[offset : offset + width]
                new = self._leaf_slot(slot, below_depth, i, j)
            else:
                width = 32
                slot = raw[offset : offset + 32]
                if j - i == 1:
                    new = self._single(slot, below_depth, path, i)
                else:
                    new = self._rebranch(slot, below_depth, i, j, False)
            if new != slot:
                if len(new) != width:
                    maps = maps & _CLEARS[nib] | _KINDS[nib][len(new) >> 5]
                pieces += (raw[pos:offset], new)
                pos = offset + width
            i = j
        if len(pieces) == 1:
            return None
        pieces[0] = maps.to_bytes(5)
        pieces.append(raw[pos:])
        enc = b"".join(pieces)
        if len(enc) <= _LONE_LEAF_LEN and not is_root:  # below the root, a branch keeps 2+ keys
            if len(enc) == 5:
                return b""
            if maps & 0xFFFF and len(enc) == _LONE_LEAF_LEN:
                return enc[5:]
        hasher = _H.copy()
        hasher.update(enc)
        node_hash = hasher.digest()
        self._fresh[node_hash] = enc
        return node_hash

    def _single(self, node_hash: bytes, depth: int, path: bytes, i: int) -> bytes:
        """The new content of the slot holding branch `node_hash`, after the one batch entry i below it.

        The hot path: one call per branch on the key's path, splicing the new child into the encoding
        (and flipping the slot's header bits if the child changed kind).
        """
        raw = self._cache.pop(node_hash, None) or self._load(node_hash)
        maps = int.from_bytes(raw[:5])
        nib = path[depth]
        present, leaf, below = _MASKS[nib]
        offset = 5 + 32 * (maps & below).bit_count()
        if maps & present and not maps & leaf:
            width = 32
            slot = raw[offset : offset + 32]
            new = self._single(slot, depth + 1, path, i)
        else:
            width = 64 if maps & leaf else 0
            slot = raw[offset : offset + width]
            new = self._ents[i]
            if slot and slot[32:] != self._khs[i]:
                new = self._leaf_slot(slot, depth + 1, i, i + 1)  # another key's leaf: split it (or no-op)
        if new == slot:  # a no-op (same value, or deleting a missing key): the branch stays as it is
            self._cache[node_hash] = raw
            return node_hash
        if len(new) == width:
            raw = raw[:offset] + new + raw[offset + width :]
        else:
            maps = maps & _CLEARS[nib] | _KINDS[nib][len(new) >> 5]
            raw = maps.to_bytes(5) + raw[5:offset] + new + raw[offset + width :]
            if len(raw) <= _LONE_LEAF_LEN:  # below the root, a branch keeps 2+ keys
                if len(raw) == 5:
                    return b""
                if maps & 0xFFFF and len(raw) == _LONE_LEAF_LEN:
                    return raw[5:]
        hasher = _H.copy()
        hasher.update(raw)
        node_hash = hasher.digest()
        self._fresh[node_hash] = raw
        return node_hash

    def _leaf_slot(self, slot: bytes, depth: int, lo: int, hi: int) -> bytes:
        """The new content of a slot at `depth` that is empty or a lone leaf, after the entries lo..hi."""
        if hi - lo == 1:
            if not slot or slot[32:] == self._khs[lo]:
                return self._ents[lo]
            if not self._ents[lo]:
                return slot  # deleting a missing key next to a lone leaf
        # the slot grows into a branch (which _branch collapses again if the entries are deletes)
        raw = EMPTY_BRANCH
        if slot:
            raw = (_TAG_BIT | _KINDS[_nibble(slot[32:], depth)][2]).to_bytes(5) + slot
        new = self._branch(raw, depth, lo, hi, False)
        return slot if new is None else new

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
    append = out.append
    new_h, new_leaf = _H.copy, _H_LEAF.copy
    for key, value in changes.items():
        hasher = new_h()
        hasher.update(key)
        kh = hasher.digest()
        if value:
            hasher = new_h()
            hasher.update(value)
            leaf = new_leaf()
            leaf.update(kh)
            leaf.update(hasher.digest())
            append((kh, leaf.digest() + kh))
        elif value is None:
            append((kh, b""))
        else:
            raise ValueError("trie values must be non-empty bytes (None deletes)")
    return out


def _proven_value(
    key: bytes, kh: bytes, leaf: bytes, values: Callable[[bytes], bytes | None] | None
) -> bytes:
    """The value of a present key, checked against its leaf hash."""
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
