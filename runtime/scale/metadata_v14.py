"""Substrate metadata V14 of an assembled runtime, generated from its pallets' declarations: a portable type
registry, each pallet's storage (Substrate key layout), calls, events, errors and constants, and the
extrinsic format v4 with its signed extensions. scalecodec encodes it ("meta" magic + version 14).

Three framework items are described in Substrate's own shapes so that generic clients understand them:
System.Account (frame_system::AccountInfo with pallet_balances::AccountData), System.Events (a
Vec<EventRecord>) and System.ExtrinsicSuccess/ExtrinsicFailed (DispatchInfo, DispatchError).
"""

from __future__ import annotations

import dataclasses
import re
import struct
import threading
import typing
from typing import TYPE_CHECKING, Any

from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.exceptions import InvalidScaleTypeValueException, RemainingScaleBytesNotEmptyException
from scalecodec.type_registry import load_type_registry_preset
from scalecodec.types import Vec

from runtime.errors import CodecError
from runtime.scale.registry import TypeRegistry, type_path
from runtime.scale.values import to_scale
from runtime.storage.items import StorageItem
from runtime.types import type_name

if TYPE_CHECKING:
    from runtime.executive import Runtime
    from runtime.pallet import Pallet

METADATA_MAGIC = b"meta"
#: What scalecodec raises on bytes that are not a value of the type being decoded.
DECODE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    struct.error,
    NotImplementedError,
    InvalidScaleTypeValueException,
    RemainingScaleBytesNotEmptyException,
)
EXTRINSIC_VERSION = 4
#: The signed extensions of extrinsic format v4, in order: (identifier, extra type, additional type).
SIGNED_EXTENSIONS = (
    "CheckSpecVersion",
    "CheckTxVersion",
    "CheckGenesis",
    "CheckMortality",
    "CheckNonce",
    "ChargeTransactionPayment",
)
#: Items and events shown in Substrate's shape rather than the runtime's own.
SUBSTRATE_SHAPED_STORAGE = {("System", "account"), ("System", "events")}


def substrate_name(snake: str) -> str:
    """A storage item's name as Substrate writes it: `block_hash` -> `BlockHash`."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def pallet_module(pallet: str) -> str:
    """The Rust-style module name of a pallet: `ModelRegistry` -> `pallet_model_registry`."""
    return "pallet_" + re.sub(r"(?<!^)(?=[A-Z])", "_", pallet).lower()


@dataclasses.dataclass(frozen=True)
class StorageEntry:
    """One storage item as Substrate sees it."""

    pallet: str
    item: StorageItem
    name: str
    key_types: tuple[Any, ...]
    value_type_id: int


@dataclasses.dataclass
class ScaleMetadata:
    """The runtime's metadata V14, its encoding, and the lookups the SCALE views need."""

    registry: TypeRegistry
    value: dict[str, Any]
    encoded: bytes
    type_ids: dict[Any, int]
    storage: dict[tuple[str, str], StorageEntry]
    config: RuntimeConfigurationObject
    #: the decoded metadata object, which scalecodec needs to encode and decode calls
    decoded: Any = None

    def encode(self, type_id: int, value: Any) -> bytes:
        """SCALE bytes of a scalecodec value of a registry type."""
        obj = self.config.create_scale_object(f"scale_info::{type_id}", metadata=self.decoded)
        return bytes(obj.encode(value).data)

    def decode(self, type_id: int, data: bytes) -> tuple[Any, int]:
        """A registry type's scalecodec value decoded from the start of `data`, and the bytes it used;
        CodecError for bytes that are not a value of the type (whatever scalecodec raised)."""
        obj = self.config.create_scale_object(
            f"scale_info::{type_id}", data=ScaleBytes(data), metadata=self.decoded
        )
        try:
            value = obj.decode(check_remaining=False)
        except DECODE_ERRORS as exc:
            raise CodecError(f"not a SCALE value of its type: {type(exc).__name__}: {exc}") from exc
        if obj.data.offset > len(data):
            raise CodecError(f"the SCALE value needs {obj.data.offset} bytes, {len(data)} are given")
        return value, obj.data.offset


class _Builder:
    """Builds the registry and the pallet entries of one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.reg = TypeRegistry()
        self.storage: dict[tuple[str, str], StorageEntry] = {}
        self.constant_values: dict[tuple[int, str], Any] = {}

    def build(self) -> tuple[dict[str, Any], dict[Any, int]]:
        """The metadata V14 value (constants and defaults still to encode) and the framework type ids."""
        reg = self.reg
        call_id = reg.variant(["cmu_runtime", "RuntimeCall"], self._runtime_call_variants, key="RuntimeCall")
        event_id = reg.variant(
            ["cmu_runtime", "RuntimeEvent"], self._runtime_event_variants, key="RuntimeEvent"
        )
        ids = {"RuntimeCall": call_id, "RuntimeEvent": event_id, **self._framework_types(event_id)}
        pallets = [self._pallet(p, ids) for p in sorted(self.runtime.pallets, key=lambda p: p.index)]
        extrinsic = self._extrinsic(call_id)
        runtime_type = reg.composite(["cmu_runtime", "Runtime"], [])
        value = {
            "types": {"types": reg.types},
            "pallets": pallets,
            "extrinsic": extrinsic,
            "runtime_type": runtime_type,
        }
        return value, ids

    # --- the runtime enums ---------------------------------------------------------------------

    def _pallet_enum(self, pallet: Pallet, kind: str, variants: list[dict[str, Any]]) -> int:
        return self.reg.variant([pallet_module(pallet.name), "pallet", kind], lambda: variants)

    def _call_enum(self, pallet: Pallet) -> int | None:
        specs = sorted(type(pallet).call_specs.values(), key=lambda s: s.index)
        if not specs:
            return None
        variants = [
            self.reg.make_variant(
                s.name,
                s.index,
                [(n, self.reg.of(t), type_name(t)) for n, t in zip(s.arg_names, s.arg_types, strict=True)],
                docs=[s.doc.splitlines()[0]] if s.doc else [],
            )
            for s in specs
        ]
        return self._pallet_enum(pallet, "Call", variants)

    def _event_enum(self, pallet: Pallet) -> int | None:
        events = type(pallet).event_types
        if not events:
            return None
        variants = [self._event_variant(pallet, e) for e in events]
        return self._pallet_enum(pallet, "Event", variants)

    def _event_variant(self, pallet: Pallet, event: type) -> dict[str, Any]:
        index = getattr(event, "index", 0)
        if pallet.name == "System" and event.__name__ == "ExtrinsicSuccess":
            return self.reg.make_variant(
                event.__name__, index, [("dispatch_info", self._dispatch_info(), None)]
            )
        if pallet.name == "System" and event.__name__ == "ExtrinsicFailed":
            failed: list[tuple[str | None, int, str | None]] = [
                ("dispatch_error", self._dispatch_error(), "DispatchError"),
                ("dispatch_info", self._dispatch_info(), "DispatchInfo"),
            ]
            return self.reg.make_variant(event.__name__, index, failed)
        hints = typing.get_type_hints(event, include_extras=True)
        fields: list[tuple[str | None, int, str | None]] = [
            (f.name, self.reg.of(hints[f.name]), type_name(hints[f.name])) for f in dataclasses.fields(event)
        ]
        return self.reg.make_variant(event.__name__, index, fields, docs=_docs(event))

    def _error_enum(self, pallet: Pallet) -> int | None:
        errors = type(pallet).error_types
        if not errors:
            return None
        variants = [self.reg.make_variant(e.__name__, e.index, [], docs=[e.describe()]) for e in errors]
        return self._pallet_enum(pallet, "Error", variants)

    def _runtime_call_variants(self) -> list[dict[str, Any]]:
        variants = []
        for pallet in sorted(self.runtime.pallets, key=lambda p: p.index):
            call_enum = self._call_enum(pallet)
            if call_enum is not None:
                variants.append(self.reg.make_variant(pallet.name, pallet.index, [(None, call_enum, None)]))
        return variants

    def _runtime_event_variants(self) -> list[dict[str, Any]]:
        variants = []
        for pallet in sorted(self.runtime.pallets, key=lambda p: p.index):
            event_enum = self._event_enum(pallet)
            if event_enum is not None:
                variants.append(self.reg.make_variant(pallet.name, pallet.index, [(None, event_enum, None)]))
        return variants

    # --- framework types in Substrate's shapes --------------------------------------------------

    def _dispatch_info(self) -> int:
        reg = self.reg
        u64 = reg.compact(reg.primitive("u64"))
        weight = reg.composite(
            ["sp_weights", "weight_v2", "Weight"], [("ref_time", u64, None), ("proof_size", u64, None)]
        )
        dispatch_class = reg.variant(
            ["frame_support", "dispatch", "DispatchClass"],
            lambda: [
                reg.make_variant(n, i, []) for i, n in enumerate(("Normal", "Operational", "Mandatory"))
            ],
        )
        pays = reg.variant(
            ["frame_support", "dispatch", "Pays"],
            lambda: [reg.make_variant(n, i, []) for i, n in enumerate(("Yes", "No"))],
        )
        return reg.composite(
            ["frame_support", "dispatch", "DispatchInfo"],
            [("weight", weight, None), ("class", dispatch_class, None), ("pays_fee", pays, None)],
        )

    def _dispatch_error(self) -> int:
        reg = self.reg
        module_error = reg.composite(
            ["sp_runtime", "ModuleError"],
            [("index", reg.primitive("u8"), None), ("error", reg.array(4, reg.primitive("u8")), None)],
        )
        names = ("Other", "CannotLookup", "BadOrigin", "Module")
        return reg.variant(
            ["sp_runtime", "DispatchError"],
            lambda: [
                reg.make_variant(n, i, [(None, module_error, None)] if n == "Module" else [])
                for i, n in enumerate(names)
            ],
        )

    def _framework_types(self, event_id: int) -> dict[str, int]:
        reg = self.reg
        u32, u128 = reg.primitive("u32"), reg.primitive("u128")
        account_data = reg.composite(
            ["pallet_balances", "types", "AccountData"],
            [(n, u128, "Balance") for n in ("free", "reserved", "frozen", "flags")],
        )
        account_info = reg.composite(
            ["frame_system", "AccountInfo"],
            [
                *[(n, u32, "u32") for n in ("nonce", "consumers", "providers", "sufficients")],
                ("data", account_data, None),
            ],
        )
        phase = reg.variant(
            ["frame_system", "Phase"],
            lambda: [
                reg.make_variant("ApplyExtrinsic", 0, [(None, u32, "u32")]),
                reg.make_variant("Finalization", 1, []),
                reg.make_variant("Initialization", 2, []),
            ],
        )
        hash_id = reg.h256()
        record = reg.composite(
            ["frame_system", "EventRecord"],
            [
                ("phase", phase, "Phase"),
                ("event", event_id, "E"),
                ("topics", reg.sequence(hash_id), "Vec<T>"),
            ],
            params=[{"name": "E", "type": event_id}, {"name": "T", "type": hash_id}],
        )
        return {"AccountInfo": account_info, "EventRecord": record, "Events": reg.sequence(record)}

    # --- pallets -------------------------------------------------------------------------------

    def _pallet(self, pallet: Pallet, ids: dict[str, int]) -> dict[str, Any]:
        cls = type(pallet)
        entries = [self._storage_entry(pallet.name, item, ids) for item in cls.storage_items.values()]
        calls, events, errors = self._call_enum(pallet), self._event_enum(pallet), self._error_enum(pallet)
        return {
            "name": pallet.name,
            "storage": {"prefix": pallet.name, "entries": entries} if entries else None,
            "calls": None if calls is None else {"ty": calls},
            "event": None if events is None else {"ty": events},
            "constants": [self._constant(name, value) for name, value in cls.constants.items()],
            "error": None if errors is None else {"ty": errors},
            "index": pallet.index,
        }

    def _storage_entry(self, pallet: str, item: StorageItem, ids: dict[str, int]) -> dict[str, Any]:
        key_types = item.key_types()
        if (pallet, item.name) == ("System", "account"):
            value_id = ids["AccountInfo"]
        elif (pallet, item.name) == ("System", "events"):
            value_id = ids["Events"]
        else:
            value_id = self.reg.of(item.value_type)
        name = substrate_name(item.name)
        self.storage[(pallet, name)] = StorageEntry(pallet, item, name, key_types, value_id)
        if not key_types:
            entry_type: dict[str, Any] = {"Plain": value_id}
        else:
            key_ids = [self.reg.of(k) for k in key_types]
            key_id = key_ids[0] if len(key_ids) == 1 else self.reg.tuple_of(key_ids)
            entry_type = {
                "Map": {"hashers": ["Blake2_128Concat"] * len(key_ids), "key": key_id, "value": value_id}
            }
        has_default = item.default is not None or (pallet, item.name) in SUBSTRATE_SHAPED_STORAGE
        return {
            "name": name,
            "modifier": "Default" if has_default else "Optional",
            "type": entry_type,
            "default": "0x00",  # filled in by ScaleMetadata once the registry can encode
            "documentation": [item.doc] if item.doc else [],
        }

    def _constant(self, name: str, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            type_id = self.reg.primitive("bool")
        elif isinstance(value, int):
            type_id = self.reg.primitive("u64" if 0 <= value < 1 << 64 else "i128")
        elif isinstance(value, bytes):
            type_id = self.reg.sequence(self.reg.primitive("u8"))
        else:
            type_id = self.reg.primitive("str")
        self.constant_values[id(value), name] = value
        return {"name": name, "type": type_id, "value": "0x", "documentation": [], "raw": value}

    # --- extrinsic format v4 ---------------------------------------------------------------------

    def _extrinsic(self, call_id: int) -> dict[str, Any]:
        reg = self.reg
        u8, u32 = reg.primitive("u8"), reg.primitive("u32")
        unit = reg.tuple_of([])
        account = reg.account_id()
        address = reg.variant(
            ["sp_runtime", "multiaddress", "MultiAddress"],
            lambda: [
                reg.make_variant("Id", 0, [(None, account, "AccountId")]),
                reg.make_variant("Index", 1, [(None, reg.compact(unit), "AccountIndex")]),
                reg.make_variant("Raw", 2, [(None, reg.sequence(u8), "Vec<u8>")]),
                reg.make_variant("Address32", 3, [(None, reg.array(32, u8), "[u8; 32]")]),
                reg.make_variant("Address20", 4, [(None, reg.array(20, u8), "[u8; 20]")]),
            ],
            params=[{"name": "AccountId", "type": account}, {"name": "AccountIndex", "type": unit}],
        )
        signature = reg.variant(
            ["sp_runtime", "MultiSignature"],
            lambda: [
                reg.make_variant("Ed25519", 0, [(None, reg.array(64, u8), "ed25519::Signature")]),
                reg.make_variant("Sr25519", 1, [(None, reg.array(64, u8), "sr25519::Signature")]),
                reg.make_variant("Ecdsa", 2, [(None, reg.array(65, u8), "ecdsa::Signature")]),
            ],
        )
        era = reg.variant(["sp_runtime", "generic", "era", "Era"], _era_variants(reg, u8))
        hash_id = reg.h256()
        extensions = {
            "CheckSpecVersion": (unit, u32),
            "CheckTxVersion": (unit, u32),
            "CheckGenesis": (unit, hash_id),
            "CheckMortality": (era, hash_id),
            "CheckNonce": (reg.compact(u32), unit),
            "ChargeTransactionPayment": (reg.compact(reg.primitive("u128")), unit),
        }
        extra = reg.tuple_of([extensions[name][0] for name in SIGNED_EXTENSIONS])
        extrinsic = reg.add(
            "UncheckedExtrinsic",
            lambda: {
                "composite": {
                    "fields": [{"name": None, "type": reg.sequence(u8), "typeName": "Vec<u8>", "docs": []}]
                }
            },
            path=["sp_runtime", "generic", "unchecked_extrinsic", "UncheckedExtrinsic"],
            params=[
                {"name": "Address", "type": address},
                {"name": "Call", "type": call_id},
                {"name": "Signature", "type": signature},
                {"name": "Extra", "type": extra},
            ],
        )
        return {
            "ty": extrinsic,
            "version": EXTRINSIC_VERSION,
            "signed_extensions": [
                {"identifier": name, "ty": extensions[name][0], "additional_signed": extensions[name][1]}
                for name in SIGNED_EXTENSIONS
            ],
        }


def _era_variants(reg: TypeRegistry, u8: int) -> Any:
    def variants() -> list[dict[str, Any]]:
        found = [reg.make_variant("Immortal", 0, [])]
        found += [reg.make_variant(f"Mortal{i}", i, [(None, u8, None)]) for i in range(1, 256)]
        return found

    return variants


def _docs(cls: type) -> list[str]:
    doc = (cls.__doc__ or "").strip()
    return [] if not doc or doc.startswith(cls.__name__ + "(") else [doc.splitlines()[0]]


def _scale_config(types: list[dict[str, Any]]) -> RuntimeConfigurationObject:
    """A scalecodec configuration that knows the registry's types (as `scale_info::<id>`)."""
    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    bare = (
        "0x" + METADATA_MAGIC.hex(),
        {
            "V14": {
                "types": {"types": types},
                "pallets": [],
                "runtime_type": 0,
                "extrinsic": {"ty": 0, "version": EXTRINSIC_VERSION, "signed_extensions": []},
            }
        },
    )
    encoded = config.create_scale_object("MetadataVersioned").encode(bare)
    decoded = config.create_scale_object("MetadataVersioned", data=encoded)
    decoded.decode()
    config.update_from_scale_info_types(decoded.portable_registry.value_object["types"].value_object)
    for entry in types:
        sequence = entry["type"]["def"].get("sequence")
        if sequence is not None and types[sequence["type"]]["type"]["def"] == {"primitive": "u8"}:
            name = f"scale_info::{entry['id']}"
            config.type_registry["types"][name] = type(name, (_HexBytes,), {"sub_type": "u8"})
    return config


class _HexBytes(Vec):  # type: ignore[misc]
    """Vec<u8> decoded always as 0x-hex: scalecodec's own Vec<u8> gives text when the bytes are UTF-8,
    which cannot be told apart from hex, so bytes values would be ambiguous."""

    def process(self) -> str:
        count = self.process_type("Compact<u32>").value
        self.value_object = self.get_next_bytes(count)
        if len(self.value_object) != count:
            raise ValueError(f"a Vec<u8> of {count} bytes ends after {len(self.value_object)}")
        return "0x" + bytes(self.value_object).hex()


def build_scale_metadata(runtime: Runtime) -> ScaleMetadata:
    """The metadata V14 of `runtime` (slow: seconds, scalecodec is pure Python; see `scale_metadata`)."""
    builder = _Builder(runtime)
    value, ids = builder.build()
    config = _scale_config(builder.reg.types)
    metadata = ScaleMetadata(builder.reg, value, b"", ids, builder.storage, config)
    for pallet_entry in value["pallets"]:
        _fill_constants(metadata, pallet_entry)
        for entry in (pallet_entry["storage"] or {}).get("entries", []):
            found = metadata.storage[(pallet_entry["name"], entry["name"])]
            entry["default"] = "0x" + storage_default(metadata, found).hex()
    versioned = ("0x" + METADATA_MAGIC.hex(), {"V14": value})
    metadata.encoded = bytes(config.create_scale_object("MetadataVersioned").encode(versioned).data)
    decoded = config.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata.encoded))
    decoded.decode()
    metadata.decoded = decoded
    return metadata


_CACHE: dict[tuple[Any, ...], ScaleMetadata] = {}
_CACHE_LOCK = threading.Lock()


def scale_metadata(runtime: Runtime) -> ScaleMetadata:
    """The metadata V14 of a runtime, built once per process for each set of pallets and version."""
    key = (tuple(type(p) for p in runtime.pallets), runtime.VERSION, runtime.genesis_hash)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = build_scale_metadata(runtime)
        return found


def substrate_account_info(record: Any) -> dict[str, Any]:
    """The runtime's account record (nonce, free, held) in frame_system::AccountInfo's shape."""
    exists = 1 if (record.free or record.held or record.nonce) else 0
    return {
        "nonce": record.nonce,
        "consumers": 0,
        "providers": exists,
        "sufficients": 0,
        "data": {"free": record.free, "reserved": record.held, "frozen": 0, "flags": 0},
    }


def encode_storage_value(metadata: ScaleMetadata, entry: StorageEntry, value: Any) -> bytes:
    """A Python value of a storage item as the SCALE bytes the metadata declares."""
    if (entry.pallet, entry.item.name) == ("System", "account"):
        return metadata.encode(metadata.type_ids["AccountInfo"], substrate_account_info(value))
    return metadata.encode(entry.value_type_id, to_scale(entry.item.value_type, value))


def storage_default(metadata: ScaleMetadata, entry: StorageEntry) -> bytes:
    """The SCALE default of an item (0x00, Option's None or an empty Vec, when it has none)."""
    if (entry.pallet, entry.item.name) == ("System", "events") or entry.item.default is None:
        return b"\x00"
    return encode_storage_value(metadata, entry, entry.item.default)


def _fill_constants(metadata: ScaleMetadata, pallet_entry: dict[str, Any]) -> None:
    for constant in pallet_entry["constants"]:
        raw = constant.pop("raw")
        value = "0x" + raw.hex() if isinstance(raw, bytes) else raw
        constant["value"] = "0x" + metadata.encode(constant["type"], value).hex()


__all__ = [
    "SIGNED_EXTENSIONS",
    "ScaleMetadata",
    "StorageEntry",
    "build_scale_metadata",
    "pallet_module",
    "substrate_name",
    "type_path",
]
