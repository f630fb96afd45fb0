"""The runtime metadata as the client uses it: find pallets, calls, storage items and events by name or
index; build a call's wire form from named arguments; compute storage keys; decode values, event
records and extrinsics. Everything comes from the metadata, so a custom pallet needs no client code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cmu.client.convert import describe, to_wire
from cmu.client.decode import to_json
from cmu.client.errors import ArgumentError, ProtocolError
from runtime import codec
from runtime.crypto import blake2_256
from runtime.errors import CodecError

PHASES = {-1: "initialization", -2: "finalization"}


def _split(name: str, what: str) -> tuple[str, str]:
    pallet, dot, member = name.partition(".")
    if not dot or not pallet or not member:
        raise ArgumentError(f"expected PALLET.{what.upper()} (e.g. Balances.transfer), got {name!r}")
    return pallet, member


def _hex_bytes(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text[2:] if text[:2].lower() == "0x" else text)
    except (ValueError, TypeError):
        raise ProtocolError(f"{what} is not hex: {text!r}") from None


class Metadata:
    """A view of `state_getMetadata`'s JSON object."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("pallets"), list):
            raise ProtocolError("the node's metadata has no pallet list")
        self.raw = raw
        self.pallets: list[dict[str, Any]] = list(raw["pallets"])
        self._by_name = {p["name"]: p for p in self.pallets}
        self._by_index = {p["index"]: p for p in self.pallets}

    # --- lookups ---------------------------------------------------------------------------------

    def pallet(self, name: str) -> dict[str, Any]:
        """A pallet's entry by name (case-insensitive as a fallback)."""
        found = self._by_name.get(name) or {k.lower(): p for k, p in self._by_name.items()}.get(name.lower())
        if found is None:
            known = ", ".join(sorted(self._by_name))
            raise ArgumentError(f"the runtime has no pallet {name!r} (it has {known})")
        return found

    def call(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(pallet, call) entries of `Pallet.call`."""
        pallet_name, call_name = _split(name, "call")
        pallet = self.pallet(pallet_name)
        for entry in pallet.get("calls", []):
            if entry["name"] == call_name:
                return pallet, entry
        known = ", ".join(c["name"] for c in pallet.get("calls", [])) or "none"
        raise ArgumentError(f"{pallet['name']} has no call {call_name!r} (its calls: {known})")

    def storage(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(pallet, storage item) entries of `Pallet.item`."""
        pallet_name, item_name = _split(name, "item")
        pallet = self.pallet(pallet_name)
        for entry in pallet.get("storage", []):
            if entry["name"] == item_name:
                return pallet, entry
        known = ", ".join(s["name"] for s in pallet.get("storage", [])) or "none"
        raise ArgumentError(f"{pallet['name']} has no storage item {item_name!r} (its items: {known})")

    def genesis_hash(self) -> bytes | None:
        """The chain's genesis hash as the metadata states it (None when absent)."""
        text = self.raw.get("chain", {}).get("genesisHash")
        return _hex_bytes(text, "genesisHash") if isinstance(text, str) else None

    # --- calls -----------------------------------------------------------------------------------

    def encode_call(self, name: str, args: Mapping[str, Any], where: str = "") -> list[Any]:
        """[pallet index, call index, [args]] of `Pallet.call` with arguments by name."""
        pallet, entry = self.call(name)
        full = f"{pallet['name']}.{entry['name']}"
        specs = entry.get("args", [])
        names = [a["name"] for a in specs]
        missing = [n for n in names if n not in args]
        unknown = sorted(set(args) - set(names))
        if missing or unknown:
            raise ArgumentError(
                f"{where or full}: {full} takes {signature(entry) or 'no arguments'}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        prefix = f"{where}: " if where else ""
        wire_args = [
            to_wire(a["schema"], args[a["name"]], f"{prefix}{full} argument {a['name']}", self._nested)
            for a in specs
        ]
        return [pallet["index"], entry["index"], wire_args]

    def _nested(self, name: str, args: Mapping[str, Any], where: str) -> list[Any]:
        return self.encode_call(name, args, where)

    def decode_call(self, wire: Any) -> dict[str, Any]:
        """{"call": "Pallet.name", "args": {...}} of a call's wire form."""
        if not isinstance(wire, list) or len(wire) != 3 or not isinstance(wire[2], list):
            raise ProtocolError("a call is [pallet index, call index, [args]]")
        pallet = self._by_index.get(wire[0])
        entry = next((c for c in (pallet or {}).get("calls", []) if c["index"] == wire[1]), None)
        if pallet is None or entry is None or len(entry.get("args", [])) != len(wire[2]):
            return {"call": f"#{wire[0]}.#{wire[1]}", "args": to_json({}, wire[2])}
        args = {
            a["name"]: to_json(a["schema"], v, self.decode_call)
            for a, v in zip(entry["args"], wire[2], strict=True)
        }
        return {"call": f"{pallet['name']}.{entry['name']}", "args": args}

    # --- storage ---------------------------------------------------------------------------------

    def storage_key(self, name: str, keys: Sequence[Any]) -> bytes:
        """The raw state key of `Pallet.item` at `keys`: the item prefix + each key's canonical encoding."""
        pallet, item = self.storage(name)
        schemas = item.get("keys", [])
        full = f"{pallet['name']}.{item['name']}"
        if len(keys) != len(schemas):
            wanted = ", ".join(describe(k["schema"]) for k in schemas) or "no keys"
            raise ArgumentError(f"{full} takes {len(schemas)} key(s) ({wanted}), got {len(keys)}")
        key = _hex_bytes(item["prefix"], "a storage prefix")
        for position, (schema, value) in enumerate(zip(schemas, keys, strict=True)):
            wire = to_wire(schema["schema"], value, f"{full} key {position + 1}", self._nested)
            key += codec.pack(wire)
        return key

    def decode_storage(self, name: str, raw: bytes | None) -> Any:
        """The JSON form of a stored value, or of the item's default when `raw` is None (None for an item
        without a default)."""
        _, item = self.storage(name)
        schema = item["value"]["schema"]
        if raw is None:
            default = item.get("default")  # None: the item has no default (an absent struct is null)
            return None if default is None else to_json(schema, default, self.decode_call)
        return to_json(schema, _unpack(raw, "a storage value"), self.decode_call)

    # --- events and extrinsics -------------------------------------------------------------------

    def event(self, pallet_index: int, event_index: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(pallet, event) entries by index, or None."""
        pallet = self._by_index.get(pallet_index)
        for entry in (pallet or {}).get("events", []):
            if entry["index"] == event_index:
                return pallet or {}, entry
        return None

    def decode_events(self, raw: bytes) -> list[dict[str, Any]]:
        """Encoded event records [[phase, pallet, event, [fields]], ...] (System.events) as JSON."""
        records = _unpack(raw, "event records") if raw else []
        if not isinstance(records, list):
            raise ProtocolError("event records are a list")
        return [self.decode_event_record(r) for r in records]

    def decode_event_record(self, record: Any) -> dict[str, Any]:
        """{"phase", "pallet", "event", "fields"} of one record."""
        if not isinstance(record, list) or len(record) != 4 or not isinstance(record[3], list):
            raise ProtocolError("an event record is [phase, pallet index, event index, [fields]]")
        phase, pallet_index, event_index, fields = record
        found = self.event(pallet_index, event_index)
        if found is None:
            return {
                "phase": phase,
                "pallet": f"#{pallet_index}",
                "event": f"#{event_index}",
                "fields": to_json({}, fields),
            }
        return {
            "phase": phase,
            "pallet": found[0]["name"],
            "event": found[1]["name"],
            "fields": self.name_fields(found[1], fields),
        }

    def name_fields(self, event: Mapping[str, Any], fields: Sequence[Any]) -> dict[str, Any]:
        """An event's wire fields by name, decoded by their schemas."""
        specs = event.get("fields", [])
        if len(specs) != len(fields):
            raise ProtocolError(f"event {event.get('name')} has {len(specs)} fields, got {len(fields)}")
        return {
            s["name"]: to_json(s["schema"], v, self.decode_call) for s, v in zip(specs, fields, strict=True)
        }

    def normalize_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """An event as chain_getEvents gives it, with list-form fields named from the metadata."""
        result = dict(event)
        fields = event.get("fields")
        if isinstance(fields, list):
            pallet = self._by_name.get(str(event.get("pallet")), {})
            entry = next((e for e in pallet.get("events", []) if e["name"] == event.get("event")), None)
            if entry is not None and len(entry.get("fields", [])) == len(fields):
                result["fields"] = {f["name"]: v for f, v in zip(entry["fields"], fields, strict=True)}
        return result

    def decode_extrinsic(self, data: bytes) -> dict[str, Any]:
        """A block's extrinsic as JSON: its hash, whether signed, signer, nonce, tip, era, call and args."""
        if data[:1] not in (b"\x92", b"\x98"):
            return self._summarize_v4(data)
        wire = _unpack(data, "an extrinsic")
        result: dict[str, Any] = {"hash": "0x" + blake2_256(data).hex()}
        if isinstance(wire, list) and len(wire) == 8 and wire[0] == 1:
            _, signer, _sig, era, nonce, tip, _tag, call = wire
            signer_hex = "0x" + signer.hex() if isinstance(signer, bytes) else signer
            result.update(signed=True, signer=signer_hex, nonce=nonce, tip=tip, era=era)
        elif isinstance(wire, list) and len(wire) == 2 and wire[0] == 0:
            call = wire[1]
            result["signed"] = False
        else:
            raise ProtocolError("an extrinsic is [1, signer, ...] or [0, call]")
        result.update(self.decode_call(call))
        return result


    def _summarize_v4(self, data: bytes) -> dict[str, Any]:
        """A Substrate format-v4 extrinsic (sent by substrate-interface or @polkadot/api): hash, signer,
        nonce, tip and call name; its SCALE arguments stay hex (the /substrate endpoint decodes them)."""
        reader = _ScaleReader(data)
        reader.compact()
        if reader.take(1) != b"\x84" or reader.take(1) != b"\x00":
            raise ProtocolError("a format-v4 extrinsic here is signed by a MultiAddress::Id")
        signer = reader.take(32)
        reader.take(1 + 64)
        era = reader.take(1)
        if era != b"\x00":
            era += reader.take(1)
        nonce, tip = reader.compact(), reader.compact()
        pallet_index, call_index = reader.take(1)[0], reader.take(1)[0]
        pallet = self._by_index.get(pallet_index)
        entry = next((c for c in (pallet or {}).get("calls", []) if c["index"] == call_index), None)
        name = f"{pallet['name']}.{entry['name']}" if pallet and entry else f"#{pallet_index}.#{call_index}"
        return {
            "hash": "0x" + blake2_256(data).hex(), "format": "v4", "signed": True,
            "signer": "0x" + signer.hex(), "nonce": nonce, "tip": tip, "era": "0x" + era.hex(),
            "call": name, "args": {"scale": "0x" + data[reader.offset :].hex()},
        }


class _ScaleReader:
    """Just enough SCALE to summarize a format-v4 extrinsic: bytes and compact integers."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise ProtocolError("a format-v4 extrinsic ends early")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def compact(self) -> int:
        mode = self.data[self.offset] & 3 if self.offset < len(self.data) else 0
        size = {0: 1, 1: 2, 2: 4}.get(mode)
        if size is not None:
            return int.from_bytes(self.take(size), "little") >> 2
        head = self.take(1)[0]
        return int.from_bytes(self.take((head >> 2) + 4), "little")


def signature(call: Mapping[str, Any]) -> str:
    """`name: Type, ...` of a call's arguments."""
    return ", ".join(f"{a['name']}: {a.get('type') or describe(a['schema'])}" for a in call.get("args", []))


def phase_name(phase: Any) -> str:
    """An event phase as text: the extrinsic index, or initialization/finalization."""
    return PHASES.get(phase, f"extrinsic {phase}") if isinstance(phase, int) else str(phase)


def _unpack(raw: bytes, what: str) -> Any:
    try:
        return codec.unpack(raw)
    except CodecError as exc:
        raise ProtocolError(f"{what} does not decode: {exc}") from None
