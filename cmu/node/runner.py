"""Running a node: open the chain, start the validator, the author, the RPC and metrics servers, wait for
SIGINT/SIGTERM, then stop in order (RPC first, then authoring, which finishes its block) and close LevelDB.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import plyvel

from cmu.node.author import Author, SealMode
from cmu.node.chaindb import ChainDb, ChainDbError
from cmu.node.config import ConfigError, NodeConfig, allow_unsafe, database_path, default_base_path, load_spec
from cmu.node.dashboard.api import DashboardApi
from cmu.node.dashboard.web import Dashboard
from cmu.node.extensions import RpcContext, extension_methods
from cmu.node.finality import SoloCertifier
from cmu.node.importer import BlockImporter
from cmu.node.keys import KeyFileError, load_signer
from cmu.node.metrics import Metrics
from cmu.node.model_api import ModelApi
from cmu.node.network.gossip import GossipSubmitter
from cmu.node.network.service import NetworkConfig, NetworkError, NetworkNode, NetworkService, load_identity
from cmu.node.pool import TransactionPool
from cmu.node.provenance_api import ProvenanceApi
from cmu.node.query_auth import QueryAuth
from cmu.node.rpc import Dispatcher, collect_methods
from cmu.node.rpc_api import NodeApi, Submitter
from cmu.node.server import MetricsServer, RpcServer, bind_socket
from cmu.node.subscriptions import Hub, LoopEvents
from cmu.node.substrate.api import SubstrateApi
from cmu.node.training_api import TrainingApi
from cmu.node.validator import Validator
from cmu.node.version_api import VersionApi
from runtime.crypto import DEV_ACCOUNT_NAMES
from runtime.errors import PalletError
from runtime.executive import Runtime
from runtime.genesis import ChainSpec
from runtime.storage.backend import LevelDBBackend
from runtime.validators import dev_validator_keys

log = logging.getLogger("cmu.node")
#: A short GIL switch interval keeps RPC latency low while the author and validator threads compute.
SWITCH_INTERVAL_S = 0.001
#: Fewer, younger garbage collections: with the defaults, full collections under load pause every thread
#: for 60-110 ms (measured with bench/node_rpc.py); with these and gc.freeze() pauses stay near 20 ms.
GC_THRESHOLDS = (50_000, 20, 100)


@dataclasses.dataclass
class OpenChain:
    """A chain database opened with its runtime at the stored head."""

    spec: ChainSpec
    path: Path
    backend: LevelDBBackend
    runtime: Runtime
    chaindb: ChainDb

    def close(self) -> None:
        """Close LevelDB."""
        self.backend.close()


def open_chain(spec: ChainSpec, db_path: Path, *, create: bool = True) -> OpenChain:
    """Open (or create, with its genesis) the chain database at `db_path`."""
    if not create and not (db_path / "CURRENT").exists():
        raise ConfigError(f"no chain database at {db_path}")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        backend = LevelDBBackend(str(db_path), create=create)
    except plyvel.Error as exc:
        raise ConfigError(f"cannot open the database at {db_path}: {exc} (is a node running on it?)") from exc
    try:
        runtime = Runtime(spec, backend)
        chaindb = ChainDb(backend)
        chaindb.open(runtime.head)
    except (PalletError, ChainDbError, ValueError) as exc:  # ValueError: a genesis the pallets refuse
        backend.close()
        raise ConfigError(f"{db_path}: {exc}") from exc
    return OpenChain(spec, db_path, backend, runtime, chaindb)


def chain_path(config: NodeConfig, spec: ChainSpec) -> Path:
    """The database directory for a configuration (not for --tmp)."""
    return database_path(config.base_path or default_base_path(), spec)


@dataclasses.dataclass
class _Services:
    validator: Validator
    author: Author | None
    rpc: RpcServer
    metrics_server: MetricsServer | None
    network: NetworkService | None = None


class NodeRunner:
    """One node process."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self._signals = 0

    def run(self) -> int:
        """Run until SIGINT/SIGTERM; the exit code."""
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        return asyncio.run(self._main())

    async def _main(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, stop)
        spec = load_spec(self.config.chain)
        tmp_dir = Path(tempfile.mkdtemp(prefix="cmu-node-")) if self.config.tmp else None
        try:
            chain = open_chain(
                spec, database_path(tmp_dir, spec) if tmp_dir else chain_path(self.config, spec)
            )
            try:
                services = await self._start(chain, loop)
                try:
                    await stop.wait()
                finally:
                    await self._stop(services)
            finally:
                chain.close()
        finally:
            if tmp_dir is not None:
                shutil.rmtree(tmp_dir, ignore_errors=True)
        log.info("Stopped cleanly")
        return 0

    def _on_signal(self, stop: asyncio.Event) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("Stopping (signal received; a second one exits at once)")
            stop.set()
        else:
            log.warning("Exiting at once: the last committed block is kept, LevelDB recovers its log")
            os._exit(130)

    async def _start(self, chain: OpenChain, loop: asyncio.AbstractEventLoop) -> _Services:
        self._report_head(chain)
        hub = Hub(self.config.rpc_limits.max_subscriptions)
        events = LoopEvents(loop, hub)
        pool = TransactionPool(self.config.pool, on_status=events.tx_status)
        self.metrics.watch_pool(lambda: pool.ready_count, lambda: pool.future_count)
        validation_runtime = Runtime(chain.spec, chain.backend)
        validator = Validator(validation_runtime, pool)
        submitter = Submitter(loop, validator)
        validator.deliver = submitter.deliver
        network = None
        if self.config.network is not None:
            author, network = self._make_network(self.config.network, chain, pool, events, validator)
            network.gossip.submitter = submitter
            submitter = GossipSubmitter(loop, validator, network.gossip)
        else:
            author = self._make_author(chain, pool, events, validator)
        api = NodeApi(
            spec=chain.spec,
            runtime=validation_runtime,
            chaindb=chain.chaindb,
            pool=pool,
            submitter=submitter,
            hub=hub,
            author=author if network is None else None,  # a network's author authors on its turn only
            dev_chain=network is None and author is not None and is_dev_chain(chain.spec),
        )
        rpc = await self._serve_rpc(api, hub)
        metrics_server = await self._serve_metrics()
        tune_gc()
        validator.start()
        if network is not None:
            await self._join(network)
        elif author is not None:
            if api.dev_chain:
                author.resume_clock()
            author.start()
        return _Services(validator, author, rpc, metrics_server, network)

    def _make_network(
        self,
        config: NetworkConfig,
        chain: OpenChain,
        pool: TransactionPool,
        events: LoopEvents,
        validator: Validator,
    ) -> tuple[Author | None, NetworkService]:
        """The network service (and, on a validator, an author it drives) for --etcd."""
        validators = chain.spec.validators
        if not validators:
            raise ConfigError(f"--etcd: the chain spec {chain.spec.id!r} lists no validators")
        try:
            identity = None if config.key_file is None else load_identity(config.key_file, validators)
        except NetworkError as exc:
            raise ConfigError(str(exc)) from exc
        author = None
        if identity is not None:
            author = Author(
                chain.runtime,
                chain.chaindb,
                pool,
                identity.keypair,
                seal=SealMode("manual"),
                events=events,
                metrics=self.metrics,
                follow=validator.follow,
                limits=self.config.blocks,
            )
        importer = BlockImporter(chain.runtime, chain.chaindb, self.metrics, events)
        node = NetworkNode(
            chain.runtime, chain.chaindb, importer, author, pool, validator, events, self.metrics
        )
        return author, NetworkService(config, node, validators, identity)

    async def _join(self, network: NetworkService) -> None:
        try:
            await network.start()
        except NetworkError as exc:
            await network.stop()
            raise ConfigError(str(exc)) from exc

    def _report_head(self, chain: OpenChain) -> None:
        head = chain.chaindb.head
        log.info("Chain %r in %s", chain.spec.name, chain.path)
        log.info(
            "Best block #%d 0x%s, state root 0x%s, genesis 0x%s",
            head.best.number,
            head.best_hash.hex(),
            head.best.state_root.hex(),
            chain.runtime.genesis_hash.hex(),
        )
        self.metrics.best_height.set(head.best.number)
        self.metrics.finalized_height.set(head.final.number)

    def _make_author(
        self, chain: OpenChain, pool: TransactionPool, events: LoopEvents, validator: Validator
    ) -> Author | None:
        if self.config.author is None:
            log.info("Not authoring blocks (no --author)")
            return None
        try:
            keypair = load_signer(self.config.author)
        except KeyFileError as exc:
            raise ConfigError(f"--author: {exc}") from exc
        author = Author(
            chain.runtime,
            chain.chaindb,
            pool,
            keypair,
            seal=self.config.seal,
            events=events,
            metrics=self.metrics,
            follow=validator.follow,
            limits=self.config.blocks,
        )
        author.certifier = solo_certifier(chain, self.config.author)
        if author.certifier is not None:
            log.info("Certifying finalized blocks as the chain's single validator %r", self.config.author)
        return author

    async def _serve_rpc(self, api: NodeApi, hub: Hub) -> RpcServer:
        config = self.config
        unsafe = allow_unsafe(config.rpc_methods, config.rpc_host)
        auth = QueryAuth(api.runtime.genesis_hash, window_s=config.query_window_s)
        model_api = ModelApi(api.spec, api.runtime, api.chaindb, api.header_at, auth)
        provenance_api = ProvenanceApi(api.spec, api.runtime, api.chaindb, model_api)
        training_api = TrainingApi(api.runtime, model_api)
        version_api = VersionApi(model_api)
        apis: list[object] = [api, model_api, version_api, provenance_api, training_api]
        if config.dashboard:
            apis.append(DashboardApi(api, model_api, version_api, training_api, dev=config.chain == "dev"))
        methods = collect_methods(*apis)
        context = RpcContext(api.runtime, model_api.runtime_at)
        methods.update(extension_methods(context, methods))
        limits = config.rpc_limits
        dispatcher = Dispatcher(
            methods,
            allow_unsafe=unsafe,
            metrics=self.metrics,
            max_batch=limits.max_batch,
            max_depth=limits.max_depth,
        )
        api.method_names = dispatcher.method_names()
        substrate_methods = {**methods, **collect_methods(SubstrateApi(api))}
        substrate = Dispatcher(
            substrate_methods,
            allow_unsafe=unsafe,
            metrics=self.metrics,
            max_batch=limits.max_batch,
            max_depth=limits.max_depth,
        )
        dashboard = Dashboard(dispatcher) if config.dashboard else None
        server = RpcServer(
            dispatcher,
            hub,
            self.metrics,
            limits=config.rpc_limits,
            cors=config.rpc_cors,
            dashboard=dashboard,
            substrate=substrate,
        )
        sock = _bind(config.rpc_host, config.rpc_port, "RPC")
        await server.start(sock)
        port = sock.getsockname()[1]
        host = _url_host(config.rpc_host)
        print(f"RPC listening on http://{host}:{port} (WebSocket ws://{host}:{port})", flush=True)
        log.info("Unsafe RPC methods are %s", "served" if unsafe else "not served")
        return server

    async def _serve_metrics(self) -> MetricsServer | None:
        config = self.config
        if config.prometheus_port is None:
            return None
        server = MetricsServer(self.metrics)
        sock = _bind(config.prometheus_host, config.prometheus_port, "Prometheus")
        await server.start(sock)
        print(
            f"Prometheus metrics on http://{_url_host(config.prometheus_host)}:{sock.getsockname()[1]}/metrics",
            flush=True,
        )
        return server

    async def _stop(self, services: _Services) -> None:
        await services.rpc.stop()
        if services.network is not None:
            await services.network.stop()
        if services.author is not None:
            await asyncio.get_running_loop().run_in_executor(None, services.author.stop)
        services.validator.stop()
        if services.metrics_server is not None:
            await services.metrics_server.stop()


def solo_certifier(chain: OpenChain, author: str) -> SoloCertifier | None:
    """A certifier when the author is a dev account that is the spec's single validator (--dev: alice)."""
    name = author.lower()
    if name not in DEV_ACCOUNT_NAMES or not chain.spec.validators:
        return None
    keys = dev_validator_keys(name)
    return SoloCertifier.for_validator(chain.spec.validators, keys, chain.runtime.genesis_hash)


def is_dev_chain(spec: ChainSpec) -> bool:
    """A development chain (chainType "Development", as `--dev` runs): its clock may be warped."""
    return spec.chain_type == "Development"


def tune_gc() -> None:
    """Move everything built at startup out of the collector's sight and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _bind(host: str, port: int, what: str) -> Any:
    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot listen on {host}:{port}: {exc.strerror}") from exc


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
