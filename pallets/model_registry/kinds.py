"""Model kinds available to a runtime: the built-in fixed-point kinds of the `models` package plus any
a pallet adds through the `model_kinds` hook (a pallet's kind may not shadow a built-in name)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.errors import PalletError

if TYPE_CHECKING:
    from runtime.executive import Runtime

_CACHE_ATTR = "_model_kinds_cache"


def available_kinds(runtime: Runtime) -> dict[str, Any]:
    """Name -> kind for this runtime, gathered once (kinds are pure code, not state)."""
    cached: dict[str, Any] | None = getattr(runtime, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from models.base import KINDS

    kinds: dict[str, Any] = dict(KINDS)
    for contributed in runtime.hooks.model_kinds():
        for kind in contributed or []:
            if kind.name in kinds:
                raise PalletError(f"model kind {kind.name!r} is defined twice")
            kinds[kind.name] = kind
    setattr(runtime, _CACHE_ATTR, kinds)
    return kinds


def find_kind(runtime: Runtime, name: str) -> Any | None:
    """The kind called `name`, or None."""
    return available_kinds(runtime).get(name)
