"""`cmu training ...`: contributions of a model, what an account can get back, the deposit now, and
add / refund / report with the features given as JSON (dense: Q.16 ints; sparse: feature indices)."""

from __future__ import annotations

import argparse
from typing import Any

from cmu.client.chain import Chain, hex_of
from cmu.client.convert import to_wire
from cmu.client.errors import ArgumentError, TransactionFailed
from cmu.client.models import _watch
from cmu.client.output import Output, table
from cmu.client.signer import load_signer
from runtime.boundedjson import JsonLimitError, loads_bounded


def add_training_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `training` command group on the CLI's subparsers."""
    training = sub.add_parser(
        "training", parents=[common], help="training: contributions, claimable, deposit, add, refund, report"
    )
    group = training.add_subparsers(dest="training_command", metavar="ACTION", required=True)
    listing = group.add_parser("contributions", parents=[common], help="a model's contributions")
    listing.add_argument("model", type=int)
    listing.add_argument("--who", help="only this contributor's (0x-address or dev name)")
    listing.add_argument("--start", type=int, default=0, help="first contribution id")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_contributions)
    claim = group.add_parser("claimable", parents=[common], help="open deposits an account may get back")
    claim.add_argument("who", help="0x-address or dev name")
    claim.set_defaults(handler=cmd_claimable)
    deposit = group.add_parser("deposit", parents=[common], help="the deposit of one contribution now")
    deposit.add_argument("model", type=int)
    deposit.add_argument("--at", help="a block time in ms, or a 0x block hash (default: best block)")
    deposit.set_defaults(handler=cmd_deposit)
    add = group.add_parser("add", parents=[common], help="contribute one labelled example (signed)")
    add.add_argument("model", type=int)
    _data_arguments(add)
    add.set_defaults(handler=cmd_add)
    for name, what in (("refund", "get a deposit back"), ("report", "take a bad contribution's deposit")):
        settle = group.add_parser(name, parents=[common], help=f"{what} (signed)")
        settle.add_argument("contribution", type=int)
        _data_arguments(settle)
        settle.set_defaults(handler=cmd_settle, call=name)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "features",
        help="JSON list: Q.16 ints (dense) or sorted feature indices (sparse); a text model: the document",
    )
    parser.add_argument("label", type=int, help="label index")


def _account(text: str, what: str) -> str:
    return hex_of(to_wire({"type": "account"}, text, what))


def cmd_contributions(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """List a model's contributions."""
    who = None if args.who is None else _account(args.who, "who")
    page = chain.client.request("training_contributions", [args.model, who, args.start, args.limit])
    lines = [
        f"#{c['contribution']} {c['status']} label {c['label']} deposit {c['initialDeposit']} "
        f"claimable {c['claimable']} by {c['contributor']}"
        for c in page["contributions"]
    ]
    out.emit(page, "\n".join(lines) or "no contributions")
    return 0


def cmd_claimable(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Show an account's open deposits."""
    answer = chain.client.request("training_claimable", [_account(args.who, "who")])
    lines = [
        f"#{c['contribution']} model {c['model']}: {c['claimable']} (refundable from {c['refundableAt']} ms)"
        for c in answer["contributions"]
    ]
    out.emit(answer, "\n".join([*lines, f"total {answer['total']}"]))
    return 0


def cmd_deposit(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Show the deposit of one contribution to a model."""
    at: Any = None
    if args.at is not None:
        at = int(args.at) if args.at.isdigit() else args.at
    answer = chain.client.request("training_depositFor", [args.model, at])
    out.emit(answer, table([(k, v) for k, v in answer.items()]))
    return 0


def cmd_add(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Contribute one example and print its contribution id and deposit."""
    data = _features(args.features)
    _check_text_model(chain, args.model, data)
    if isinstance(data, str):
        call, call_args = "Training.add_text", {"model": args.model, "text": data, "label": args.label}
    else:
        call, call_args = "Training.add_data", {"model": args.model, "features": data, "label": args.label}
    receipt = _watch(chain, _signer(args), call, call_args, args.timeout)
    fields = _training_event(receipt, "DataAdded")
    summary = {"contribution": fields["contribution"], "deposit": fields["deposit"],
               "block": receipt.block_hash}
    out.emit(summary, f"contribution {fields['contribution']} added, deposit {fields['deposit']}")
    return 0


def cmd_settle(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Refund or report a contribution and print what was paid."""
    event = "Refunded" if args.call == "refund" else "Taken"
    data = _features(args.features)
    key, call = ("text", f"Training.{args.call}_text") if isinstance(data, str) else (
        "features", f"Training.{args.call}")
    call_args = {"contribution": args.contribution, key: data, "label": args.label}
    receipt = _watch(chain, _signer(args), call, call_args, args.timeout)
    fields = _training_event(receipt, event)
    out.emit(fields, f"{event.lower()}: {fields['amount']} of contribution {args.contribution}")
    return 0


def _features(text: str) -> list[int] | str:
    """A JSON list of ints, or a document (anything that is not JSON, or a JSON string) for text models."""
    try:
        value = loads_bounded(text)
    except JsonLimitError as exc:
        raise ArgumentError(f"features are refused: {exc}") from exc
    except ValueError as exc:
        if text.lstrip().startswith(("[", "{")):
            raise ArgumentError(f"features are not valid JSON: {exc}") from exc
        return text
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ArgumentError("features must be a JSON list of integers (Q.16 values or feature indices)")
    return value


class TextForNumericModel(ArgumentError):
    """A document was given to a model without a text featurizer, or numbers to a text model."""


def _check_text_model(chain: Chain, model: int, data: list[int] | str) -> None:
    """Refuse, before signing anything, text for a numeric model and numbers for a text model."""
    spec = chain.client.request("model_get", [model, None])["inputSpec"]
    if isinstance(data, str) and spec.get("text") is None:
        raise TextForNumericModel(f"TextForNumericModel: model {model} takes numeric rows, not text")
    if not isinstance(data, str) and spec.get("text") is not None:
        raise TextForNumericModel(f"NotText: model {model} is a text model: give the document itself")


def _signer(args: argparse.Namespace) -> Any:
    if not args.signer:
        raise ArgumentError("this command needs a signer: --signer NAME|KEYFILE (or CMU_SIGNER)")
    return load_signer(args.signer)


def _training_event(receipt: Any, event: str) -> dict[str, Any]:
    for record in receipt.events:
        if record.get("pallet") == "Training" and record.get("event") == event:
            fields: dict[str, Any] = record["fields"]
            return fields
    raise TransactionFailed("MissingEvent", f"no Training.{event} event in the receipt")
