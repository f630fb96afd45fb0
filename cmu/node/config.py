"""The node's configuration (filled from the command line) and where its data lives.

Data layout: <base path>/chains/<chain id>/db is the LevelDB holding state, trie nodes and blocks. The
default base path is $XDG_DATA_HOME/cmu (~/.local/share/cmu); --tmp uses a throw-away directory.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cmu.node.author import AuthorLimits, SealMode
from cmu.node.network.service import NetworkConfig
from cmu.node.pool import PoolLimits
from cmu.node.server import RpcLimits
from runtime.errors import PalletError
from runtime.genesis import ChainSpec, consortium_spec, dev_spec, local_spec


class ConfigError(Exception):
    """A configuration the node cannot start with, with the reason."""


@dataclasses.dataclass
class NodeConfig:
    """Everything `run_node` needs."""

    chain: str = "dev"
    base_path: Path | None = None
    tmp: bool = False
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 9944
    rpc_cors: tuple[str, ...] | None = None
    rpc_methods: str = "auto"
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int | None = 9615
    seal: SealMode = dataclasses.field(default_factory=lambda: SealMode("interval", 2000))
    author: str | None = None
    pool: PoolLimits = dataclasses.field(default_factory=PoolLimits)
    blocks: AuthorLimits = dataclasses.field(default_factory=AuthorLimits)
    rpc_limits: RpcLimits = dataclasses.field(default_factory=RpcLimits)
    query_window_s: int = 60  # signed model queries: accepted clock skew either side, in seconds
    network: NetworkConfig | None = None  # --etcd: order blocks through an etcd cluster
    dashboard: bool = True  # serve the web dashboard on the RPC port (--no-dashboard turns it off)


def load_spec(chain: str) -> ChainSpec:
    """`dev`, `local`, `consortium` (four dev validators) or the path of a chain spec JSON file."""
    if chain == "dev":
        return dev_spec()
    if chain == "local":
        return local_spec()
    if chain == "consortium":
        return consortium_spec()
    try:
        return ChainSpec.load(chain)
    except PalletError as exc:
        raise ConfigError(str(exc)) from exc


def default_base_path() -> Path:
    """The per-user data directory."""
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data_home) / "cmu"


def database_path(base_path: Path, spec: ChainSpec) -> Path:
    """The LevelDB directory of a chain under a base path."""
    return base_path / "chains" / spec.id / "db"


def allow_unsafe(rpc_methods: str, host: str) -> bool:
    """Whether unsafe methods are served: `unsafe`, or `auto` on a loopback address."""
    from cmu.node.server import is_loopback

    if rpc_methods not in ("safe", "unsafe", "auto"):
        raise ConfigError(f"--rpc-methods must be safe, unsafe or auto, not {rpc_methods!r}")
    return rpc_methods == "unsafe" or (rpc_methods == "auto" and is_loopback(host))
