"""`cmu model history|verify|diff|proof`: a model's versions (paged), whether a version has an artifact
root, which chunks changed between two versions (the node's `model_` RPC methods), and a version's
provenance proof file (`provenance_exportProof`), checkable offline with `cmu-node verify-proof`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cmu.client.chain import Chain
from cmu.client.errors import ArgumentError
from cmu.client.models import signed
from cmu.client.output import Output, table
from cmu.client.signer import load_signer


def add_version_commands(group: Any, common: argparse.ArgumentParser) -> None:
    """Register history, verify and diff on the `model` command group."""
    history = group.add_parser("history", parents=[common], help="a model's versions, oldest first (paged)")
    history.add_argument("model", type=int)
    history.add_argument("--from", dest="first", type=int, default=0, help="first version (default 0)")
    history.add_argument("--to", dest="last", type=int, help="last version (default: the latest)")
    history.add_argument("--all", action="store_true", help="follow `next` until the last page")
    history.add_argument("--at", help="block hash")
    history.set_defaults(handler=cmd_history)
    verify = group.add_parser("verify", parents=[common], help="does a version have this artifact root?")
    verify.add_argument("model", type=int)
    verify.add_argument("version", type=int)
    verify.add_argument("root", help="0x artifact root")
    verify.add_argument("--at", help="block hash")
    verify.set_defaults(handler=cmd_verify)
    diff = group.add_parser("diff", parents=[common], help="which chunks changed between two versions")
    diff.add_argument("model", type=int)
    diff.add_argument("v1", type=int)
    diff.add_argument("v2", type=int)
    diff.add_argument("--at", help="block hash")
    diff.set_defaults(handler=cmd_diff)
    proof = group.add_parser(
        "proof", parents=[common], help="write a version's provenance proof (check it with verify-proof)"
    )
    proof.add_argument("model", type=int)
    proof.add_argument("version", type=int)
    proof.add_argument("--output", "-o", type=Path, required=True, help="the proof file to write (JSON)")
    proof.add_argument("--at", help="a certified block's number or hash (default: the newest)")
    proof.set_defaults(handler=cmd_proof)


def version_selector(text: str | None) -> int | str | None:
    """A --version value: a number, or a channel name such as stable or latest."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    if not text or len(text) > 32:
        raise ArgumentError("--version takes a version number or a channel name (at most 32 characters)")
    return text


def _request(chain: Chain, args: argparse.Namespace, method: str, params: list[Any]) -> Any:
    """A versions query, signed with --signer when given (a permissioned model's history needs it)."""
    signer = load_signer(args.signer) if args.signer else None
    return chain.client.request(method, signed(chain, signer, method, params))


def cmd_proof(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Write a model version's provenance proof at a certified block."""
    at: int | str | None = int(args.at) if args.at is not None and args.at.isdigit() else args.at
    proof = _request(chain, args, "provenance_exportProof", [args.model, args.version, at])
    args.output.write_text(json.dumps(proof, indent=2) + "\n")
    block = proof["block"]["fields"]
    summary = {
        "model": proof["model"],
        "version": proof["version"],
        "block": block.get("number"),
        "signers": proof["certificate"]["signerNames"],
        "output": str(args.output),
    }
    out.emit(summary, table([(k, v) for k, v in summary.items()]))
    return 0


def cmd_history(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Print a model's versions: number, parent, cause, block/extrinsic, artifact root, tag."""
    page = _request(chain, args, "model_history", [args.model, args.first, args.last, args.at])
    versions = list(page["versions"])
    while args.all and page["next"] is not None:
        page = _request(chain, args, "model_history", [args.model, page["next"], args.last, args.at])
        versions.extend(page["versions"])
    result = {**page, "versions": versions}
    out.emit(result, "\n".join([_summary(result)] + [_line(v) for v in versions]))
    return 0


def _summary(page: dict[str, Any]) -> str:
    more = f"; more from --from {page['next']}" if page["next"] is not None else ""
    return f"model {page['model']}: latest {page['latest']}, stable {page['stable']}{more}"


def _line(version: dict[str, Any]) -> str:
    extrinsic = version["extrinsic"]
    at_end = "end" if version["cause"] == "training" else "-"  # training versions are made at block end
    where = f"#{version['block']}/" + (at_end if extrinsic is None else str(extrinsic))
    parent = "-" if version["parent"] is None else version["parent"]
    extras = [f"tag {version['tag']}"] if version["tag"] else []
    if version["contributions"]:
        extras.append(f"contributions {','.join(str(c) for c in version['contributions'])}")
    if version["deprecated"]:
        extras.append("deprecated")
    head = f"v{version['version']:<4} parent {parent!s:<4} {version['cause']:<8} {where:<10}"
    return f"{head} {version['artifact']} {' '.join(extras)}".rstrip()


def cmd_verify(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Check a version's artifact root; exit code 1 when it does not match."""
    answer = _request(chain, args, "model_verify", [args.model, args.version, args.root, args.at])
    rows = [("valid", answer["valid"]), ("recorded", answer["recorded"]), ("rebuilt", answer["rebuilt"])]
    out.emit(answer, table(rows))
    return 0 if answer["valid"] else 1


def cmd_diff(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Print the indices of the chunks that differ between two versions."""
    answer = _request(chain, args, "model_diff", [args.model, args.v1, args.v2, args.at])
    changed = answer["changed"]
    text = f"{len(changed)} of {max(answer['chunks'])} chunks changed" + (
        f": {', '.join(str(i) for i in changed)}" if changed else "")
    out.emit(answer, text)
    return 0
