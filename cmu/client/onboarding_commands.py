"""`cmu model import FILE --name NAME` and `cmu model export ID OUT.joblib`: a scikit-learn model on chain
and back (cmu/client/onboarding.py). Loading a joblib file runs pickle (it can run code): import only files
you made or trust. It happens here, on your machine; the node only ever receives integer weights."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cmu.client import onboarding
from cmu.client.chain import Chain, hex_of
from cmu.client.errors import ArgumentError
from cmu.client.output import Output, table
from cmu.client.signer import load_signer
from cmu.client.sklearn_convert import SUPPORTED_TEXT

PICKLE_WARNING = ("FILE is loaded with joblib, which runs pickle: it can execute code, so import only "
                  "files you made or trust (it is loaded here, never on the node).")


def add_onboarding_commands(group: Any, common: argparse.ArgumentParser) -> None:
    """`model import` and `model export` on the model command group."""
    imp = group.add_parser(
        "import", parents=[common], help="upload and register a fitted scikit-learn model (joblib file)",
        description=f"Convert a fitted scikit-learn estimator or Pipeline to the chain's fixed-point kinds, "
        f"upload its weights and register it; {SUPPORTED_TEXT}. {PICKLE_WARNING}",
    )
    imp.add_argument("file", type=Path, help="a joblib file of a fitted estimator or Pipeline")
    imp.add_argument("--name", required=True)
    imp.add_argument("--description", default="", help="default: 'imported <estimator>'")
    imp.add_argument("--license", default="")
    imp.set_defaults(handler=cmd_import)
    exp = group.add_parser(
        "export", parents=[common], help="write a model's weights as an equivalent scikit-learn object",
        description="Download a model's weights (verified against the chain) and save, with joblib, an "
        "sklearn estimator or Pipeline that predicts the same.",
    )
    exp.add_argument("model", type=int)
    exp.add_argument("output", type=Path, help="where to write the joblib file")
    exp.add_argument("--version", help="version number or channel (default: the node's)")
    exp.set_defaults(handler=cmd_export)


def cmd_import(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Import a joblib file: convert (every check first), upload, register; print the model id."""
    if not args.signer:
        raise ArgumentError("this command needs a signer: --signer NAME|KEYFILE (or CMU_SIGNER)")
    estimator = onboarding.load_estimator(args.file)
    done = onboarding.import_estimator(chain, load_signer(args.signer), estimator, name=args.name,
                                       description=args.description, license=args.license,
                                       timeout=args.timeout)
    summary = done.summary()
    text = (f"model {done.model} registered: {summary['source']} as {summary['kind']}, labels "
            f"{', '.join(summary['labels'])}, artifact {hex_of(done.artifact)}")
    out.emit(summary, text)
    return 0


def cmd_export(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Export a model as a joblib file of an equivalent sklearn object."""
    import joblib

    version: Any = None if args.version is None else (int(args.version) if args.version.isdigit()
                                                      else args.version)
    signer = load_signer(args.signer) if args.signer else None
    estimator = onboarding.export_estimator(chain, args.model, version=version, signer=signer)
    joblib.dump(estimator, args.output)
    summary = {"model": args.model, "output": str(args.output), "estimator": _describe(estimator)}
    out.emit(summary, table([(k, v) for k, v in summary.items()]))
    return 0


def _describe(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    return "+".join(type(s).__name__ for _, s in steps) if steps else type(estimator).__name__
