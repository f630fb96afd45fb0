"""The state as a block sees it: pending writes over a backend, with nested transactional layers.

Every write lands in one `pending` dict (so a read is one lookup) and, while a layer is open, the value it
replaced is noted in that layer's journal; `rollback` restores from the journal, `commit` folds the journal
into the enclosing layer. At the end of a block `pending` is the block's change set (None = deleted).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from runtime.storage.backend import Backend

#: Prefix of runtime state keys in the backend (other namespaces: trie nodes, blocks, chain metadata).
STATE_PREFIX = b"S"

_MISSING = object()


class LayerError(RuntimeError):
    """commit or rollback with no open layer: a bug in the caller."""


class Overlay:
    """Pending state changes over a backend, with begin/commit/rollback layers."""

    def __init__(self, backend: Backend, prefix: bytes = STATE_PREFIX) -> None:
        self.backend = backend
        self.prefix = prefix
        self.pending: dict[bytes, bytes | None] = {}
        self._journals: list[dict[bytes, object]] = []
        self._undo: list[list[Callable[[], None]]] = []

    # --- reads and writes -------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The value at `key` as of every write so far (None when absent)."""
        value = self.pending.get(key, _MISSING)
        if value is _MISSING:
            return self.backend.get(self.prefix + key)
        return value  # type: ignore[return-value]

    def put(self, key: bytes, value: bytes) -> None:
        """Write `value` at `key` (an empty value is stored as written, not as a delete)."""
        if self._journals:
            journal = self._journals[-1]
            if key not in journal:
                journal[key] = self.pending.get(key, _MISSING)
        self.pending[key] = value

    def delete(self, key: bytes) -> None:
        """Remove `key`."""
        if self._journals:
            journal = self._journals[-1]
            if key not in journal:
                journal[key] = self.pending.get(key, _MISSING)
        self.pending[key] = None

    def backend_value(self, key: bytes) -> bytes | None:
        """The committed value of `key`, ignoring pending writes (the head's state)."""
        return self.backend.get(self.prefix + key)

    def contains(self, key: bytes) -> bool:
        """Whether `key` has a value."""
        return self.get(key) is not None

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs under `prefix` in ascending key order, pending writes included."""
        full = self.prefix + prefix
        skip = len(self.prefix)
        backend_items = (
            (key[skip:], value)
            for key, value in self.backend.iterate(full, None if start is None else self.prefix + start)
        )
        pending_keys = sorted(
            k for k in self.pending if k.startswith(prefix) and (start is None or k >= start)
        )
        pending_items = ((key, self.pending[key]) for key in pending_keys)
        last: bytes | None = None
        # Pending entries come second in the merge so that, for equal keys, they win.
        for key, value in heapq.merge(_tagged(backend_items, 0), _tagged(pending_items, 1)):
            if key == last:
                continue
            last = key
            overriding = self.pending.get(key, _MISSING)
            current = value[1] if overriding is _MISSING else overriding
            if current is not None:
                yield key, current  # type: ignore[misc]

    # --- layers -----------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """How many layers are open."""
        return len(self._journals)

    def begin(self) -> None:
        """Open a layer: what follows can be rolled back on its own."""
        self._journals.append({})
        self._undo.append([])

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Run `undo` if the innermost open layer (or any layer around it) is rolled back.

        For in-memory state kept beside storage during a block (e.g. a model's running weights): it must
        follow the storage layers, or a failed call would leave its effect behind. Outside any layer
        nothing can roll back, so nothing is kept.
        """
        if self._undo:
            self._undo[-1].append(undo)

    def commit(self) -> None:
        """Close the innermost layer, keeping its writes."""
        if not self._journals:
            raise LayerError("commit with no open layer")
        journal = self._journals.pop()
        undo = self._undo.pop()
        if self._journals:
            outer = self._journals[-1]
            for key, previous in journal.items():
                outer.setdefault(key, previous)
            self._undo[-1].extend(undo)

    def rollback(self) -> None:
        """Close the innermost layer, undoing its writes and running its undo callbacks (last first)."""
        if not self._journals:
            raise LayerError("rollback with no open layer")
        pending = self.pending
        for key, previous in self._journals.pop().items():
            if previous is _MISSING:
                pending.pop(key, None)
            else:
                pending[key] = previous  # type: ignore[assignment]
        for undo in reversed(self._undo.pop()):
            undo()

    # --- block boundaries -------------------------------------------------------------------------

    def changes(self) -> dict[bytes, bytes | None]:
        """The change set so far (key -> new value or None for deleted)."""
        return self.pending

    def discard(self) -> None:
        """Forget every pending write and layer (a block that was not committed)."""
        self.pending = {}
        self._journals = []
        self._undo = []

    def backend_ops(self) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
        """The pending writes as backend puts and deletes under the state prefix."""
        prefix = self.prefix
        puts = [(prefix + k, v) for k, v in self.pending.items() if v is not None]
        deletes = [prefix + k for k, v in self.pending.items() if v is None]
        return puts, deletes


def _tagged(
    items: Iterator[tuple[bytes, bytes | None]], tag: int
) -> Iterator[tuple[bytes, tuple[int, bytes | None]]]:
    for key, value in items:
        yield key, (tag, value)
