"""Decoded weights by artifact root, shared by the runtime's version reads and the node's queries, so that
the next block's training and predictions at recent or old versions skip decoding and delta replay.

An artifact root is the hash of the full weights' canonical bytes, header included, so a root names one
value: a hit is exactly what decoding (or replaying deltas) would give, and the cache cannot change a
result, only its cost. A hit is still checked against the model's kind, inputs and labels."""

from __future__ import annotations

import threading
from collections import OrderedDict

from models.spec import InputSpec
from models.weights import Weights

SIZE = 16
"""Entries kept (least recently used evicted); a 100,000-feature, 2-label perceptron is about 1.6 MB."""


class WeightsCache:
    """Weights by artifact root; safe across the node's threads."""

    def __init__(self, size: int = SIZE) -> None:
        self._items: OrderedDict[bytes, Weights] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, root: bytes, kind: str, spec: InputSpec, n_labels: int) -> Weights | None:
        """The weights of `root` if cached and of this kind, spec and label count."""
        with self._lock:
            found = self._items.get(root)
            if found is None:
                return None
            self._items.move_to_end(root)
        if (found.kind, found.spec, found.n_labels) != (kind, spec, n_labels):
            return None
        return found

    def put(self, root: bytes, weights: Weights) -> None:
        """Remember the weights whose canonical bytes have this root."""
        with self._lock:
            self._items[root] = weights
            self._items.move_to_end(root)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (tests and benchmarks measuring cold reads)."""
        with self._lock:
            self._items.clear()


WEIGHTS = WeightsCache()
