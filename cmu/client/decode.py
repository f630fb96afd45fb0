"""From the wire back to JSON, driven by the metadata schemas: storage values, event records, calls and
extrinsics. Bytes and accounts become 0x-hex, structs objects, enums member names, options null or value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cmu.client.errors import ProtocolError

Schema = Mapping[str, Any]
#: Decodes a nested call's wire form into {"call": "Pallet.name", "args": {...}} (needs the metadata).
CallDecoder = Callable[[Any], dict[str, Any]]
_KEYED = {"str", "bytes", "account", "enum", "int", "bool"}


def to_json(schema: Schema, wire: Any, calls: CallDecoder | None = None) -> Any:
    """The JSON form of a wire value (ProtocolError when it does not fit the schema)."""
    kind = str(schema.get("type"))
    decode = _DECODERS.get(kind)
    if decode is None:
        return _plain(wire)
    return decode(schema, wire, calls)


def _plain(wire: Any) -> Any:
    """Schema-less JSON: bytes as 0x-hex, everything else as is."""
    if isinstance(wire, bytes):
        return "0x" + wire.hex()
    if isinstance(wire, list | tuple):
        return [_plain(v) for v in wire]
    return wire


def _mismatch(schema: Schema, wire: Any) -> ProtocolError:
    return ProtocolError(f"a value does not match its schema {schema.get('type')}: {str(_plain(wire))[:80]}")


def _scalar(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    return wire


def _bytes(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    if isinstance(wire, bytes):
        return "0x" + wire.hex()
    if isinstance(wire, str) and wire.startswith("0x"):  # metadata defaults are already hex
        return wire
    if wire is None:
        return None
    raise _mismatch(schema, wire)


def _list(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    if not isinstance(wire, list | tuple):
        raise _mismatch(schema, wire)
    item = schema.get("item", {})
    return [to_json(item, v, calls) for v in wire]


def _tuple(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    parts = list(schema.get("items", []))
    if not isinstance(wire, list | tuple) or len(wire) != len(parts):
        raise _mismatch(schema, wire)
    return [to_json(p, v, calls) for p, v in zip(parts, wire, strict=True)]


def _map(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    if not isinstance(wire, list | tuple) or not all(
        isinstance(p, list | tuple) and len(p) == 2 for p in wire
    ):
        raise _mismatch(schema, wire)
    key_schema, value_schema = schema.get("key", {}), schema.get("value", {})
    pairs = [(to_json(key_schema, k, calls), to_json(value_schema, v, calls)) for k, v in wire]
    if key_schema.get("type") in _KEYED:
        return {str(k).lower() if isinstance(k, bool) else str(k): v for k, v in pairs}
    return [[k, v] for k, v in pairs]


def _option(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    return None if wire is None else to_json(schema.get("item", {}), wire, calls)


def _struct(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    fields = list(schema.get("fields", []))
    required = sum(1 for f in fields if not f.get("omit_if_none"))
    if not isinstance(wire, list | tuple) or not required <= len(wire) <= len(fields):
        raise _mismatch(schema, wire)
    padded = [*wire, *([None] * (len(fields) - len(wire)))]
    return {f["name"]: to_json(f["schema"], v, calls) for f, v in zip(fields, padded, strict=True)}


def _enum(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    for name, value in dict(schema.get("values", {})).items():
        if type(value) is type(wire) and value == wire:
            return name
    return wire


def _call(schema: Schema, wire: Any, calls: CallDecoder | None) -> Any:
    if calls is None:
        return _plain(wire)
    return calls(wire)


_DECODERS: dict[str, Callable[[Schema, Any, CallDecoder | None], Any]] = {
    "int": _scalar,
    "bool": _scalar,
    "str": _scalar,
    "none": _scalar,
    "bytes": _bytes,
    "account": _bytes,
    "list": _list,
    "tuple": _tuple,
    "map": _map,
    "option": _option,
    "struct": _struct,
    "enum": _enum,
    "call": _call,
}
