"""How a pallet package adds node-side RPC reads, without touching the node's files.

A package that ships a pallet (entry point group `cmu.pallets`) may also ship an RPC view: a module of
the package (never the pallet module itself: pallets stay consensus only) with a factory that takes an
`RpcContext` and returns an object whose methods are marked with `@method("<name>")`. One line in the
package's pyproject.toml makes the node serve it, for chains that include the pallet:

    [project.entry-points."cmu.rpc"]
    Notes = "cmu_notes.rpc:NotesRpc"        # the entry point's name is the pallet's name

The node loads every `cmu.rpc` entry point whose name is a pallet of its chain, in name order. A method
name that another API already serves is refused at startup (ExtensionError), so an extension can never
replace a built-in method. A refused read raises `QueryError(error, message)`; wrapped in `answer`, it
reaches the caller as JSON-RPC error 4000 {"error", "message"}, like the built-in reads. The `cmu` CLI
has the matching extension point (cmu/client/extensions.py, group `cmu.cli`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from cmu.formats.predictions import QueryError
from cmu.node.model_api import answer
from cmu.node.rpc import MethodSpec, bad_params, collect_methods, method
from cmu.node.rpc_api import parse_account, parse_number
from runtime.executive import Runtime

RPC_GROUP = "cmu.rpc"

__all__ = [
    "RPC_GROUP",
    "ExtensionError",
    "QueryError",
    "RpcContext",
    "answer",
    "bad_params",
    "extension_methods",
    "method",
    "parse_account",
    "parse_number",
]


class ExtensionError(RuntimeError):
    """An RPC extension that cannot be served (it does not load, or it reuses a served method name)."""


@dataclasses.dataclass(frozen=True)
class RpcContext:
    """What an RPC view gets from the node: read runtimes (no block in progress; never write to them)."""

    head_runtime: Runtime
    """The runtime at the node's best block."""
    runtime_at: Callable[[Any], Runtime]
    """The runtime pinned to a block (`at`: number, 0x-hash or None for the best block)."""


def rpc_entry_points() -> list[EntryPoint]:
    """The installed `cmu.rpc` entry points, by name."""
    return sorted(entry_points(group=RPC_GROUP), key=lambda ep: ep.name)


def extension_methods(
    ctx: RpcContext, served: Iterable[str], found: Iterable[EntryPoint] | None = None
) -> dict[str, MethodSpec]:
    """The methods of the RPC views of the chain's pallets (ExtensionError on a load failure or a name
    already served, so a node never starts with a half-applied extension)."""
    taken = set(served)
    methods: dict[str, MethodSpec] = {}
    for ep in rpc_entry_points() if found is None else found:
        if not ctx.head_runtime.has_pallet(ep.name):
            continue
        try:
            view = ep.load()(ctx)
        except Exception as exc:  # a third-party package: name it, whatever it raised
            problem = f"the {RPC_GROUP} extension {ep.name} ({ep.value}) failed to load: {exc}"
            raise ExtensionError(problem) from exc
        for name, spec in collect_methods(view).items():
            if name in taken:
                raise ExtensionError(f"the {RPC_GROUP} extension {ep.name} reuses the served method {name!r}")
            taken.add(name)
            methods[name] = spec
    return methods
