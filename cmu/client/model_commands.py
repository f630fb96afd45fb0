"""`cmu model ...`: list, get, register, upload, download (verified) and predict; confidential models:
publish-confidential, share-key, and predictions made locally after a verified download and decryption.
With --signer, predictions and downloads are signed queries (needed for permissioned models)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from cmu.client import confidential, models
from cmu.client.chain import Chain, hex_of
from cmu.client.convert import to_wire
from cmu.client.errors import ArgumentError, RpcError
from cmu.client.onboarding_commands import add_onboarding_commands
from cmu.client.output import Output, ProgressBar, table
from cmu.client.signer import load_signer
from cmu.client.version_commands import add_version_commands, version_selector
from cmu.formats import envelope
from runtime.boundedjson import JsonLimitError, loads_bounded

VERSION_HELP = "version number or channel (default: stable when set, else latest)"


def add_model_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `model` command group on the CLI's subparsers."""
    model = sub.add_parser(
        "model", parents=[common],
        help="models: list, get, register, upload, download, predict, history, verify, diff",
    )
    group = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    listing = group.add_parser("list", parents=[common], help="models, all or one owner's")
    listing.add_argument("--owner", help="0x-address or dev name")
    listing.add_argument("--start", type=int, default=0)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=cmd_list)
    get = group.add_parser("get", parents=[common], help="one model's description")
    get.add_argument("model", type=int)
    get.add_argument("--at", help="block hash or number")
    get.set_defaults(handler=cmd_get)
    _add_register(
        group.add_parser(
            "register",
            parents=[common],
            help="mint a model token",
            formatter_class=DefaultsHelpFormatter,
        )
    )
    upload = group.add_parser("upload", parents=[common], help="upload a file as an artifact (chunked)")
    upload.add_argument("file", type=Path)
    upload.set_defaults(handler=cmd_upload)
    down = group.add_parser("download", parents=[common], help="download and verify an artifact")
    down.add_argument("artifact", help="model id or 0x artifact root")
    down.add_argument("--output", "-o", type=Path, required=True)
    down.add_argument("--at", help="block hash or number")
    down.add_argument("--decrypt", action="store_true", help="a confidential model: write its plaintext")
    down.add_argument("--version", help=VERSION_HELP)
    down.set_defaults(handler=cmd_download)
    _add_predict(group.add_parser("predict", parents=[common], help="labels and scores, free, from the node"))
    add_onboarding_commands(group, common)
    add_version_commands(group, common)
    _add_confidential(group, common)


def _add_confidential(group: Any, common: argparse.ArgumentParser) -> None:
    publish = group.add_parser(
        "publish-confidential",
        parents=[common],
        help="encrypt weights under a new key, upload and publish them as a model's confidential version",
    )
    publish.add_argument("model", type=int)
    publish.add_argument("file", type=Path, help="the plaintext weights (a model kind's encoding)")
    publish.add_argument("--share", default="", help="comma-separated accounts to post the new key to")
    publish.set_defaults(handler=cmd_publish_confidential)
    share = group.add_parser("share-key", parents=[common], help="post your key of a model to an account")
    share.add_argument("model", type=int)
    share.add_argument("who", nargs="?", help="0x-address or dev name (must hold a role on the model)")
    share.add_argument("--pending", action="store_true", help="post it to everyone who got a role (grant, "
                       "pass, transfer) and holds no current key; run it after sales or grants")
    share.add_argument("--from", dest="start", type=int, default=0, help="--pending: first block to scan")
    visibility = group.add_parser(
        "set-visibility", parents=[common], help="make a model Permissioned (weights encrypted) or Public"
    )
    visibility.add_argument("model", type=int)
    visibility.add_argument("visibility", choices=["permissioned", "public"])
    visibility.add_argument("--weights", type=Path, help="permissioned: the plaintext weights to encrypt "
                            "(required: weights already on chain in plaintext are public history)")
    visibility.add_argument("--training", choices=["Open", "Trainers"], default="Open")
    visibility.add_argument("--share", default="", help="accounts (comma-separated) to post the key to "
                            "(made Readers if they hold no role)")
    visibility.set_defaults(handler=cmd_set_visibility)
    share.set_defaults(handler=cmd_share_key)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that ends each option's line with its default: `(default: -1.0)`, `(default: "")`; required
    options, flags and options without a default say nothing more."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if action.required or default is None or default is argparse.SUPPRESS or isinstance(default, bool):
            return text
        shown = '""' if default == "" else "%(default)s"
        return f"{text} (default: {shown})"


def _add_register(reg: argparse.ArgumentParser) -> None:
    """`model register`'s flags; the parser shows every default in --help."""
    reg.add_argument("--name", required=True, help="the model's name")
    reg.add_argument(
        "--kind", required=True, help="dense_perceptron, sparse_perceptron, naive_bayes, ..."
    )
    reg.add_argument("--features", type=int, required=True, help="how many input features")
    reg.add_argument("--labels", required=True, help="comma-separated label names")
    reg.add_argument("--min", type=float, default=-1.0, help="smallest feature value (real units)")
    reg.add_argument("--max", type=float, default=1.0, help="largest feature value (real units)")
    reg.add_argument("--sparse", action="store_true", help="inputs are feature indices")
    reg.add_argument("--max-nonzeros", type=int, default=0, help="sparse inputs: most indices in one row")
    reg.add_argument(
        "--artifact", help="0x root of an artifact you uploaded (default: the kind's initial weights)"
    )
    reg.add_argument("--description", default="", help="free text")
    reg.add_argument("--task", default="classification", help="what the model does")
    reg.add_argument("--license", default="", help="the weights' license")
    reg.add_argument("--permissioned", action="store_true", help="readable only with a role: the --weights "
                     "are encrypted here before upload and the key posted to you (and --share)")
    reg.add_argument("--weights", type=Path, help="with --permissioned: the plaintext weights file")
    reg.add_argument("--training", choices=["Open", "Trainers"], default="Open", metavar="POLICY",
                     help="who may train a permissioned model: Open or Trainers")
    reg.add_argument("--share", default="", help="permissioned: accounts made Readers, given the key")
    reg.set_defaults(handler=cmd_register)


def _add_predict(pred: argparse.ArgumentParser) -> None:
    pred.add_argument("model", type=int)
    pred.add_argument(
        "rows", nargs="*",
        help="a row as JSON, e.g. [0.1,2,3], or a document for a text model, e.g. \"a great movie\" "
        "(several rows: several arguments)",
    )
    pred.add_argument(
        "--file", type=Path,
        help="rows from a .csv file (numeric, one row per line) or a JSON list; any other file is text, "
        "one document per line (for text models)",
    )
    pred.add_argument("--at", help="block hash or number")
    pred.add_argument("--fixed", action="store_true", help="rows are Q.16 integers")
    pred.add_argument("--version", help=VERSION_HELP)
    pred.add_argument(
        "--local",
        action="store_true",
        help="download (verified) and predict here; automatic for confidential models (decrypted with "
        "the key posted to --signer)",
    )
    pred.set_defaults(handler=cmd_predict)


def _signer(args: argparse.Namespace) -> Any:
    if not args.signer:
        raise ArgumentError("this command needs a signer: --signer NAME|KEYFILE (or CMU_SIGNER)")
    return load_signer(args.signer)


def cmd_list(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """List models."""
    owner = None if args.owner is None else hex_of(to_wire({"type": "account"}, args.owner, "owner"))
    page = chain.client.request("model_list", [owner, args.start, args.limit])
    lines = [f"#{m['id']} {m['name']} ({m['kind']}, owner {m['owner']})" for m in page["models"]]
    out.emit(page, "\n".join(lines) or "no models")
    return 0


def cmd_get(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Show one model."""
    info = chain.client.request("model_get", [args.model, args.at])
    out.emit(info)
    return 0


def cmd_register(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Register a model and print its id."""
    from cmu.models import SCALE

    spec = {
        "n_features": args.features,
        "sparse": args.sparse,
        "min_value": round(args.min * SCALE),
        "max_value": round(args.max * SCALE),
        "max_nonzeros": args.max_nonzeros,
    }
    call_args = {
        "name": args.name,
        "description": args.description,
        "task": args.task,
        "kind": args.kind,
        "input_spec": spec,
        "labels": [x.strip() for x in args.labels.split(",") if x.strip()],
        "license": args.license,
        "artifact": args.artifact if args.artifact else None,
    }
    if args.permissioned:
        return _register_permissioned(args, chain, out, call_args)
    if args.weights is not None:
        raise ArgumentError("--weights goes with --permissioned (a public model takes --artifact)")
    receipt = models._watch(chain, _signer(args), "ModelRegistry.register", call_args, args.timeout)
    model = models._event_field(receipt, "ModelRegistered", "model")
    out.emit(
        {"model": model, "block": receipt.block_hash},
        f"model {model} registered in block {receipt.block_hash}",
    )
    return 0


def _register_permissioned(
    args: argparse.Namespace, chain: Chain, out: Output, call_args: dict[str, Any]
) -> int:
    """register --permissioned: the weights are encrypted here; only ciphertext reaches the chain."""
    if args.artifact:
        raise ArgumentError("a permissioned model's weights are uploaded encrypted: give --weights FILE, "
                            "not --artifact (an uploaded artifact is plaintext readable by anyone)")
    if args.weights is None:
        raise ArgumentError("--permissioned needs --weights FILE (the plaintext weights to encrypt)")
    made = confidential.register_permissioned(
        chain, _signer(args), call_args, args.weights.read_bytes(), training=args.training,
        share=_accounts(args.share), timeout=args.timeout,
    )
    out.emit(made, f"model {made['model']} registered, Permissioned, weights encrypted ({made['keyId']})")
    return 0


def _accounts(text: str) -> list[bytes]:
    return [to_wire({"type": "account"}, name, "--share") for name in (x.strip() for x in text.split(","))
            if name]


def cmd_set_visibility(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Make a model Permissioned (new weights encrypted here, then the policy) or Public."""
    keypair = _signer(args)
    if args.visibility == "public":
        call = {"model": args.model, "visibility": "Public", "training": args.training}
        models._watch(chain, keypair, "Access.set_policy", call, args.timeout)
        out.emit({"model": args.model, "visibility": "Public"}, f"model {args.model} is Public")
        return 0
    if args.weights is None:
        raise ArgumentError("permissioned needs --weights FILE: the new weights, encrypted here (the "
                            "plaintext weights the model has on chain stay public history)")
    made = confidential.make_permissioned(
        chain, keypair, args.model, args.weights.read_bytes(), training=args.training,
        share=_accounts(args.share), timeout=args.timeout,
    )
    out.emit(made, table([(k, v) for k, v in made.items()]))
    return 0


def cmd_upload(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Upload a file as an artifact and print its root."""
    data = args.file.read_bytes()
    bar = ProgressBar.for_cli("uploading", args.json, sys.stderr)
    root = models.upload_artifact(chain, _signer(args), data, timeout=args.timeout, progress=bar)
    out.emit({"root": hex_of(root), "size": len(data)}, hex_of(root))
    return 0


def cmd_download(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Download an artifact, verify it against the chain, write it to --output."""
    ref: int | bytes = (
        int(args.artifact) if args.artifact.isdigit() else bytes.fromhex(args.artifact.removeprefix("0x"))
    )
    selector = version_selector(args.version)
    if selector is not None and not isinstance(ref, int):
        raise ArgumentError("--version goes with a model id, not with an artifact root")
    signer = load_signer(args.signer) if args.signer else None
    got = models.download_artifact(chain, ref, at=args.at, version=selector, signer=signer)
    data = got.data
    if args.decrypt:
        if not isinstance(ref, int):
            raise ArgumentError("--decrypt needs a model id (its key is posted per model)")
        data = confidential.open_artifact(data, confidential.my_key(chain, _signer(args), ref))
    args.output.write_bytes(data)
    summary = {"root": hex_of(got.root), "size": len(data), "block": got.block_hash, "verified": True}
    out.emit(summary, table([(k, v) for k, v in summary.items()]))
    return 0


def cmd_predict(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Predict rows with a model (no transaction, no fee)."""
    rows = _rows(args)
    signer = load_signer(args.signer) if args.signer else None
    selector = version_selector(args.version)
    answer = None
    if not args.local:
        try:
            answer = models.predict(
                chain, args.model, rows, at=args.at, fixed=args.fixed, version=selector, signer=signer
            )
        except RpcError as exc:
            if not isinstance(exc.data, dict) or exc.data.get("error") != "ConfidentialModel":
                raise
    if answer is None:
        if args.at is not None or selector is not None:
            raise ArgumentError("local predictions use the best block's weights: leave out --at, --version")
        answer = confidential.predict_local(chain, signer, args.model, rows, fixed=args.fixed)
    lines = [_prediction_line(p) for p in answer["predictions"]]
    if "version" in answer:
        lines.insert(0, f"version {answer['version']} ({answer['artifact']})")
    out.emit(answer, "\n".join(lines))
    return 0


def _prediction_line(p: dict[str, Any]) -> str:
    """One prediction for people: the label, then probabilities (logistic models) or real-unit scores."""
    if "probabilities" in p:
        shown = ", ".join(f"{x:.4f}" for x in p["probabilities"])
        return f"{p['name']}\t(label {p['label']}, probabilities [{shown}])"
    real = p.get("scoresReal", [s / 65536 for s in p["scores"]])
    return f"{p['name']}\t(label {p['label']}, scores [{', '.join(f'{x:.4f}' for x in real)}])"


def _rows(args: argparse.Namespace) -> list[Any]:
    """Rows from the arguments (JSON; an argument that is not JSON is a document) and --file."""
    rows: list[Any] = []
    for text in args.rows:
        try:
            rows.append(loads_bounded(text))
        except JsonLimitError as exc:
            raise ArgumentError(f"a row is refused: {exc}") from exc
        except ValueError:
            if text.lstrip().startswith(("[", "{")):
                raise ArgumentError(f"a row is not valid JSON: {text[:80]!r}") from None
            rows.append(text)  # a document, for a text model (the node names it if the model is numeric)
    if args.file is not None:
        rows.extend(_file_rows(args.file))
    if not rows:
        raise ArgumentError("give rows as JSON arguments, documents, or --file")
    return rows


def _file_rows(path: Path) -> list[Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArgumentError(f"{path}: cannot read it as text: {exc}") from exc
    if path.suffix.lower() not in (".csv", ".json") and not text.lstrip().startswith("["):
        return [line for line in text.splitlines() if line.strip()]  # one document a line
    if text.lstrip().startswith("["):
        loaded = loads_bounded(text, max_bytes=None)
        return loaded if isinstance(loaded, list) else [loaded]
    try:
        return [[float(v) for v in line] for line in csv.reader(text.splitlines()) if line]
    except ValueError as exc:
        raise ArgumentError(f"{path}: not numeric CSV: {exc}") from exc


def cmd_publish_confidential(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Publish a file's weights encrypted under a new data key; post the key to the signer and --share."""
    keypair = _signer(args)
    key = confidential.new_data_key()
    root = confidential.publish(chain, keypair, args.model, args.file.read_bytes(), key, timeout=args.timeout)
    shared = []
    for name in (x.strip() for x in args.share.split(",") if x.strip()):
        who = to_wire({"type": "account"}, name, "--share")
        confidential.post_key(chain, keypair, args.model, who, key, timeout=args.timeout)
        shared.append(hex_of(who))
    key_id = hex_of(envelope.key_id_of(key))
    summary = {"model": args.model, "artifact": hex_of(root), "keyId": key_id, "sharedWith": shared}
    out.emit(summary, table([(k, v) for k, v in summary.items()]))
    return 0


def cmd_share_key(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Post the signer's data key of a confidential model, sealed to another account."""
    keypair = _signer(args)
    if args.pending:
        posted = confidential.post_pending_keys(chain, keypair, args.model, start=args.start,
                                                timeout=args.timeout)
        out.emit({"model": args.model, "postedTo": posted}, "\n".join(posted) or "no account waits for a key")
        return 0
    if args.who is None:
        raise ArgumentError("share-key needs an account, or --pending")
    who = to_wire({"type": "account"}, args.who, "who")
    key = confidential.my_key(chain, keypair, args.model)
    confidential.post_key(chain, keypair, args.model, who, key, timeout=args.timeout)
    out.emit({"model": args.model, "who": hex_of(who)}, f"key of model {args.model} posted to {hex_of(who)}")
    return 0
