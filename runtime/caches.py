"""Bounded, thread-safe caches of pure values, for the one cache of each kind a runtime owns.

A cached value must be a pure function of its key (decoded bytes by their hash, weights by their
artifact root): a hit is then exactly what recomputing would give, so a cache changes no result, only
its cost, and consensus does not depend on what any process happened to cache. Memory stays bounded:
at most `max_entries` values and at most `max_cost` total cost (the `cost` of each value, e.g. its size
in bytes); the least recently used values go first, and a value costlier than `max_cost` is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Values by key, least recently used evicted past `max_entries` or `max_cost`; safe across threads."""

    def __init__(
        self, max_entries: int, max_cost: int | None = None, cost: Callable[[V], int] | None = None
    ) -> None:
        if max_entries < 1 or (max_cost is not None and max_cost < 1):
            raise ValueError("a cache needs room for at least one entry and a positive cost limit")
        self.max_entries = max_entries
        self.max_cost = max_cost
        self._cost = cost or (lambda value: 0)
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value under `key` (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        """Keep `value` under `key`, evicting the least recently used values past the limits."""
        cost = self._cost(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            if self.max_cost is not None and cost > self.max_cost:
                return
            self._items[key] = (value, cost)
            self._total += cost
            while len(self._items) > self.max_entries or self._over_cost():
                _, (_, dropped) = self._items.popitem(last=False)
                self._total -= dropped

    def _over_cost(self) -> bool:
        return self.max_cost is not None and self._total > self.max_cost

    def clear(self) -> None:
        """Forget everything (tests and benchmarks measuring cold reads)."""
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def total_cost(self) -> int:
        """The summed cost of the values kept now (never above `max_cost`)."""
        with self._lock:
            return self._total
