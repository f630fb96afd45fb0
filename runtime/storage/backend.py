"""Key-value backends: an in-memory one for tests and simulations and a LevelDB (plyvel) one for nodes.

A backend is flat bytes -> bytes with ordered prefix iteration and atomic multi-key writes; namespaces
(state, trie nodes, blocks) are key prefixes chosen by the callers, so one write batch can span them all.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Protocol


class Backend(Protocol):
    """What the runtime and the node need from a key-value store."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored at `key`, or None."""

    def put(self, key: bytes, value: bytes) -> None:
        """Store one value (outside any batch)."""

    def delete(self, key: bytes) -> None:
        """Remove one key (outside any batch); removing a missing key is not an error."""

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs whose key starts with `prefix`, in ascending key order, from `start` on."""

    def write(self, puts: Iterable[tuple[bytes, bytes]], deletes: Iterable[bytes] = ()) -> None:
        """Apply all puts and deletes atomically: after a crash either all or none are visible."""

    def close(self) -> None:
        """Release the store; further use is an error."""


class MemoryBackend:
    """A dict with a lazily sorted key index; for tests, simulations and the mock runtime."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._sorted: list[bytes] | None = None

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        if key not in self._data:
            self._sorted = None
        self._data[key] = value

    def delete(self, key: bytes) -> None:
        if self._data.pop(key, None) is not None:
            self._sorted = None

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        if self._sorted is None:
            self._sorted = sorted(self._data)
        keys = self._sorted
        first = prefix if start is None or start < prefix else start
        index = bisect.bisect_left(keys, first)
        snapshot = keys[index:]
        for key in snapshot:
            if not key.startswith(prefix):
                break
            value = self._data.get(key)
            if value is not None:
                yield key, value

    def write(self, puts: Iterable[tuple[bytes, bytes]], deletes: Iterable[bytes] = ()) -> None:
        for key in deletes:
            self.delete(key)
        for key, value in puts:
            self.put(key, value)

    def close(self) -> None:
        self._data.clear()
        self._sorted = None

    def __len__(self) -> int:
        return len(self._data)


class LevelDBBackend:
    """A LevelDB database through plyvel; `write` is one LevelDB WriteBatch (atomic, synced if asked)."""

    def __init__(self, path: str, *, create: bool = True, sync: bool = False, lru_cache_mb: int = 64) -> None:
        import plyvel

        self.path = path
        self._sync = sync
        self._db = plyvel.DB(
            path,
            create_if_missing=create,
            lru_cache_size=lru_cache_mb * 1024 * 1024,
            write_buffer_size=32 * 1024 * 1024,
            bloom_filter_bits=10,
        )

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        self._db.put(key, value, sync=self._sync)

    def delete(self, key: bytes) -> None:
        self._db.delete(key, sync=self._sync)

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        if start is None or start <= prefix:
            iterator = self._db.iterator(prefix=prefix)
        else:
            iterator = self._db.iterator(start=start, stop=_prefix_end(prefix))
        with iterator as items:
            yield from items

    def write(self, puts: Iterable[tuple[bytes, bytes]], deletes: Iterable[bytes] = ()) -> None:
        with self._db.write_batch(transaction=True, sync=self._sync) as batch:
            for key in deletes:
                batch.delete(key)
            for key, value in puts:
                batch.put(key, value)

    def compact(self) -> None:
        """Compact the whole key range now (after bulk loads; LevelDB otherwise does it in the background)."""
        self._db.compact_range()

    def close(self) -> None:
        if not self._db.closed:
            self._db.close()

    @property
    def closed(self) -> bool:
        closed: bool = self._db.closed
        return closed


def _prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no upper bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
