"""Block-scoped memory: values a pallet keeps beside storage for the block being executed (such as a
model's running weights during training), rolled back with the storage layers.

`BlockScoped(overlay)` is a mapping whose `set` and `pop` register their own undo with the overlay's
innermost layer, so a failed call (its layer rolled back) takes its changes with it, exactly as it does
its storage writes; `on_rollback` does the same for a change made inside a value (an in-place write).
Nothing here is stored or hashed: it must be a pure function of the block's state and calls so far, so
every node holds the same values. The pallet empties it when a block begins (`on_initialize`) and hands
it over when the block ends (`take`, in key order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from runtime.storage.overlay import Overlay

K = TypeVar("K", int, bytes, str)
V = TypeVar("V")
_ABSENT = object()


class BlockScoped(Generic[K, V]):
    """Values by key for one block, following the overlay's layers (see the module docstring)."""

    def __init__(self, overlay: Overlay) -> None:
        self._overlay = overlay
        self._items: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The value under `key`, or None."""
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def set(self, key: K, value: V) -> None:
        """Keep `value` under `key`; rolled back with the innermost open layer."""
        previous = self._items.get(key, _ABSENT)
        self._items[key] = value
        self._overlay.on_rollback(lambda: self._restore(key, previous))

    def pop(self, key: K, restore: V | None = None) -> V | None:
        """Remove and return the value under `key` (None if absent). A rollback puts back `restore` when
        given (a copy, for a value the caller goes on to change), else the value itself."""
        found = self._items.pop(key, None)
        if found is not None:
            kept = found if restore is None else restore
            self._overlay.on_rollback(lambda: self._restore(key, kept))
        return found

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Run `undo` if the innermost open layer is rolled back (for changes inside a value)."""
        self._overlay.on_rollback(undo)

    def take(self) -> list[tuple[K, V]]:
        """Every (key, value) in key order, leaving it empty (the block's end: no layer is open)."""
        items = sorted(self._items.items())
        self._items = {}
        return items

    def clear(self) -> None:
        """Forget everything (a block begins: whatever an unfinished block left is gone)."""
        self._items = {}

    def _restore(self, key: K, previous: object) -> None:
        if previous is _ABSENT:
            self._items.pop(key, None)
        else:
            self._items[key] = previous  # type: ignore[assignment]
