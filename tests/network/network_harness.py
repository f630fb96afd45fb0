"""Test harness of a consortium network on loopback: etcd members plus validator (and follower) node
processes of the built-in `consortium` chain (validators alice, bob, charlie, dave), with real key files.
Used by the network tests and bench/network.py.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from etcd_cluster import EtcdCluster
from node_harness import NodeProcess, poll_until

from cmu.node.keys import write_validator_key_file
from runtime.genesis import CONSORTIUM_VALIDATORS
from runtime.validators import dev_validator_keys

#: Short turns and gaps keep the tests quick on a loaded machine (the defaults are 2000 and 100 ms).
TURN_MS = 1_500
GAP_MS = 100


class Network:
    """Validator nodes named after the consortium's dev validators, sharing one etcd cluster."""

    def __init__(
        self, etcd: EtcdCluster, *, turn_ms: int = TURN_MS, gap_ms: int = GAP_MS, chain: str = "consortium"
    ) -> None:
        self.etcd = etcd
        self.chain = chain
        self.turn_ms = turn_ms
        self.gap_ms = gap_ms
        self.root = Path(tempfile.mkdtemp(prefix="cmu-net-"))
        self.nodes: dict[str, NodeProcess] = {}

    def key_file(self, name: str) -> Path:
        """The validator key file of dev validator `name` (written once, mode 0600)."""
        path = self.root / f"{name}.key.json"
        if not path.exists():
            write_validator_key_file(path, dev_validator_keys(name))
        return path

    def node_args(self, name: str, *extra: str, validator: bool = True) -> list[str]:
        """The command line of one node, with its own kept base path."""
        args = [
            "--chain", self.chain,
            "--base-path", str(self.root / name),
            "--etcd", self.etcd.url_list,
            "--turn-timeout-ms", str(self.turn_ms),
            "--block-gap-ms", str(self.gap_ms),
        ]  # fmt: skip
        if validator:
            args += ["--validator", "--key-file", str(self.key_file(name))]
        return args + list(extra)

    def start(self, name: str, *extra: str, validator: bool = True, skew_s: float = 0.0) -> NodeProcess:
        """Start (or restart) node `name`; with `skew_s`, its network clock runs that far off (a test flag:
        libfaketime 0.9.10 hangs Python's timed waits on threads, so the skew is injected in the node)."""
        old = self.nodes.get(name)
        if old is not None:
            old.close()
        if skew_s:
            extra = (*extra, "--test-clock-skew-ms", str(int(skew_s * 1000)))
        node = NodeProcess(*self.node_args(name, *extra, validator=validator)).start()
        self.nodes[name] = node
        return node

    def start_all(self, names: tuple[str, ...] = CONSORTIUM_VALIDATORS) -> list[NodeProcess]:
        """Start every validator."""
        return [self.start(name) for name in names]

    def print_logs(self, tail: int = 6_000) -> None:
        """Print the end of every node's log (for a failed test's report)."""
        for name, node in self.nodes.items():
            print(f"===== {name} =====\n{node.logs()[-tail:]}")

    def close(self) -> None:
        """Kill every node and remove the data."""
        for node in self.nodes.values():
            node.close()
        shutil.rmtree(self.root, ignore_errors=True)


def failed(request: Any) -> bool:
    """Whether the requesting test's call phase failed (conftest keeps the reports on the item)."""
    report = getattr(request.node, "report_call", None)
    return report is not None and bool(report.failed)


def finalized_number(node: NodeProcess) -> int:
    """The number of the node's finalized block."""
    final_hash = node.rpc("chain_getFinalizedHead")
    number: int = node.rpc("chain_getHeader", final_hash)["number"]
    return number


def wait_finalized(nodes: list[NodeProcess], number: int, timeout: float = 90.0) -> None:
    """Wait until every node has finalized block `number` or a later one."""
    for node in nodes:
        poll_until(lambda n=node: finalized_number(n) >= number, timeout=timeout, interval=0.2)


def roots_at(node: NodeProcess, number: int) -> tuple[str, str]:
    """(block hash, state root) of a node's block `number`."""
    block_hash = node.rpc("chain_getBlockHash", number)
    header: dict[str, Any] = node.rpc("chain_getHeader", block_hash)
    return block_hash, header["stateRoot"]
