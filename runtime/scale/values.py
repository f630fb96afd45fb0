"""The runtime's Python values as scalecodec values and back, guided by the same type annotations the
registry maps: bytes become 0x-hex, AccountId and H256 0x-hex, dataclasses dicts, enums variant names,
options None or the value. scalecodec then writes or reads the SCALE bytes of a registry type.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Annotated, Any

from runtime.errors import CodecError
from runtime.types import AccountId, ByteLength


def to_scale(tp: Any, value: Any) -> Any:
    """`value` (a Python value of annotation `tp`) as scalecodec encodes it."""
    if typing.get_origin(tp) is Annotated:
        return to_scale(typing.get_args(tp)[0], value)
    if isinstance(value, bytes):
        return "0x" + bytes(value).hex()
    if tp in (bool, int, str) or tp is None or tp is type(None):
        return value
    if getattr(tp, "__cmu_runtime_call__", False) is True:
        return call_to_scale(value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple) and (origin is list or (len(args) == 2 and args[1] is Ellipsis)):
        return [to_scale(args[0], v) for v in value]
    if origin is tuple:
        return tuple(to_scale(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict:
        return [(to_scale(args[0], k), to_scale(args[1], v)) for k, v in sorted(value.items())]
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return None if value is None else to_scale(inner, value)
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value):
        hints = typing.get_type_hints(type(value), include_extras=True)
        return {
            f.name: to_scale(hints[f.name], getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init
        }
    raise TypeError(f"no SCALE value for {tp!r}")


def call_to_scale(call: Any) -> dict[str, Any]:
    """A runtime Call as scalecodec's RuntimeCall value."""
    spec = call.spec
    args = {n: to_scale(t, a) for n, t, a in zip(spec.arg_names, spec.arg_types, call.args, strict=True)}
    return {"call_module": spec.pallet, "call_function": spec.name, "call_args": args}


def from_scale(tp: Any, value: Any) -> Any:
    """A decoded scalecodec value as the Python value of annotation `tp` (CodecError when it is not one)."""
    if typing.get_origin(tp) is Annotated:
        base, *extras = typing.get_args(tp)
        result = from_scale(base, value)
        for extra in extras:
            if isinstance(extra, ByteLength) and isinstance(result, bytes | str | list):
                _check_length(result, extra)
        return result
    if tp is AccountId:
        return AccountId(_bytes(value))
    if tp is bytes:
        return _bytes(value)
    if tp is bool or tp is int or tp is str:
        if type(value) is not tp:
            raise CodecError(f"expected {tp.__name__}, got {type(value).__name__}")
        return value
    return _from_container(tp, value)


def _from_container(tp: Any, value: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return [from_scale(args[0], v) for v in _list(value)]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_scale(args[0], v) for v in _list(value))
        return tuple(from_scale(a, v) for a, v in zip(args, _list(value), strict=True))
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return None if value is None else from_scale(inner, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp[value]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        fields = [f for f in dataclasses.fields(tp) if f.init]
        return tp(*[from_scale(hints[f.name], value[f.name]) for f in fields])
    raise CodecError(f"no SCALE decoding for {tp!r}")


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError as exc:
            raise CodecError(f"not hex: {value[:20]!r}") from exc
    if isinstance(value, list) and all(type(v) is int and 0 <= v < 256 for v in value):
        return bytes(value)
    raise CodecError(f"expected bytes, got {type(value).__name__}")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise CodecError(f"expected a sequence, got {type(value).__name__}")
    return list(value)


def _check_length(value: bytes | str | list[Any], bound: ByteLength) -> None:
    if bound.exact is not None and len(value) != bound.exact:
        raise CodecError(f"must be {bound.exact} long, got {len(value)}")
    if bound.most is not None and len(value) > bound.most:
        raise CodecError(f"may be at most {bound.most} long, got {len(value)}")
