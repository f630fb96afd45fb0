"""The cmu node's command line (console script `cmu-node`): flags -> configuration -> run.

`python node.py --dev` runs a development chain (alice authoring, throw-away database); subcommands:
key, build-spec, export-blocks, import-blocks, purge-chain, export-proof, verify-proof.
`python node.py --help` lists every flag.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cmu.node.author import AuthorLimits, SealMode
from cmu.node.config import ConfigError, NodeConfig, database_path, default_base_path, load_spec
from cmu.node.keys import KeyFileError
from cmu.node.network.orderer import NetworkParams
from cmu.node.network.service import NetworkConfig
from cmu.node.pool import PoolLimits
from cmu.node.server import RpcLimits

DEV_SEAL = "instant+interval:2000"
"""--dev's seal: a block as soon as transactions are ready (the dev loop waits for no timer), and an empty
one every 2 s otherwise (block time moves on)."""
LOG_FORMAT = "%(asctime)s %(levelname)-5s %(name)-11s %(message)s"


def _chain_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--chain, --base-path, --dev (on the main parser and again on each subcommand)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--chain", default=default, help="dev, local, consortium or a chain spec JSON file (default: dev)"
    )
    parser.add_argument("--base-path", type=Path, default=default, help="data directory (default: per user)")
    parser.add_argument(
        "--dev",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="development chain: --chain dev, alice authoring, throw-away data unless --base-path",
    )
    parser.add_argument(
        "--log", default=default, help="log level: debug, info, warning, error (default: info)"
    )


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tmp", action="store_true", help="use a throw-away data directory, removed on exit")
    parser.add_argument("--rpc-host", default="127.0.0.1", help="RPC listen address (default 127.0.0.1)")
    parser.add_argument(
        "--rpc-port", type=int, default=9944, help="RPC port; 0 picks a free one (default 9944)"
    )
    parser.add_argument(
        "--rpc-cors",
        default=None,
        help="comma-separated origins allowed by CORS, or 'all' (default: CORS off)",
    )
    parser.add_argument(
        "--rpc-methods",
        default="auto",
        choices=("safe", "unsafe", "auto"),
        help="serve unsafe methods (engine_*, dev_*; docs/rpc.md): auto = only when --rpc-host is loopback",
    )
    _rpc_limit_flags(parser)
    parser.add_argument("--prometheus-port", type=int, default=9615, help="metrics port; 0 picks a free one")
    parser.add_argument("--prometheus-host", default="127.0.0.1", help="metrics listen address")
    parser.add_argument("--no-prometheus", action="store_true", help="do not serve metrics")
    parser.add_argument(
        "--no-dashboard", action="store_true", help="do not serve the web dashboard on the RPC port"
    )
    parser.add_argument(
        "--seal",
        default=None,
        help="instant, manual, interval:MS or instant+interval:MS "
        "(default interval:2000; with --dev instant+interval:2000)",
    )
    parser.add_argument(
        "--author", default=None, help="author blocks with this key: a dev name or a key file"
    )
    parser.add_argument("--pool-limit", type=int, default=20_000, help="transactions in the pool")
    parser.add_argument(
        "--pool-sender-limit", type=int, default=64, help="transactions per sender in the pool"
    )
    parser.add_argument("--max-block-txs", type=int, default=10_000, help="transactions per authored block")
    parser.add_argument(
        "--query-window",
        type=int,
        default=60,
        metavar="SECONDS",
        help="signed model queries: how far their timestamp may be from this node's clock (default 60)",
    )
    _network_flags(parser)


#: (flag, RpcLimits field, type, help) of each RPC limit; the defaults are RpcLimits' own.
_RPC_LIMIT_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--rpc-max-request-bytes", "max_body", int, "bytes of an HTTP request body"),
    ("--rpc-max-ws-message-bytes", "max_ws_message", int, "bytes of one WebSocket message"),
    ("--rpc-max-json-depth", "max_depth", int, "JSON nesting of a request"),
    ("--rpc-max-batch-request-len", "max_batch", int, "calls in one batch request"),
    ("--rpc-max-connections", "max_ws_connections", int, "open WebSocket connections"),
    ("--rpc-max-http-connections", "max_http_connections", int, "open connections of any kind (RPC port)"),
    (
        "--rpc-max-connections-per-ip",
        "max_per_address",
        int,
        "open connections of any kind per client address",
    ),
    ("--rpc-max-subscriptions-per-connection", "max_subscriptions", int, "subscriptions per WebSocket"),
    ("--rpc-header-timeout", "header_timeout_s", float, "seconds to send a request's head"),
    ("--rpc-body-timeout", "body_timeout_s", float, "seconds to send a request's body once its head is in"),
    (
        "--rpc-idle-timeout",
        "idle_timeout_s",
        float,
        "seconds a keep-alive connection may wait between requests",
    ),
    ("--rpc-max-ws-queue", "max_queued", int, "messages queued to one WebSocket client before it is dropped"),
    (
        "--rpc-max-ws-queue-bytes",
        "max_queued_bytes",
        int,
        "bytes queued to one WebSocket client before it is dropped",
    ),
)


def _rpc_limit_flags(parser: argparse.ArgumentParser) -> None:
    defaults = RpcLimits()
    for flag, field, kind, text in _RPC_LIMIT_FLAGS:
        default = getattr(defaults, field)
        parser.add_argument(
            flag, type=kind, default=default, dest=field, help=f"{text} (default {default:,})"
        )


def rpc_limits(args: argparse.Namespace) -> RpcLimits:
    """RpcLimits from the --rpc-* limit flags; ConfigError for a value that is not positive."""
    values = {field: getattr(args, field) for _flag, field, _kind, _text in _RPC_LIMIT_FLAGS}
    for flag, field, _kind, _text in _RPC_LIMIT_FLAGS:
        if values[field] <= 0:
            raise ConfigError(f"{flag} must be positive")
    return RpcLimits(**values)


def _network_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--etcd", default=None, metavar="URL[,URL...]", help="join a network ordered by this etcd cluster"
    )
    parser.add_argument(
        "--validator", action="store_true", help="with --etcd: author and finalize with --key-file's keys"
    )
    parser.add_argument(
        "--key-file", type=Path, default=None, help="a validator key file (node.py key generate --validator)"
    )
    parser.add_argument(
        "--turn-timeout-ms",
        type=int,
        default=2_000,
        help="with --etcd: how long an author's turn lasts before the next validator's (same on every node)",
    )
    parser.add_argument(
        "--block-gap-ms", type=int, default=100, help="with --etcd: least time between a block and the next"
    )
    parser.add_argument("--test-fault-bad-state-root", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--test-fault-lose-first-vote", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--test-clock-skew-ms", type=int, default=0, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="cmu-node", description=__doc__)
    _chain_flags(parser, suppress=False)
    _run_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    key = sub.add_parser("key", help="generate or inspect key files")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    generate = key_sub.add_parser("generate", help="a new random key (file mode 0600)")
    generate.add_argument("--output", type=Path, default=None, help="key file to create (default: print)")
    generate.add_argument(
        "--validator", default=None, metavar="NAME", help="a validator key (ed25519 + BLS) named NAME"
    )
    generate.add_argument(
        "--dev", dest="dev_keys", action="store_true", help="with --validator: NAME's public dev keys"
    )
    inspect = key_sub.add_parser("inspect", help="the public key of a key file or a dev account")
    inspect.add_argument("file", type=Path, nargs="?", default=None)
    inspect.add_argument("--dev", dest="dev_name", default=None, metavar="NAME", help="a dev account name")
    spec = sub.add_parser("build-spec", help="print the chain spec JSON")
    spec.add_argument(
        "--validators",
        default=None,
        metavar="NAMES",
        help="comma-separated dev validator names (alice,bob,...) to list in the spec as its validators",
    )
    exporter = sub.add_parser("export-blocks", help="write the chain's blocks to a file")
    exporter.add_argument("file", type=Path)
    importer = sub.add_parser("import-blocks", help="re-execute the blocks of a file into the database")
    importer.add_argument("file", type=Path)
    purge = sub.add_parser("purge-chain", help="delete the chain database")
    purge.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    proof = sub.add_parser("export-proof", help="write a model version's provenance proof (JSON file)")
    proof.add_argument("--model", type=int, required=True, help="model id")
    proof.add_argument("--version", type=int, required=True, help="version number")
    proof.add_argument("--at", default=None, help="a certified block number or 0x-hash (default: newest)")
    proof.add_argument("--out", type=Path, required=True, help="the proof file to write")
    check = sub.add_parser("verify-proof", help="check a provenance proof offline against a chain spec")
    check.add_argument("file", type=Path)
    check.add_argument("--chain-spec", required=True, help="the chain spec (a JSON file, or dev/local/...)")
    for command in (spec, exporter, importer, purge, proof):
        _chain_flags(command, suppress=True)
    return parser


def node_config(args: argparse.Namespace) -> NodeConfig:
    """The run configuration from parsed flags (with --dev's defaults)."""
    try:
        seal = SealMode.parse(args.seal or (DEV_SEAL if args.dev else "interval:2000"))
    except ValueError as exc:
        raise ConfigError(f"--seal: {exc}") from exc
    if args.query_window <= 0:
        raise ConfigError("--query-window must be a positive number of seconds")
    return NodeConfig(
        network=network_config(args),
        chain=args.chain or "dev",
        base_path=args.base_path,
        tmp=args.tmp or (args.dev and args.base_path is None),
        rpc_host=args.rpc_host,
        rpc_port=args.rpc_port,
        rpc_cors=tuple(o.strip() for o in args.rpc_cors.split(",")) if args.rpc_cors else None,
        rpc_methods=args.rpc_methods,
        prometheus_host=args.prometheus_host,
        prometheus_port=None if args.no_prometheus else args.prometheus_port,
        seal=seal,
        author=args.author or ("alice" if args.dev else None),
        pool=PoolLimits(total=args.pool_limit, per_sender=args.pool_sender_limit),
        blocks=AuthorLimits(max_txs=args.max_block_txs),
        query_window_s=args.query_window,
        dashboard=not args.no_dashboard,
        rpc_limits=rpc_limits(args),
    )


def network_config(args: argparse.Namespace) -> NetworkConfig | None:
    """The --etcd, --validator, --key-file and timing flags (None without --etcd)."""
    if args.etcd is None:
        if args.validator or args.key_file is not None:
            raise ConfigError("--validator and --key-file need --etcd URL[,URL...]")
        return None
    if args.validator and args.key_file is None:
        raise ConfigError("--validator needs --key-file (node.py key generate --validator NAME)")
    if args.author is not None or args.seal is not None:
        raise ConfigError("--author and --seal are for a single node; with --etcd use --validator --key-file")
    urls = tuple(u.strip() for u in args.etcd.split(",") if u.strip())
    if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
        raise ConfigError("--etcd takes comma-separated http:// URLs of etcd members")
    if args.turn_timeout_ms <= 0 or args.block_gap_ms < 0:
        raise ConfigError("--turn-timeout-ms must be positive and --block-gap-ms not negative")
    return NetworkConfig(
        etcd=urls,
        key_file=args.key_file if args.validator else None,
        params=NetworkParams(
            turn_ms=args.turn_timeout_ms,
            block_gap_ms=args.block_gap_ms,
            clock_skew_ms=args.test_clock_skew_ms,
        ),
        fault_bad_state_root=args.test_fault_bad_state_root,
        fault_lose_first_vote=args.test_fault_lose_first_vote,
    )


def _db_path(args: argparse.Namespace) -> Path:
    spec = load_spec(args.chain or "dev")
    return database_path(args.base_path or default_base_path(), spec)


def run_command(args: argparse.Namespace) -> int:
    """Dispatch a parsed command line; the exit code."""
    from cmu.node import commands

    chain = args.chain or "dev"
    if args.command == "key":
        if args.key_command == "generate":
            if args.validator is not None:
                return commands.validator_key_generate(args.validator, args.output, dev=args.dev_keys)
            return commands.key_generate(args.output)
        return commands.key_inspect(args.file, args.dev_name)
    if args.command == "build-spec":
        return commands.build_spec(chain, args.validators)
    if args.command == "export-blocks":
        return commands.export_blocks(chain, _db_path(args), args.file)
    if args.command == "import-blocks":
        return commands.import_blocks(chain, _db_path(args), args.file)
    if args.command == "purge-chain":
        return commands.purge_chain(_db_path(args), args.yes)
    if args.command == "export-proof":
        return commands.export_proof(chain, _db_path(args), args.model, args.version, args.at, args.out)
    if args.command == "verify-proof":
        return commands.verify_proof(args.file, args.chain_spec)
    from cmu.node.runner import NodeRunner

    return NodeRunner(node_config(args)).run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `cmu-node` and `python node.py`."""
    args = build_parser().parse_args(argv)
    level = (args.log or "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), format=LOG_FORMAT, stream=sys.stderr)
    try:
        return run_command(args)
    except (ConfigError, KeyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
