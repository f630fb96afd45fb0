"""The one canonical binary encoding of everything hashed or stored: msgpack under fixed rules.

Rules (checked on every decode): only nil, bool, int, bin, str and array appear (no maps, floats or
extension types); arrays nest at most MAX_DEPTH deep; every header is the shortest form; nothing trails
the value. Decoding is bounded before it recurses: msgpack's C unpacker keeps its own stack (1,024
levels, refused beyond), claimed lengths beyond the input are refused without allocating, and the depth
walk is iterative. Because msgpack-python
always writes the shortest form, "canonical" is checked by re-encoding the decoded value and comparing
bytes, so encode(decode(x)) == x holds for every accepted x. Structured values (dataclasses, dicts, enums)
are mapped to arrays by `runtime.types` before they reach this module.
"""

from __future__ import annotations

from typing import Any, NoReturn

import msgpack

from runtime.errors import CodecError

#: Decoding refuses inputs larger than this unless the caller names a bound of its own.
DEFAULT_MAX_SIZE = 16 * 1024 * 1024
#: Arrays nest at most this deep in anything encoded or decoded (the deepest stored value needs far fewer).
MAX_DEPTH = 32

_packb = msgpack.packb
_unpackb = msgpack.unpackb


class Truncated(CodecError):
    """The input ends before the value does (or claims a length it does not have)."""


class TrailingBytes(CodecError):
    """Bytes follow the end of the value."""


class NonCanonical(CodecError):
    """The value decodes but is not in its one canonical form."""


class WrongType(CodecError):
    """The value has a type the schema does not allow here."""


class TooLarge(CodecError):
    """The input or one of its parts is larger than allowed."""


class OutOfRange(CodecError):
    """An integer outside its type's bounds."""


class TooDeep(CodecError):
    """Arrays nest deeper than MAX_DEPTH."""


def _reject_map(pairs: Any) -> NoReturn:
    raise WrongType("maps are not part of the canonical encoding; encode structures as arrays")


def _reject_ext(code: int, data: bytes) -> NoReturn:
    raise WrongType(f"msgpack extension type {code} is not allowed")


def pack(obj: Any) -> bytes:
    """Encode primitives (None, bool, int, bytes, str, list/tuple) canonically."""
    _check_primitives(obj, _PACKABLE)
    try:
        data: bytes = _packb(obj, use_bin_type=True)
    except (TypeError, OverflowError, ValueError) as exc:
        raise WrongType(f"cannot encode: {exc}") from exc
    return data


def unpack(data: bytes, max_size: int = DEFAULT_MAX_SIZE) -> Any:
    """Decode canonical bytes into primitives, refusing anything non-canonical with a typed error."""
    if type(data) is not bytes:
        if isinstance(data, bytes | bytearray | memoryview):
            data = bytes(data)
        else:
            raise WrongType(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise TooLarge(f"{len(data)} bytes exceeds the limit of {max_size}")
    if not data:
        raise Truncated("empty input")
    obj = _decode(data)
    _check_primitives(obj, _DECODED)
    if _packb(obj, use_bin_type=True) != data:
        raise NonCanonical("the bytes are not the canonical encoding of their value")
    return obj


#: What may appear in a value handed to `pack` (arrays aside), and what `unpack` may produce.
_PACKABLE = (type(None), bool, int, bytes, bytearray, memoryview, str)
_DECODED = (type(None), bool, int, bytes, str)


def _check_primitives(obj: Any, allowed: tuple[type, ...]) -> None:
    """WrongType unless `obj` is built of `allowed` scalars and arrays only; TooDeep past MAX_DEPTH.

    msgpack decodes floats at any depth and its timestamp extension (type -1) without calling ext_hook,
    and it packs floats and dicts, so neither the decoder's hooks nor a top-level check is enough. The
    walk is iterative (level by level), so no depth reaches the C stack.
    """
    exact = frozenset(allowed)
    level: list[Any] = [obj]
    depth = 0
    while level:
        arrays: list[Any] = []
        for item in level:
            if type(item) is list or type(item) is tuple:  # not namedtuples such as msgpack.ExtType
                arrays.append(item)
            elif not isinstance(item, allowed):
                raise WrongType(f"{type(item).__name__} is not part of the canonical encoding")
        if not arrays:
            return
        depth += 1
        if depth > MAX_DEPTH:
            raise TooDeep(f"arrays nested deeper than {MAX_DEPTH} levels")
        level = [x for array in arrays if not exact.issuperset(map(type, array)) for x in array]


def _decode(data: bytes) -> Any:
    try:
        return _unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            object_pairs_hook=_reject_map,
            ext_hook=_reject_ext,
        )
    except msgpack.ExtraData as exc:
        raise TrailingBytes(f"{len(exc.extra)} bytes after the value") from exc
    except CodecError:
        raise
    except msgpack.exceptions.StackError as exc:
        raise TooDeep(f"arrays nested deeper than {MAX_DEPTH} levels") from exc
    except (msgpack.OutOfData, msgpack.exceptions.BufferFull) as exc:
        raise Truncated("input ends inside the value") from exc
    except UnicodeDecodeError as exc:
        raise WrongType("a string is not valid UTF-8") from exc
    except (ValueError, TypeError, RecursionError, OverflowError, msgpack.UnpackException) as exc:
        message = str(exc) or "a reserved or invalid type byte"
        if "incomplete" in message or "insufficient" in message or "exceeds max_" in message:
            raise Truncated("input ends inside the value (or claims a longer length)") from exc
        if "map key" in message:
            raise WrongType("maps are not part of the canonical encoding") from exc
        raise CodecError(f"malformed encoding: {message}") from exc
