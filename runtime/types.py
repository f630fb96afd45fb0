"""Typed values over the canonical codec: bounded integers, fixed and bounded bytes, account ids,
dataclasses, enums, options, lists and maps, each compiled once into a converter that validates on decode.

A converter maps a Python value to codec primitives (`to_wire`), back with validation (`from_wire`), and
describes itself as a JSON schema for the metadata so generic clients can build any call.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Final

from runtime import codec
from runtime.errors import CodecError, Overflow

Wire = Any
Schema = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class IntRange:
    """An integer's inclusive bounds."""

    name: str
    low: int
    high: int


@dataclasses.dataclass(frozen=True)
class ByteLength:
    """A bytes/str/list length bound: exactly `exact`, or at most `most`."""

    exact: int | None = None
    most: int | None = None


def _uint(bits: int) -> IntRange:
    return IntRange(f"U{bits}", 0, (1 << bits) - 1)


U8 = Annotated[int, _uint(8)]
U16 = Annotated[int, _uint(16)]
U32 = Annotated[int, _uint(32)]
U64 = Annotated[int, _uint(64)]
I64 = Annotated[int, IntRange("I64", -(1 << 63), (1 << 63) - 1)]
#: Amounts of the native token, in its smallest unit. u64 keeps every amount a native msgpack integer.
Balance = U64
BlockNumber = U32
#: Milliseconds since the Unix epoch, as set by the block author's timestamp inherent.
Moment = U64
Weight = U64
H256 = Annotated[bytes, ByteLength(exact=32)]
U64_MAX = (1 << 64) - 1


def bounded_bytes(most: int) -> Any:
    """bytes of at most `most` bytes (for call arguments and storage values)."""
    return Annotated[bytes, ByteLength(most=most)]


def bounded_str(most: int) -> Any:
    """A UTF-8 str of at most `most` characters."""
    return Annotated[str, ByteLength(most=most)]


class AccountId(bytes):
    """A 32-byte ed25519 public key. Shown as 0x-prefixed lowercase hex (see runtime.crypto.address)."""

    __slots__ = ()

    def __new__(cls, raw: bytes) -> AccountId:
        if len(raw) != 32:
            raise CodecError(f"an AccountId is 32 bytes, got {len(raw)}")
        return super().__new__(cls, raw)

    def __repr__(self) -> str:
        return f"AccountId(0x{self.hex()})"

    def __str__(self) -> str:
        return "0x" + self.hex()


def checked_add(a: int, b: int, high: int = U64_MAX) -> int:
    """a + b, raising Overflow instead of leaving [0, high]."""
    result = a + b
    if result > high or result < 0:
        raise Overflow(f"{a} + {b} leaves [0, {high}]")
    return result


def checked_sub(a: int, b: int) -> int:
    """a - b, raising Overflow below zero."""
    if b > a:
        raise Overflow(f"{a} - {b} is negative")
    return a - b


@dataclasses.dataclass(frozen=True)
class Converter:
    """How one type travels through the codec."""

    name: str
    schema: Schema
    to_wire: Callable[[Any], Wire]
    from_wire: Callable[[Wire], Any]


def encode(tp: Any, value: Any) -> bytes:
    """The canonical bytes of `value` as type `tp`."""
    return codec.pack(converter(tp).to_wire(value))


def decode(tp: Any, data: bytes, max_size: int = codec.DEFAULT_MAX_SIZE) -> Any:
    """Decode canonical bytes as type `tp`, validating every part; raises CodecError."""
    return converter(tp).from_wire(codec.unpack(data, max_size))


@functools.cache
def converter(tp: Any) -> Converter:
    """The (cached) converter for a type annotation."""
    for matches, build in _BUILDERS:
        if matches(tp):
            return build(tp)
    raise TypeError(f"no canonical encoding for type {tp!r}")


def type_name(tp: Any) -> str:
    """A short readable name for metadata and error messages."""
    return converter(tp).name


def _fail(expected: str, got: Any) -> CodecError:
    from runtime.codec import WrongType

    return WrongType(f"expected {expected}, got {type(got).__name__} {_short(got)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- integers -------------------------------------------------------------------------------------


def _int_converter(bounds: IntRange) -> Converter:
    low, high, name = bounds.low, bounds.high, bounds.name

    def check(value: Any) -> int:
        if type(value) is not int and not (isinstance(value, int) and not isinstance(value, bool)):
            raise _fail(name, value)
        if value < low or value > high:
            raise codec.OutOfRange(f"{value} is outside {name} [{low}, {high}]")
        return int(value)

    return Converter(name, {"type": "int", "name": name, "min": low, "max": high}, check, check)


_PLAIN_INT = IntRange("Int", -(1 << 63), U64_MAX)


def _bool_converter(_: Any) -> Converter:
    def check(value: Any) -> bool:
        if type(value) is not bool:
            raise _fail("bool", value)
        return value

    return Converter("bool", {"type": "bool"}, check, check)


# --- bytes and strings ----------------------------------------------------------------------------


def _length_check(name: str, bound: ByteLength | None) -> Callable[[int], None]:
    if bound is None:
        return lambda n: None
    exact, most = bound.exact, bound.most

    def check(n: int) -> None:
        if exact is not None and n != exact:
            raise _length_error(f"{name} must be {exact} long, got {n}")
        if most is not None and n > most:
            raise _length_error(f"{name} may be at most {most} long, got {n}")

    return check


def _length_error(message: str) -> CodecError:
    from runtime.codec import TooLarge

    return TooLarge(message)


def _bytes_converter(bound: ByteLength | None) -> Converter:
    check_len = _length_check("bytes", bound)

    def to_wire(value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise _fail("bytes", value)
        raw = bytes(value)
        check_len(len(raw))
        return raw

    def from_wire(value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise _fail("bytes", value)
        check_len(len(value))
        return bytes(value)

    schema: Schema = {"type": "bytes", **_bound_schema(bound)}
    name = f"bytes[{bound.exact}]" if bound and bound.exact else "bytes"
    return Converter(name, schema, to_wire, from_wire)


def _bound_schema(bound: ByteLength | None) -> Schema:
    if bound is None:
        return {}
    return {key: value for key, value in (("len", bound.exact), ("max_len", bound.most)) if value is not None}


def _str_converter(bound: ByteLength | None) -> Converter:
    check_len = _length_check("str", bound)

    def check(value: Any) -> str:
        if type(value) is not str:
            raise _fail("str", value)
        check_len(len(value))
        return value

    return Converter("str", {"type": "str", **_bound_schema(bound)}, check, check)


def _account_converter(_: Any) -> Converter:
    def to_wire(value: Any) -> bytes:
        if not isinstance(value, bytes) or len(value) != 32:
            raise _fail("AccountId (32 bytes)", value)
        return bytes(value)

    def from_wire(value: Any) -> AccountId:
        if type(value) is not bytes or len(value) != 32:
            raise _fail("AccountId (32 bytes)", value)
        return AccountId(value)

    return Converter("AccountId", {"type": "account"}, to_wire, from_wire)


# --- containers -----------------------------------------------------------------------------------


def _list_converter(tp: Any, bound: ByteLength | None = None) -> Converter:
    (item_type,) = typing.get_args(tp) or (Any,)
    item = converter(item_type)
    check_len = _length_check("list", bound)
    to_item, from_item = item.to_wire, item.from_wire

    def to_wire(value: Any) -> list[Wire]:
        if not isinstance(value, list | tuple):
            raise _fail("list", value)
        check_len(len(value))
        if ints is not None and _all_ints_within(value, *ints):
            return list(value)
        return [to_item(v) for v in value]

    def from_wire(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _fail("list", value)
        check_len(len(value))
        if ints is not None and _all_ints_within(value, *ints):
            return list(value)
        return [from_item(v) for v in value]

    schema: Schema = {"type": "list", "item": item.schema, **_bound_schema(bound)}
    # lists of bounded ints (rows of features, index lists) are checked in bulk; the per-item path
    # still runs for anything else and names the first bad item
    ints = (item.schema["min"], item.schema["max"]) if item.schema.get("type") == "int" else None
    return Converter(f"list[{item.name}]", schema, to_wire, from_wire)


def _all_ints_within(values: list[Any] | tuple[Any, ...], low: int, high: int) -> bool:
    """Every value is a plain int (not bool) in [low, high] (empty: True)."""
    if not values:
        return True
    return set(map(type, values)) == {int} and low <= min(values) and max(values) <= high


def _tuple_converter(tp: Any) -> Converter:
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        inner = _list_converter(list[args[0]])  # type: ignore[valid-type]
        return Converter(
            f"tuple[{converter(args[0]).name}, ...]",
            inner.schema,
            inner.to_wire,
            lambda value: tuple(inner.from_wire(value)),
        )
    parts = [converter(arg) for arg in args]
    count = len(parts)

    def to_wire(value: Any) -> list[Wire]:
        if not isinstance(value, tuple | list) or len(value) != count:
            raise _fail(f"tuple of {count}", value)
        return [part.to_wire(v) for part, v in zip(parts, value, strict=True)]

    def from_wire(value: Any) -> tuple[Any, ...]:
        if type(value) is not list or len(value) != count:
            raise _fail(f"tuple of {count}", value)
        return tuple(part.from_wire(v) for part, v in zip(parts, value, strict=True))

    name = "tuple[" + ", ".join(p.name for p in parts) + "]"
    return Converter(name, {"type": "tuple", "items": [p.schema for p in parts]}, to_wire, from_wire)


def _dict_converter(tp: Any) -> Converter:
    key_type, value_type = typing.get_args(tp)
    key, val = converter(key_type), converter(value_type)

    def to_wire(value: Any) -> list[Wire]:
        if not isinstance(value, dict):
            raise _fail("dict", value)
        pairs = [(codec.pack(key.to_wire(k)), key.to_wire(k), val.to_wire(v)) for k, v in value.items()]
        pairs.sort(key=lambda pair: pair[0])
        return [[k, v] for _, k, v in pairs]

    def from_wire(value: Any) -> dict[Any, Any]:
        if type(value) is not list:
            raise _fail("dict (sorted pairs)", value)
        result: dict[Any, Any] = {}
        previous: bytes | None = None
        for pair in value:
            if type(pair) is not list or len(pair) != 2:
                raise _fail("[key, value] pair", pair)
            packed = codec.pack(pair[0])
            if previous is not None and packed <= previous:
                from runtime.codec import NonCanonical

                raise NonCanonical("dict keys must be unique and sorted by their encoding")
            previous = packed
            result[key.from_wire(pair[0])] = val.from_wire(pair[1])
        return result

    schema: Schema = {"type": "map", "key": key.schema, "value": val.schema}
    return Converter(f"dict[{key.name}, {val.name}]", schema, to_wire, from_wire)


def _optional_converter(tp: Any) -> Converter:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) != 1:
        raise TypeError(f"only X | None unions have an encoding, not {tp!r}")
    inner = converter(args[0])

    def to_wire(value: Any) -> Wire:
        return None if value is None else inner.to_wire(value)

    def from_wire(value: Any) -> Any:
        return None if value is None else inner.from_wire(value)

    return Converter(f"{inner.name} | None", {"type": "option", "item": inner.schema}, to_wire, from_wire)


def _none_converter(_: Any) -> Converter:
    def check(value: Any) -> None:
        if value is not None:
            raise _fail("nothing", value)

    return Converter("None", {"type": "none"}, check, check)


# --- dataclasses and enums ------------------------------------------------------------------------


OMIT_IF_NONE: Final = {"omit_if_none": True}
"""Field metadata for an optional field added to a stored struct later: while it (and every such field
after it) is None it is left off the wire, so values written before the field existed keep their bytes.
Such fields must come last; a wire that ends in an explicit None there is refused (one encoding)."""


def _dataclass_converter(cls: type) -> Converter:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    parts = [converter(hints[f.name]) for f in fields]
    count = len(parts)
    required = _required_fields(cls, fields)
    pairs = list(zip(names, parts, strict=True))

    def to_wire(value: Any) -> list[Wire]:
        if not isinstance(value, cls):
            raise _fail(cls.__name__, value)
        wire = [part.to_wire(getattr(value, name)) for name, part in pairs]
        while len(wire) > required and wire[-1] is None:
            wire.pop()
        return wire

    def from_wire(value: Any) -> Any:
        if type(value) is not list or not required <= len(value) <= count:
            raise _fail(f"{cls.__name__} ({count} fields)", value)
        if len(value) > required and value[-1] is None:
            raise _fail(f"{cls.__name__} (a trailing optional field is left off, not null)", value)
        return cls(*[part.from_wire(v) for part, v in zip(parts, value, strict=False)])

    schema: Schema = {
        "type": "struct",
        "name": cls.__name__,
        "fields": [
            {"name": f.name, "type": p.name, "schema": p.schema, **({"omit_if_none": True} if i >= required
                                                                    else {})}
            for i, (f, p) in enumerate(zip(fields, parts, strict=True))
        ],
    }
    return Converter(cls.__name__, schema, to_wire, from_wire)


def _required_fields(cls: type, fields: list[dataclasses.Field[Any]]) -> int:
    """How many leading fields are always on the wire (the rest are OMIT_IF_NONE, all at the end)."""
    flags = [bool(f.metadata.get("omit_if_none")) for f in fields]
    required = len(flags)
    while required and flags[required - 1]:
        required -= 1
    if any(flags[:required]):
        raise TypeError(f"{cls.__name__}: OMIT_IF_NONE fields must come after every other field")
    return required


def _enum_converter(cls: type[enum.Enum]) -> Converter:
    members = list(cls)
    by_value = {m.value: m for m in members}
    numeric = all(type(m.value) is int for m in members)

    def to_wire(value: Any) -> Wire:
        if not isinstance(value, cls):
            raise _fail(cls.__name__, value)
        return value.value

    def from_wire(value: Any) -> enum.Enum:
        member = by_value.get(value) if type(value) in (int, str) else None
        if member is None:
            raise _fail(f"one of {cls.__name__} {[m.value for m in members]}", value)
        return member

    schema: Schema = {
        "type": "enum",
        "name": cls.__name__,
        "values": {m.name: m.value for m in members},
        "numeric": numeric,
    }
    return Converter(cls.__name__, schema, to_wire, from_wire)


# --- calls as arguments (sudo, batches) ------------------------------------------------------------


# An argument annotated with runtime.pallet.Call is itself a call ([pallet index, call index, [args]]).
# Decoding it needs the runtime's pallets: runtime/dispatch.decode_call_wire decodes every argument whose
# converter has CALL_SCHEMA itself; from_wire refuses elsewhere. The class marks itself with
# __cmu_runtime_call__ (this module can't import it).
CALL_SCHEMA: Schema = {"type": "call"}


def _runtime_call_converter(_: Any) -> Converter:
    def to_wire(value: Any) -> Wire:
        to_wire_method = getattr(value, "to_wire", None)
        if to_wire_method is None:
            raise _fail("a call", value)
        return to_wire_method()

    def from_wire(value: Any) -> Any:
        raise CodecError("a call argument can only be decoded by a runtime")

    return Converter("Call", CALL_SCHEMA, to_wire, from_wire)


# --- dispatch on the annotation -------------------------------------------------------------------


def _annotated(tp: Any) -> Converter:
    base, *extras = typing.get_args(tp)
    for extra in extras:
        if isinstance(extra, IntRange):
            return _int_converter(extra)
        if isinstance(extra, ByteLength):
            return _bounded(base, extra)
    return converter(base)


def _bounded(base: Any, bound: ByteLength) -> Converter:
    if base is bytes:
        return _bytes_converter(bound)
    if base is str:
        return _str_converter(bound)
    if typing.get_origin(base) is list:
        return _list_converter(base, bound)
    raise TypeError(f"a length bound does not apply to {base!r}")


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


_BUILDERS: list[tuple[Callable[[Any], bool], Callable[[Any], Converter]]] = [
    (lambda tp: typing.get_origin(tp) is Annotated, _annotated),
    (lambda tp: tp is bool, _bool_converter),
    (lambda tp: tp is int, lambda tp: _int_converter(_PLAIN_INT)),
    (lambda tp: tp is AccountId, _account_converter),
    (lambda tp: getattr(tp, "__cmu_runtime_call__", False) is True, _runtime_call_converter),
    (lambda tp: tp is bytes, lambda tp: _bytes_converter(None)),
    (lambda tp: tp is str, lambda tp: _str_converter(None)),
    (lambda tp: tp is None or tp is type(None), _none_converter),
    (lambda tp: typing.get_origin(tp) is list, _list_converter),
    (lambda tp: typing.get_origin(tp) is tuple, _tuple_converter),
    (lambda tp: typing.get_origin(tp) is dict, _dict_converter),
    (_is_union, _optional_converter),
    (lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), _enum_converter),
    (lambda tp: isinstance(tp, type) and dataclasses.is_dataclass(tp), _dataclass_converter),
]
