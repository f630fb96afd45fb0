"""Decoding a block's event records (the System.events value) into JSON with the runtime's event classes.

Each record is [phase, pallet index, event index, [fields]]; it becomes {"phase", "pallet", "event",
"fields": {name: value}} with bytes as 0x-hex. Phase -1 is block initialization, -2 finalization and
n >= 0 the n-th extrinsic of the block.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from runtime import codec
from runtime.executive import Runtime
from runtime.storage.items import jsonable
from runtime.types import converter


def events_json(runtime: Runtime, raw: bytes | None) -> list[dict[str, Any]]:
    """The decoded events of a stored System.events value (an empty list for None)."""
    if not raw:
        return []
    encoded = codec.unpack(raw)  # the storage value: the encoded records as bytes
    if not isinstance(encoded, bytes):
        raise codec.WrongType("System.events holds bytes")
    if not encoded:
        return []
    records = codec.unpack(encoded)
    if not isinstance(records, list):
        raise codec.WrongType("event records are an array")
    return [_record_json(runtime, record) for record in records]


def _record_json(runtime: Runtime, record: Any) -> dict[str, Any]:
    if not isinstance(record, list) or len(record) != 4:
        raise codec.WrongType("an event record is [phase, pallet, event, fields]")
    phase, pallet_index, event_index, fields = record
    pallet = runtime.pallet_by_index(pallet_index)
    types = pallet.event_types if pallet is not None else ()
    if not isinstance(event_index, int) or not 0 <= event_index < len(types) or pallet is None:
        return {"phase": phase, "pallet": pallet_index, "event": event_index, "fields": jsonable(fields)}
    event_type: Any = types[event_index]
    converter(event_type).from_wire(fields)  # validates the fields against the event's types
    names = [f.name for f in dataclasses.fields(event_type)]
    return {
        "phase": phase,
        "pallet": pallet.name,
        "event": event_type.__name__,
        "fields": dict(zip(names, jsonable(fields), strict=True)),
    }
