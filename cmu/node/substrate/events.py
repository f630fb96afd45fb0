"""A block's event records (the System.events value, msgpack) as Substrate's Vec<EventRecord> in SCALE.

Phase -1 becomes Initialization, -2 Finalization, n >= 0 ApplyExtrinsic(n). Event fields keep their
names; System.ExtrinsicSuccess/ExtrinsicFailed take Substrate's shape (dispatch_info, dispatch_error with
the failing pallet's index and error index), which is what clients read to tell success from failure.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from runtime import codec
from runtime.executive import Runtime
from runtime.scale.metadata_v14 import ScaleMetadata
from runtime.scale.values import to_scale
from runtime.types import converter

_FRAME_ERRORS = {"BadOrigin": "BadOrigin"}


class EventsView:
    """Encodes stored event records for one runtime."""

    def __init__(self, runtime: Runtime, metadata: ScaleMetadata) -> None:
        self.runtime = runtime
        self.metadata = metadata
        self._errors = {
            error.error_name(): (pallet.index, error.index)
            for pallet in runtime.pallets
            for error in type(pallet).error_types
        }

    def encode(self, raw: bytes | None) -> bytes:
        """SCALE Vec<EventRecord> of a stored System.events value (an empty Vec when absent)."""
        records = self.records(raw)
        return self.metadata.encode(self.metadata.type_ids["Events"], records)

    def records(self, raw: bytes | None) -> list[dict[str, Any]]:
        """The scalecodec values of the event records."""
        if not raw:
            return []
        encoded = codec.unpack(raw)
        if not isinstance(encoded, bytes):
            raise codec.WrongType("System.events holds bytes")
        wire = codec.unpack(encoded) if encoded else []
        if not isinstance(wire, list):
            raise codec.WrongType("event records are an array")
        return [self._record(record) for record in wire]

    def _record(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, list) or len(record) != 4:
            raise codec.WrongType("an event record is [phase, pallet, event, fields]")
        phase, pallet_index, event_index, fields = record
        pallet = self.runtime.pallet_by_index(pallet_index)
        if pallet is None or not 0 <= event_index < len(type(pallet).event_types):
            raise codec.WrongType(f"no event {pallet_index}.{event_index} in this runtime")
        event_type: Any = type(pallet).event_types[event_index]
        event = converter(event_type).from_wire(fields)
        return {
            "phase": _phase(phase),
            "event": {pallet.name: {event_type.__name__: self._fields(pallet.name, event)}},
            "topics": [],
        }

    def _fields(self, pallet: str, event: Any) -> dict[str, Any]:
        name = type(event).__name__
        if pallet == "System" and name == "ExtrinsicSuccess":
            return {"dispatch_info": _dispatch_info(event.weight)}
        if pallet == "System" and name == "ExtrinsicFailed":
            return {
                "dispatch_error": self._dispatch_error(event.error),
                "dispatch_info": _dispatch_info(event.weight),
            }
        hints = typing.get_type_hints(type(event), include_extras=True)
        return {f.name: to_scale(hints[f.name], getattr(event, f.name)) for f in dataclasses.fields(event)}

    def _dispatch_error(self, error: str) -> Any:
        found = self._errors.get(error)
        if found is not None:
            pallet_index, error_index = found
            return {"Module": {"index": pallet_index, "error": "0x" + bytes([error_index, 0, 0, 0]).hex()}}
        return _FRAME_ERRORS.get(error.rsplit(".", 1)[-1], "Other")


def _phase(phase: int) -> Any:
    if phase >= 0:
        return {"ApplyExtrinsic": phase}
    return "Initialization" if phase == -1 else "Finalization"


def _dispatch_info(weight: int) -> dict[str, Any]:
    return {"weight": {"ref_time": weight, "proof_size": 0}, "class": "Normal", "pays_fee": "Yes"}
