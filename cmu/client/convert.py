"""From user input to the wire: each value is converted by its metadata JSON schema into the codec
primitives the runtime decodes (ints, bools, bytes, strs, lists; structs as lists in field order).

Input is a command-line string or a JSON value (inside a list, struct, map or nested call). Accepted forms:
int (decimal, 0x-hex, `_` separators), bool (true/false/yes/no/1/0), bytes (0x-hex, @file, else UTF-8
text), str, account (0x-hex, a dev name or //NAME), list/tuple/map/struct (JSON), option ("none"/null),
enum (member name or value), call (JSON {"call": "Pallet.name", "args": {...}}).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cmu.client.errors import ArgumentError
from runtime import codec
from runtime.boundedjson import DEFAULT_MAX_DEPTH, JsonLimitError, loads_bounded
from runtime.crypto import DEV_ACCOUNT_NAMES, dev_keypair, parse_address

Schema = Mapping[str, Any]
#: Builds a nested call's wire form from its name and arguments (given by the metadata).
CallEncoder = Callable[[str, Mapping[str, Any], str], list[Any]]

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_NONE = {"none", "null"}
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("to_wire_depth", default=0)


def to_wire(schema: Schema, value: Any, where: str = "value", calls: CallEncoder | None = None) -> Any:
    """The wire form of `value` under `schema`; ArgumentError naming `where` when it does not fit.

    Containers and nested calls recurse; past DEFAULT_MAX_DEPTH levels the value is refused.
    """
    kind = schema.get("type")
    convert = _CONVERTERS.get(str(kind))
    if convert is None:
        raise ArgumentError(f"{where}: the metadata has a type this client does not know: {kind!r}")
    depth = _DEPTH.get()
    if depth >= DEFAULT_MAX_DEPTH:
        raise ArgumentError(f"{where}: nested deeper than {DEFAULT_MAX_DEPTH} levels")
    token = _DEPTH.set(depth + 1)
    try:
        return convert(schema, value, where, calls)
    finally:
        _DEPTH.reset(token)


def _bad(where: str, expected: str, value: Any) -> ArgumentError:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return ArgumentError(f"{where}: expected {expected}, got {text}")


def describe(schema: Schema) -> str:
    """A short human name of a schema's type, for help and error messages."""
    kind = schema.get("type")
    if kind == "int":
        return str(schema.get("name") or "int")
    if kind in ("list", "option"):
        inner = describe(schema.get("item", {}))
        return f"list[{inner}]" if kind == "list" else f"{inner} | None"
    if kind == "tuple":
        return "tuple[" + ", ".join(describe(s) for s in schema.get("items", [])) + "]"
    if kind == "map":
        return f"dict[{describe(schema.get('key', {}))}, {describe(schema.get('value', {}))}]"
    if kind in ("struct", "enum"):
        return str(schema.get("name") or kind)
    if kind == "account":
        return "AccountId"
    if kind == "bytes" and schema.get("len") is not None:
        return f"bytes[{schema['len']}]"
    return str(kind)


# --- scalars --------------------------------------------------------------------------------------


def _int(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> int:
    low, high = schema.get("min"), schema.get("max")
    name = describe(schema)
    number = _parse_int(value, where, name)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ArgumentError(f"{where}: {number} is outside {name} [{low}, {high}]")
    return number


def _parse_int(value: Any, where: str, name: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text, 10)
        except ValueError:
            pass
        try:
            return int(text, 0)
        except ValueError:
            pass
    raise _bad(where, f"an integer ({name})", value)


def _bool(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> bool:
    if type(value) is bool:
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _bad(where, "a bool (true or false)", value)


def _bytes(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> bytes:
    raw = _parse_bytes(value, where)
    _check_length(schema, len(raw), where, "bytes")
    return raw


def _parse_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list) and all(type(b) is int and 0 <= b <= 255 for b in value):
        return bytes(value)
    if not isinstance(value, str):
        raise _bad(where, "bytes (0x-hex, @file or text)", value)
    if value.startswith("@"):
        return _read_file(value[1:], where)
    if value[:2].lower() == "0x":
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise _bad(where, "an even number of hex digits after 0x", value) from None
    return _utf8(value, where)


def _utf8(text: str, where: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise _bad(where, "text that is valid Unicode (no lone surrogates)", text) from None


def _read_file(path: str, where: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ArgumentError(f"{where}: cannot read {path!r}: {exc.strerror or exc}") from None


def _check_length(schema: Schema, length: int, where: str, what: str) -> None:
    exact, most = schema.get("len"), schema.get("max_len")
    if exact is not None and length != exact:
        raise ArgumentError(f"{where}: {what} must be {exact} long, got {length}")
    if most is not None and length > most:
        raise ArgumentError(f"{where}: {what} may be at most {most} long, got {length}")


def _str(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> str:
    if not isinstance(value, str):
        raise _bad(where, "a string", value)
    _utf8(value, where)
    _check_length(schema, len(value), where, "str")
    return value


def _account(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> bytes:
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return bytes(value)
    if isinstance(value, str) and value.startswith("//") and len(value) > 2:
        return bytes(dev_keypair(value[2:]).account)
    if isinstance(value, str):
        try:
            return bytes(parse_address(value))
        except ValueError:
            pass
    names = ", ".join(DEV_ACCOUNT_NAMES)
    raise _bad(where, f"an account (0x + 64 hex digits, one of {names}, or //NAME)", value)


def _none(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE | {""}):
        return None
    raise _bad(where, "nothing (none)", value)


def _option(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        return None
    return to_wire(schema.get("item", {}), value, where, calls)


def _enum(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> Any:
    members: dict[str, Any] = dict(schema.get("values", {}))
    if isinstance(value, str):
        if value in members:
            return members[value]
        folded = {name.lower(): v for name, v in members.items()}
        if value.strip().lower() in folded:
            return folded[value.strip().lower()]
    candidate = value
    if schema.get("numeric") and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        candidate = int(value)
    for member in members.values():
        if type(member) is type(candidate) and member == candidate:
            return member
    choices = ", ".join(f"{n} ({v!r})" for n, v in members.items())
    raise _bad(where, f"one of {describe(schema)}: {choices}", value)


# --- containers -----------------------------------------------------------------------------------


def _json(value: Any, where: str, expected: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return loads_bounded(value)
    except JsonLimitError as exc:
        raise ArgumentError(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ArgumentError(f"{where}: expected {expected} as JSON, got {value!r} ({exc.msg})") from None


def _list(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> list[Any]:
    items = _json(value, where, "a list")
    if not isinstance(items, list | tuple):
        raise _bad(where, f"a JSON list ({describe(schema)})", items)
    _check_length(schema, len(items), where, "the list")
    item = schema.get("item", {})
    return [to_wire(item, v, f"{where}[{i}]", calls) for i, v in enumerate(items)]


def _tuple(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> list[Any]:
    parts = list(schema.get("items", []))
    items = _json(value, where, "a list")
    if not isinstance(items, list | tuple) or len(items) != len(parts):
        raise _bad(where, f"a JSON list of {len(parts)} ({describe(schema)})", items)
    return [to_wire(p, v, f"{where}[{i}]", calls) for i, (p, v) in enumerate(zip(parts, items, strict=True))]


def _map(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> list[Any]:
    data = _json(value, where, "an object")
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in data):
        pairs = [(p[0], p[1]) for p in data]
    else:
        raise _bad(where, f"a JSON object or [[key, value], ...] ({describe(schema)})", data)
    key_schema, value_schema = schema.get("key", {}), schema.get("value", {})
    encoded: dict[bytes, list[Any]] = {}
    for k, v in pairs:
        key_wire = to_wire(key_schema, k, f"{where} key {k!r}", calls)
        packed = codec.pack(key_wire)
        if packed in encoded:
            raise ArgumentError(f"{where}: the key {k!r} appears twice")
        encoded[packed] = [key_wire, to_wire(value_schema, v, f"{where}[{k!r}]", calls)]
    return [encoded[packed] for packed in sorted(encoded)]


def _struct(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> list[Any]:
    fields = list(schema.get("fields", []))
    names = [str(f["name"]) for f in fields]
    data = _json(value, where, "an object")
    if isinstance(data, list | tuple) and len(data) == len(fields):
        data = dict(zip(names, data, strict=True))
    if not isinstance(data, dict):
        raise _bad(where, f"a JSON object with {', '.join(names)} ({describe(schema)})", data)
    optional = {str(f["name"]) for f in fields if f.get("omit_if_none")}
    missing = [n for n in names if n not in data and n not in optional]
    unknown = sorted(set(data) - set(names))
    if missing or unknown:
        raise ArgumentError(
            f"{where}: {describe(schema)} has fields {', '.join(names)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(map(str, unknown))}" if unknown else "")
        )
    wire = [to_wire(f["schema"], data.get(f["name"]), f"{where}.{f['name']}", calls) for f in fields]
    while wire and wire[-1] is None and fields[len(wire) - 1].get("omit_if_none"):
        wire.pop()  # optional fields added later are left off while None (the runtime's one encoding)
    return wire


def _call(schema: Schema, value: Any, where: str, calls: CallEncoder | None) -> list[Any]:
    data = _json(value, where, 'a call {"call": "Pallet.name", "args": {...}}')
    if not isinstance(data, dict) or not isinstance(data.get("call"), str):
        raise _bad(where, 'a call {"call": "Pallet.name", "args": {...}}', data)
    args = data.get("args", {})
    if not isinstance(args, dict) or set(data) - {"call", "args"}:
        raise _bad(where, 'a call {"call": "Pallet.name", "args": {...}}', data)
    if calls is None:
        raise ArgumentError(f"{where}: a nested call needs the runtime metadata")
    return calls(data["call"], args, where)


Converter = Callable[[Schema, Any, str, CallEncoder | None], Any]
_CONVERTERS: dict[str, Converter] = {
    "int": _int,
    "bool": _bool,
    "bytes": _bytes,
    "str": _str,
    "account": _account,
    "none": _none,
    "option": _option,
    "enum": _enum,
    "list": _list,
    "tuple": _tuple,
    "map": _map,
    "struct": _struct,
    "call": _call,
}
