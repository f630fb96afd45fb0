"""The runtime's one cache of decoded model weights, owned by its ModelRegistry pallet instance.

Weights are kept by artifact root: a root is the hash of the full weights' canonical bytes (header
included), so it names one value, and a hit is exactly what decoding (or replaying version deltas) would
give. A hit is still checked against the model's kind, inputs and label count, because one artifact's
bytes could be read with another model's spec. Version reads, training's running weights and the node's
predictions and downloads all go through this cache; memory is bounded by entries and by bytes.
"""

from __future__ import annotations

from cmu.models.spec import InputSpec
from cmu.models.weights import Weights
from runtime.caches import BoundedCache

MAX_ENTRIES = 32
MAX_BYTES = 128 * 1024 * 1024
"""A 100,000-feature, 2-label perceptron is about 1.6 MB; one huge model may not evict all others."""


class WeightsCache:
    """Decoded weights by artifact root (see the module docstring)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._items: BoundedCache[bytes, Weights] = BoundedCache(
            max_entries, max_bytes, cost=lambda weights: int(weights.flat.nbytes)
        )

    def get(self, root: bytes, kind: str, spec: InputSpec, n_labels: int) -> Weights | None:
        """The weights of `root` if cached and of this kind, spec and label count."""
        found = self._items.get(root)
        if found is None or (found.kind, found.spec, found.n_labels) != (kind, spec, n_labels):
            return None
        return found

    def put(self, root: bytes, weights: Weights) -> None:
        """Remember the weights whose canonical bytes have this root."""
        self._items.put(root, weights)

    def clear(self) -> None:
        """Forget everything (tests and benchmarks measuring cold reads)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes of weights kept now (at most MAX_BYTES)."""
        return self._items.total_cost
