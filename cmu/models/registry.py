"""The table of model kinds by name: four fixed built-ins plus custom kinds registered by name.

A custom kind is a `ModelKind` subclass; `register_kind(MyKind)` (also usable as a class decorator)
adds it to the default registry `KINDS`. Names are [a-z][a-z0-9_]{0,31}; built-in names can never be
replaced and a taken name is refused (KindAlreadyRegistered). Iteration is in sorted name order.
The chain side can keep its own `KindRegistry()` per runtime and fill it from a plugin hook.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, TypeVar, overload

from cmu.models.base import ModelKind
from cmu.models.centroid import NearestCentroid
from cmu.models.codec import KIND_NAME
from cmu.models.errors import KindAlreadyRegistered, UnknownKind, WrongType
from cmu.models.naive_bayes import NaiveBayes
from cmu.models.perceptron import DensePerceptron, SparsePerceptron

BUILTIN_KINDS: Final[Mapping[str, ModelKind]] = MappingProxyType({
    k.name: k for k in (DensePerceptron(), SparsePerceptron(), NaiveBayes(), NearestCentroid())
})
"""The built-in kinds (read-only)."""

K = TypeVar("K", bound=ModelKind)


class KindRegistry(Mapping[str, ModelKind]):
    """Name -> ModelKind instance: the built-ins (fixed) plus registered custom kinds."""

    def __init__(self, builtins: Mapping[str, ModelKind] = BUILTIN_KINDS) -> None:
        self._builtin: Mapping[str, ModelKind] = MappingProxyType(dict(builtins))
        self._custom: dict[str, ModelKind] = {}

    def __getitem__(self, name: str) -> ModelKind:
        kind = self._builtin.get(name) or self._custom.get(name)
        if kind is None:  # UnknownKind is a KeyError: `in`, .get() and get_kind all work
            raise UnknownKind(f"no model kind named {name!r}; known: {sorted(self)}")
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(sorted([*self._builtin, *self._custom]))

    def __len__(self) -> int:
        return len(self._builtin) + len(self._custom)

    def __contains__(self, name: object) -> bool:
        return name in self._builtin or name in self._custom

    @overload
    def register(self, kind: type[K]) -> type[K]: ...
    @overload
    def register(self, kind: K) -> K: ...

    def register(self, kind: type[K] | K) -> type[K] | K:
        """Add a custom kind (a ModelKind subclass or instance); returns its argument (a decorator)."""
        instance = kind() if isinstance(kind, type) and issubclass(kind, ModelKind) else kind
        if not isinstance(instance, ModelKind):
            raise WrongType(f"a model kind must be a ModelKind subclass, got {kind!r}")
        name = getattr(instance, "name", None)
        if not isinstance(name, str) or not KIND_NAME.match(name):
            raise WrongType(f"kind name {name!r} must match [a-z][a-z0-9_]{{0,31}}")
        if not isinstance(getattr(instance, "trainable", None), bool):
            raise WrongType(f"kind {name!r} must set trainable = True or False")
        if name in self:
            raise KindAlreadyRegistered(f"model kind name {name!r} is already taken")
        self._custom[name] = instance
        return kind

    def unregister(self, name: str) -> None:
        """Remove a custom kind (built-ins cannot be removed)."""
        if name in self._builtin:
            raise KindAlreadyRegistered(f"built-in kind {name!r} cannot be removed")
        if self._custom.pop(name, None) is None:
            raise UnknownKind(f"no custom model kind named {name!r}")


KINDS: Final = KindRegistry()
"""The default registry: built-ins plus whatever `register_kind` added."""


def get_kind(name: str, registry: Mapping[str, ModelKind] = KINDS) -> ModelKind:
    """The kind registered as `name` (UnknownKind if none)."""
    try:
        return registry[name]
    except KeyError as exc:
        raise UnknownKind(f"no model kind named {name!r}") from exc


@overload
def register_kind(kind: type[K]) -> type[K]: ...
@overload
def register_kind(kind: K) -> K: ...


def register_kind(kind: type[K] | K) -> type[K] | K:
    """Register a custom kind in the default registry `KINDS` (usable as a class decorator)."""
    return KINDS.register(kind)
