"""The Notes pallet's `cmu` commands: `cmu notes get WHO` reads a note through the notes_get RPC method.
Found through the `cmu.cli` entry point in pyproject.toml (setting a note needs no command of its own:
`cmu --signer alice tx Notes.set_note text=0x6869 --wait`)."""

from __future__ import annotations

import argparse
from typing import Any

from cmu.client.chain import Chain, hex_of
from cmu.client.convert import to_wire
from cmu.client.output import Output


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the `notes` command group to the CLI."""
    notes = sub.add_parser("notes", parents=[common], help="notes: read an account's note")
    group = notes.add_subparsers(dest="notes_command", metavar="ACTION", required=True)
    get = group.add_parser("get", parents=[common], help="an account's note and the number of notes")
    get.add_argument("who", help="0x-address or dev name")
    get.set_defaults(handler=cmd_get)


def cmd_get(args: argparse.Namespace, chain: Chain, out: Output) -> int:
    """Print the note of `who` (as text when it is UTF-8)."""
    who = hex_of(to_wire({"type": "account"}, args.who, "who"))  # ArgumentError for a bad name
    answer = chain.client.request("notes_get", [who])
    note = answer["note"]
    if note is None:
        text = f"{answer['who']} has no note ({answer['count']} notes on chain)"
    else:
        raw = bytes.fromhex(note[2:])
        shown = raw.decode("utf-8", errors="replace")
        text = f"{answer['who']}: {shown!r} ({answer['count']} notes on chain)"
    out.emit(answer, text)
    return 0
