"""The CLI's commands: each takes the parsed arguments, a Chain and an Output, and returns an exit code
(0 ok, 1 a refused or failed transaction); bad input raises ArgumentError (exit 2)."""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from cmu.client.chain import Chain, Receipt
from cmu.client.errors import ArgumentError, RpcError
from cmu.client.output import Output, block_text, event_line, metadata_text, table
from cmu.client.signer import load_signer
from runtime.boundedjson import loads_bounded


def parse_assignments(items: list[str]) -> dict[str, str]:
    """{"dest": "bob", ...} of ["dest=bob", ...]."""
    result: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise ArgumentError(f"expected NAME=VALUE, got {item!r}")
        if name in result:
            raise ArgumentError(f"argument {name!r} is given twice")
        result[name] = value
    return result


def cmd_tx(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Sign and submit PALLET.CALL; with --wait, report its block, events or error."""
    if not args.signer:
        raise ArgumentError("tx needs a signer: --signer NAME|KEYFILE (or CMU_SIGNER)")
    keypair = load_signer(args.signer)
    call = chain.compose(args.call, parse_assignments(args.args))
    extrinsic = chain.sign(keypair, call, tip=args.tip, nonce=args.nonce, mortal=args.mortal)
    if not (args.wait or args.finalized):
        tx_hash = chain.submit(extrinsic)
        out.emit({"hash": tx_hash}, tx_hash)
        return 0
    receipt = chain.submit_and_watch(extrinsic, timeout=args.timeout, finalized=args.finalized)
    out.emit(receipt.to_json(), _receipt_text(receipt))
    if not receipt.success:
        _error_line(f"{receipt.error}: {receipt.message}" if receipt.message else str(receipt.error))
        return 1
    return 0


def _receipt_text(receipt: Receipt) -> str:
    number = f"#{receipt.block_number} " if receipt.block_number is not None else ""
    status = "ok" if receipt.success else f"failed: {receipt.error}"
    lines = [
        table(
            [
                ("extrinsic", receipt.hash),
                ("block", f"{number}{receipt.block_hash}" + (" (finalized)" if receipt.finalized else "")),
                ("index", receipt.index),
                ("result", status),
            ]
        ),
        "events:",
    ]
    lines += [f"  {event_line(e)}" for e in receipt.events]
    return "\n".join(lines)


def _error_line(message: str) -> None:
    print(f"cmu: error: {message}", file=sys.stderr)


def cmd_query(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Read PALLET.ITEM at KEY...; the item's default when nothing is stored."""
    at = chain.block_hash(args.at) if args.at else None
    result = chain.query(args.item, args.keys, at=at)
    out.emit(result.value)
    return 0


def cmd_balance(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """An account's balances and nonce (System.account)."""
    info = chain.account(args.who)
    if "free" in info and "held" in info:
        info["total"] = int(info["free"]) + int(info["held"])
    out.emit(info, table(info.items()))
    return 0


def cmd_block(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """A block (the best one by default) with its decoded extrinsics."""
    block = chain.block(args.block)
    out.emit(block, block_text(block))
    return 0


def cmd_events(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """The events of one block, or of every new block with --follow."""
    if args.follow and args.block:
        raise ArgumentError("events: use --block or --follow, not both")
    if args.follow:
        for header in itertools.islice(_new_heads(chain), args.count):
            block_hash = header.get("hash") or chain.block_hash(header["number"])
            _print_events(chain, out, str(block_hash), header.get("number"))
        return 0
    block_hash = chain.block_hash(args.block)
    header = chain.client.request("chain_getHeader", [block_hash])
    _print_events(chain, out, block_hash, header.get("number") if header else None)
    return 0


def _print_events(chain: Chain, out: Output, block_hash: str, number: Any) -> None:
    for event in chain.events(block_hash):
        out.emit({"block": number, "blockHash": block_hash, **event}, event_line(event, number))


def _new_heads(chain: Chain) -> Iterator[dict[str, Any]]:
    """New best headers in order, filling in numbers the subscription skipped."""
    last: int | None = None
    with chain.client.subscribe("chain_subscribeNewHeads") as heads:
        for header in heads:
            number = int(header["number"])
            if last is not None and number <= last:
                continue  # a re-org to a height already shown
            for missing in range(number if last is None else last + 1, number):
                found = chain.client.request("chain_getBlockHash", [missing])
                if found is not None:
                    yield {"hash": found, "number": missing}
            last = number
            yield header


def cmd_metadata(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Pallets and their calls with argument types; one pallet in detail when named."""
    metadata = chain.metadata
    if args.pallet:
        pallet = metadata.pallet(args.pallet)
        out.emit(pallet, metadata_text([pallet], detail=True))
    else:
        out.emit(dict(metadata.raw), metadata_text(metadata.pallets, detail=False))
    return 0


def cmd_rpc(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Call any RPC method; each parameter is JSON when it parses, else a string."""
    params = [_json_or_text(p) for p in args.params]
    try:
        result = chain.client.request(args.method, params)
    except RpcError as exc:
        if exc.code == -32601:
            raise ArgumentError(
                f"the node has no RPC method {args.method!r} (see `cmu rpc rpc_methods`)"
            ) from None
        raise
    out.emit(result)
    return 0


def _json_or_text(text: str) -> Any:
    try:
        return loads_bounded(text)
    except ValueError:
        return text
