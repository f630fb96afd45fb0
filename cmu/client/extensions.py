"""How a pallet package adds `cmu` subcommands, without touching the client's files.

A package names a function `add_commands(sub, common)` under the entry point group `cmu.cli` (the
entry point's name is the pallet's name); `cmu` calls it while building its parser, in name order:

    [project.entry-points."cmu.cli"]
    Notes = "cmu_notes.cli:add_commands"

`sub` is the CLI's subparsers object and `common` the parser holding the global options (pass it as
`parents=[common]`). Each command sets `handler=` to a function `(args, chain, out) -> exit code`, where
`chain` is a client.chain.Chain (`chain.client.request(method, params)` calls any RPC method,
`chain.query`, `chain.compose`/`submit` sign calls) and `out` a client.output.Output (`out.emit(data, text)`
prints JSON with --json, else the text). Raise client.errors.ClientError (or ArgumentError for bad
input) to fail with a one-line message.

A package that fails to load, or that would take a command name the CLI already has, is left out with a
one-line warning on stderr: the rest of `cmu` keeps working.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TextIO

CLI_GROUP = "cmu.cli"


def cli_entry_points() -> list[EntryPoint]:
    """The installed `cmu.cli` entry points, by name."""
    return sorted(entry_points(group=CLI_GROUP), key=lambda ep: ep.name)


def add_extension_commands(
    sub: Any,
    common: argparse.ArgumentParser,
    found: Iterable[EntryPoint] | None = None,
    warnings: TextIO | None = None,
) -> list[str]:
    """Let each installed `cmu.cli` package add its commands; returns the names of those that did."""
    added: list[str] = []
    for ep in cli_entry_points() if found is None else found:
        before = set(sub.choices)
        try:
            ep.load()(_Guarded(sub, before), common)
        except Exception as exc:  # a third-party package: leave it out, keep the CLI usable
            for name in set(sub.choices) - before:  # nothing half-added
                del sub.choices[name]
            warning = f"cmu: warning: {CLI_GROUP} extension {ep.name} left out: {exc}"
            print(warning, file=warnings or sys.stderr)
            continue
        added.append(ep.name)
    return added


class _Guarded:
    """The subparsers object as an extension sees it: `add_parser` refuses names the CLI already has."""

    def __init__(self, sub: Any, taken: set[str]) -> None:
        self._sub = sub
        self._taken = taken

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if {name, *kwargs.get("aliases", ())} & self._taken:
            raise ValueError(f"the command {name!r} already exists")
        parser: argparse.ArgumentParser = self._sub.add_parser(name, **kwargs)
        return parser

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._sub, attr)
