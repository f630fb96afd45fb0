"""The model kinds of one runtime: what the `model_kinds` hook gathers from the chain's pallets.

ModelRegistry contributes the built-in kinds of the `models` package (all four, or the chain spec's
choice: `genesis.ModelRegistry.kinds = ["dense_perceptron", ...]`); any pallet may add its own kinds
through the same hook. No process-global registry is read: `models.register_kind` and `models.KINDS` are
for offline use of the models package and never change what a chain accepts. A name given twice is a
configuration error (PalletError) when the runtime first looks a kind up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from cmu.models.registry import BUILTIN_KINDS
from runtime.errors import PalletError

SPEC_FIELD = "kinds"
"""The ModelRegistry genesis field naming the built-in kinds the chain offers (absent: all of them)."""


def builtin_kinds(section: Mapping[str, Any]) -> list[Any]:
    """The built-in kinds the chain spec's ModelRegistry section chooses (all when it names none)."""
    names = section.get(SPEC_FIELD)
    if names is None:
        return [BUILTIN_KINDS[name] for name in sorted(BUILTIN_KINDS)]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise PalletError(f"ModelRegistry.{SPEC_FIELD} must be a list of kind names, got {names!r}")
    unknown = sorted(set(names) - set(BUILTIN_KINDS))
    if unknown:
        known = sorted(BUILTIN_KINDS)
        raise PalletError(f"ModelRegistry.{SPEC_FIELD}: no built-in kinds {unknown}; known: {known}")
    return [BUILTIN_KINDS[name] for name in sorted(set(names))]


def gather(contributions: Iterable[Iterable[Any] | None]) -> Mapping[str, Any]:
    """Name -> kind from the `model_kinds` hook's answers (read-only; PalletError on a name given twice)."""
    kinds: dict[str, Any] = {}
    for contributed in contributions:
        for kind in contributed or []:
            if kind.name in kinds:
                raise PalletError(f"model kind {kind.name!r} is defined twice")
            kinds[kind.name] = kind
    return MappingProxyType(dict(sorted(kinds.items())))
