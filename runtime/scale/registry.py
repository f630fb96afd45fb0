"""A portable SCALE type registry (scale-info's shape, as metadata V14 carries it) built from the runtime's
Python type annotations, and the value conversions between the runtime's Python values and scalecodec's.

Each runtime type maps to one SCALE type: U8..U64 and I64 to primitives, other ints to i128, bytes to
Vec<u8> (or [u8; N] when the length is fixed, H256 for 32), str to str, AccountId to AccountId32,
list/tuple/dict to sequences and tuples, `X | None` to Option, dataclasses to composites and enums to
variants without fields. scalecodec (PyPI) does the byte encoding; this module only describes types.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from runtime.types import AccountId, ByteLength, IntRange, type_name

TypeEntry = dict[str, Any]

_PRIMITIVE_INTS = {"U8": "u8", "U16": "u16", "U32": "u32", "U64": "u64", "I64": "i64"}
_ACCOUNT_PATH = ["sp_core", "crypto", "AccountId32"]


def _field(type_id: int, name: str | None = None, type_name: str | None = None) -> dict[str, Any]:
    return {"name": name, "type": type_id, "typeName": type_name, "docs": []}


class TypeRegistry:
    """Types by id, each added once; `of(annotation)` gives an annotation's type id."""

    def __init__(self) -> None:
        self.types: list[TypeEntry] = []
        self._ids: dict[Any, int] = {}

    # --- building blocks ---------------------------------------------------------------------

    def add(
        self,
        key: Any,
        build: Callable[[], dict[str, Any]],
        path: list[str] | None = None,
        params: list[dict[str, Any]] | None = None,
        docs: list[str] | None = None,
    ) -> int:
        """The id of the type known as `key`, built (once) by `build()` -> its `def`."""
        found = self._ids.get(key)
        if found is not None:
            return found
        type_id = len(self.types)
        self._ids[key] = type_id
        entry: TypeEntry = {"id": type_id, "type": None}
        self.types.append(entry)
        entry["type"] = {"path": path or [], "params": params or [], "def": build(), "docs": docs or []}
        return type_id

    def primitive(self, name: str) -> int:
        """A primitive: bool, str, u8 .. u128, i8 .. i128."""
        return self.add(("primitive", name), lambda: {"primitive": name})

    def compact(self, inner: int) -> int:
        """Compact<inner>."""
        return self.add(("compact", inner), lambda: {"compact": {"type": inner}})

    def sequence(self, inner: int) -> int:
        """Vec<inner>."""
        return self.add(("sequence", inner), lambda: {"sequence": {"type": inner}})

    def array(self, length: int, inner: int) -> int:
        """[inner; length]."""
        return self.add(("array", length, inner), lambda: {"array": {"len": length, "type": inner}})

    def tuple_of(self, parts: list[int]) -> int:
        """(parts...); the empty tuple is ()."""
        return self.add(("tuple", *parts), lambda: {"tuple": list(parts)})

    def composite(
        self,
        path: list[str],
        fields: Sequence[tuple[str | None, int, str | None]],
        docs: list[str] | None = None,
        params: list[dict[str, Any]] | None = None,
    ) -> int:
        """A struct (named fields) or tuple struct (unnamed) known by its path."""
        return self.add(
            ("composite", *path),
            lambda: {"composite": {"fields": [_field(t, n, tn) for n, t, tn in fields]}},
            path=path,
            docs=docs,
            params=params,
        )

    def variant(
        self,
        path: list[str],
        variants: Callable[[], list[dict[str, Any]]],
        params: list[dict[str, Any]] | None = None,
        key: Any = None,
    ) -> int:
        """An enum known by its path (or `key`); `variants()` gives its variants (name, fields, index)."""
        return self.add(
            key or ("variant", *path),
            lambda: {"variant": {"variants": variants()}},
            path=path,
            params=params,
        )

    @staticmethod
    def make_variant(
        name: str,
        index: int,
        fields: Sequence[tuple[str | None, int, str | None]],
        docs: list[str] | None = None,
    ) -> dict[str, Any]:
        """One variant of an enum."""
        return {
            "name": name,
            "fields": [_field(t, n, tn) for n, t, tn in fields],
            "index": index,
            "docs": docs or [],
        }

    def option(self, inner: int) -> int:
        """Option<inner>."""
        return self.variant(
            ["Option"],
            lambda: [self.make_variant("None", 0, []), self.make_variant("Some", 1, [(None, inner, None)])],
            params=[{"name": "T", "type": inner}],
            key=("option", inner),
        )

    def account_id(self) -> int:
        """AccountId32: 32 bytes, shown by clients as an SS58 address."""
        raw = self.array(32, self.primitive("u8"))
        return self.composite(_ACCOUNT_PATH, [(None, raw, "[u8; 32]")])

    def h256(self) -> int:
        """H256: 32 bytes, shown as 0x-hex."""
        raw = self.array(32, self.primitive("u8"))
        return self.composite(["primitive_types", "H256"], [(None, raw, "[u8; 32]")])

    # --- runtime annotations ----------------------------------------------------------------

    def of(self, tp: Any) -> int:
        """The type id of a runtime type annotation (TypeError for one without an encoding)."""
        if typing.get_origin(tp) is Annotated:
            return self._annotated(tp)
        if tp is bool:
            return self.primitive("bool")
        if tp is int:
            return self.primitive("i128")
        if tp is AccountId:
            return self.account_id()
        if getattr(tp, "__cmu_runtime_call__", False) is True:
            return self._ids["RuntimeCall"]
        if tp is bytes:
            return self.sequence(self.primitive("u8"))
        if tp is str:
            return self.primitive("str")
        if tp is None or tp is type(None):
            return self.tuple_of([])
        return self._container(tp)

    def _container(self, tp: Any) -> int:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is list:
            return self.sequence(self.of(args[0]))
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return self.sequence(self.of(args[0]))
            return self.tuple_of([self.of(a) for a in args])
        if origin is dict:
            return self.sequence(self.tuple_of([self.of(args[0]), self.of(args[1])]))
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            if len(inner) != 1:
                raise TypeError(f"only X | None unions have a SCALE type, not {tp!r}")
            return self.option(self.of(inner[0]))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._enum(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass(tp)
        raise TypeError(f"no SCALE type for {tp!r}")

    def _annotated(self, tp: Any) -> int:
        base, *extras = typing.get_args(tp)
        for extra in extras:
            if isinstance(extra, IntRange):
                return self.primitive(_PRIMITIVE_INTS.get(extra.name, "i128"))
            if isinstance(extra, ByteLength) and base is bytes and extra.exact is not None:
                if extra.exact == 32:
                    return self.h256()
                return self.array(extra.exact, self.primitive("u8"))
        return self.of(base)

    def _dataclass(self, cls: type) -> int:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = [f for f in dataclasses.fields(cls) if f.init]
        return self.composite(
            type_path(cls),
            [(f.name, self.of(hints[f.name]), type_name(hints[f.name])) for f in fields],
            docs=_docs(cls),
        )

    def _enum(self, cls: type[enum.Enum]) -> int:
        members = list(cls)
        return self.variant(
            type_path(cls), lambda: [self.make_variant(m.name, i, []) for i, m in enumerate(members)]
        )


def type_path(cls: type) -> list[str]:
    """A type's path as scale-info writes it: module parts, then the (qualified) name."""
    return [*cls.__module__.split("."), *cls.__qualname__.split(".")]


def _docs(cls: type) -> list[str]:
    doc = (cls.__doc__ or "").strip()
    if not doc or doc.startswith(cls.__name__ + "("):
        return []
    return [line.strip() for line in doc.splitlines() if line.strip()]
