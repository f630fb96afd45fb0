"""`cmu`: the command-line client of a cmu node. Global --url, --signer, --json, --timeout; commands tx,
query, block, balance, events, metadata, rpc, model, training, dev. Exit codes: 0 ok, 1 refused or failed,
2 usage, 3 no node.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from cmu.client import commands
from cmu.client.chain import Chain
from cmu.client.dev_commands import add_dev_commands
from cmu.client.errors import ArgumentError, ClientError, NodeUnreachable
from cmu.client.extensions import add_extension_commands
from cmu.client.model_commands import add_model_commands
from cmu.client.output import Output
from cmu.client.rpc import DEFAULT_URL, Client
from cmu.client.training_commands import add_training_commands

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3
Command = Callable[[argparse.Namespace, Chain, Output], int]


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name (defaults only on the main parser)."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--url",
        default=default(os.environ.get("CMU_URL", DEFAULT_URL)),
        help=f"node RPC address (default: $CMU_URL, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--signer",
        default=default(os.environ.get("CMU_SIGNER")),
        help="dev account name (alice, bob, ...) or key file from `node.py key generate` (CMU_SIGNER)",
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    parser.add_argument(
        "--timeout",
        type=float,
        default=default(60.0),
        metavar="SECONDS",
        help="RPC and --wait timeout (default: 60)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `cmu`."""
    parser = argparse.ArgumentParser(
        prog="cmu", description="Client of a cmu node: sign calls from the runtime metadata, query state."
    )
    _global_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, defaults=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_tx(sub.add_parser("tx", parents=[common], help="sign and submit PALLET.CALL name=value ..."))
    query = sub.add_parser("query", parents=[common], help="read a storage item: PALLET.ITEM [KEY...]")
    query.add_argument("item", metavar="PALLET.ITEM")
    query.add_argument("keys", nargs="*", metavar="KEY", help="one per key of the item (a map has one)")
    query.add_argument("--at", metavar="BLOCK", help="block number or hash (default: best block)")
    query.set_defaults(handler=commands.cmd_query)
    block = sub.add_parser("block", parents=[common], help="show a block and its extrinsics")
    block.add_argument("block", nargs="?", metavar="NUMBER|HASH", help="default: the best block")
    block.set_defaults(handler=commands.cmd_block)
    balance = sub.add_parser("balance", parents=[common], help="an account's free and held balance")
    balance.add_argument("who", metavar="WHO", help="0x-address or dev name")
    balance.set_defaults(handler=commands.cmd_balance)
    _add_events(sub.add_parser("events", parents=[common], help="events of a block, or --follow new ones"))
    meta = sub.add_parser("metadata", parents=[common], help="pallets and calls with argument types")
    meta.add_argument("pallet", nargs="?", metavar="PALLET", help="show one pallet in detail")
    meta.set_defaults(handler=commands.cmd_metadata)
    rpc = sub.add_parser("rpc", parents=[common], help="call any RPC method: METHOD [PARAM...]")
    rpc.add_argument("method", metavar="METHOD")
    rpc.add_argument("params", nargs="*", metavar="PARAM", help="JSON, or a plain string")
    rpc.set_defaults(handler=commands.cmd_rpc)
    add_model_commands(sub, common)
    add_training_commands(sub, common)
    add_extension_commands(sub, common)
    add_dev_commands(sub, common)
    return parser


def _add_tx(tx: argparse.ArgumentParser) -> None:
    tx.add_argument("call", metavar="PALLET.CALL")
    tx.add_argument("args", nargs="*", metavar="NAME=VALUE", help="one per call argument")
    tx.add_argument("--wait", action="store_true", help="wait for the block; print its events or the error")
    tx.add_argument("--finalized", action="store_true", help="wait until the block is finalized")
    tx.add_argument("--tip", type=_non_negative, default=0, metavar="N", help="tip for the block author")
    tx.add_argument("--nonce", type=_non_negative, metavar="N", help="default: the node's next index")
    tx.add_argument("--mortal", type=_non_negative, metavar="BLOCKS", help="valid for this many blocks only")
    tx.set_defaults(handler=commands.cmd_tx)


def _add_events(events: argparse.ArgumentParser) -> None:
    events.add_argument("--block", metavar="NUMBER|HASH", help="default: the best block")
    events.add_argument("--follow", action="store_true", help="print the events of every new block")
    events.add_argument("--count", type=_non_negative, metavar="N", help="with --follow: stop after N blocks")
    events.set_defaults(handler=commands.cmd_events)


def _non_negative(text: str) -> int:
    try:
        value = int(text.replace("_", ""), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run `cmu` with `argv`; returns the exit code (errors are one line on stderr)."""
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        with Client(args.url, timeout=args.timeout) as client:
            return handler(args, Chain(client), Output(args.json, sys.stdout))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except ArgumentError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except NodeUnreachable as exc:
        return _fail(EXIT_CONNECTION, str(exc))
    except ClientError as exc:
        return _fail(EXIT_FAILED, str(exc))
    except TimeoutError as exc:
        return _fail(EXIT_FAILED, str(exc) or "timed out waiting for the node")
    except (KeyError, TypeError) as exc:
        if os.environ.get("CMU_DEBUG"):
            raise
        return _fail(
            EXIT_FAILED,
            f"unexpected answer from the node ({type(exc).__name__}: {exc}); CMU_DEBUG=1 shows more",
        )


def _fail(code: int, message: str) -> int:
    print(f"cmu: error: {message}", file=sys.stderr)
    return code


def run() -> None:
    """The console-script entry point."""
    sys.exit(main())
