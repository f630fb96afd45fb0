"""Prometheus metrics of one node, in a registry of its own (served at /metrics on the metrics port).

Names: cmu_block_height{status="best"|"finalized"}, cmu_txpool_transactions{queue="ready"|"future"},
cmu_block_author_seconds, cmu_block_import_seconds (histograms), cmu_rpc_calls_total{method},
cmu_rpc_connections (open WebSocket connections).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BLOCK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The node's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        height = Gauge("cmu_block_height", "Block height by status.", ["status"], registry=self.registry)
        self.best_height = height.labels(status="best")
        self.finalized_height = height.labels(status="finalized")
        self._pool = Gauge(
            "cmu_txpool_transactions", "Transactions in the pool by queue.", ["queue"], registry=self.registry
        )
        self.block_author_seconds = Histogram(
            "cmu_block_author_seconds",
            "Time to build, seal and commit an authored block.",
            buckets=BLOCK_BUCKETS,
            registry=self.registry,
        )
        self.block_import_seconds = Histogram(
            "cmu_block_import_seconds",
            "Time to execute, verify and commit an imported block.",
            buckets=BLOCK_BUCKETS,
            registry=self.registry,
        )
        self.rpc_calls = Counter(
            "cmu_rpc_calls", "JSON-RPC calls by method.", ["method"], registry=self.registry
        )
        self.rpc_connections = Gauge(
            "cmu_rpc_connections", "Open WebSocket connections.", registry=self.registry
        )

    def watch_pool(self, ready: Callable[[], int], future: Callable[[], int]) -> None:
        """Read the pool sizes at scrape time."""
        self._pool.labels(queue="ready").set_function(ready)
        self._pool.labels(queue="future").set_function(future)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
