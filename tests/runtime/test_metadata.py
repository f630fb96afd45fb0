"""The runtime metadata lists every pallet with its calls (argument names and types), storage items (with
their key prefixes), events, errors and constants, and is JSON-serializable."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from pallets.balances import Balances
from pallets.sudo import Sudo
from pallets.system import System
from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, Pallet, call
from runtime.storage.items import StorageDoubleMap, StorageMap, StorageValue, item_prefix
from runtime.testing import MockRuntime, build_runtime
from runtime.types import U8, U16, AccountId, bounded_bytes


class Catalog(Pallet):
    """A test pallet with one of everything."""

    name, index = "Catalog", 90
    MAX_ITEMS = 12
    LABEL = "catalog"
    MAGIC = b"\x01\x02"
    ENABLED = True

    size: StorageValue[int] = StorageValue(U16, default=0, doc="How many entries.")
    entries: StorageMap[int, bytes] = StorageMap(U16, bytes, doc="Entries by id.")
    grants: StorageDoubleMap[AccountId, int, bool] = StorageDoubleMap(AccountId, U8, bool, doc="Grants.")

    @dataclasses.dataclass(frozen=True)
    class Added(Event):
        """An entry was added."""

        id: U16
        who: AccountId

    @dataclasses.dataclass(frozen=True)
    class Removed(Event):
        """An entry was removed."""

        id: U16

    class Full(DispatchError):
        """The catalog holds MAX_ITEMS entries."""

    class Missing(DispatchError):
        """No entry has this id."""

    @call(index=3, weight=1_000)
    def add(self, origin: Origin, id: U16, data: bounded_bytes(32), tags: list[str]) -> None:  # type: ignore[valid-type]
        """Add an entry."""
        origin.ensure_signed()

    @call(index=1, weight=500, origin="root")
    def wipe(self, origin: Origin) -> None:
        """Remove everything."""
        origin.ensure_root()


@pytest.fixture
def rt() -> MockRuntime:
    return build_runtime(Catalog, "Notes")


@pytest.fixture
def meta(rt) -> dict[str, Any]:
    return rt.runtime.metadata()


def pallet(meta: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in meta["pallets"] if p["name"] == name]
    return found


def test_metadata_is_json_serializable(meta):
    text = json.dumps(meta, sort_keys=True)
    assert json.loads(text) == meta


def test_metadata_is_deterministic(rt, meta):
    assert json.dumps(build_runtime(Catalog, "Notes").runtime.metadata(), sort_keys=True) == json.dumps(
        meta, sort_keys=True
    )


def test_metadata_lists_every_pallet_in_declared_order(rt, meta):
    names = ["System", "Balances", "Sudo", "ModelRegistry", "Catalog", "Notes"]
    assert [p["name"] for p in meta["pallets"]] == names
    assert [p["index"] for p in meta["pallets"]] == [0, 1, 2, 10, 90, 40]
    assert [p["name"] for p in meta["pallets"]] == [p.name for p in rt.runtime.pallets]


def test_metadata_describes_the_chain_and_version(rt, meta):
    assert meta["version"] == 1
    assert meta["runtime"]["specVersion"] == rt.runtime.VERSION.spec_version
    assert meta["chain"]["genesisHash"] == "0x" + rt.runtime.genesis_hash.hex()
    assert meta["fees"]["extrinsicBaseWeight"] == rt.runtime.fees.extrinsic_base_weight


def test_calls_have_indices_origins_and_typed_arguments(meta):
    calls = pallet(meta, "Catalog")["calls"]
    assert [c["name"] for c in calls] == ["wipe", "add"]  # sorted by call index
    wipe, add = calls
    assert (wipe["index"], wipe["origin"], wipe["args"]) == (1, "root", [])
    assert add["index"] == 3
    assert add["origin"] == "signed"
    assert add["doc"] == "Add an entry."
    assert [(a["name"], a["type"]) for a in add["args"]] == [
        ("id", "U16"),
        ("data", "bytes"),
        ("tags", "list[str]"),
    ]
    assert add["args"][0]["schema"] == {"type": "int", "name": "U16", "min": 0, "max": 65535}
    assert add["args"][1]["schema"] == {"type": "bytes", "max_len": 32}
    assert add["args"][2]["schema"] == {"type": "list", "item": {"type": "str"}}


def test_builtin_calls_are_described(meta):
    transfer = next(c for c in pallet(meta, "Balances")["calls"] if c["name"] == "transfer")
    assert [(a["name"], a["type"]) for a in transfer["args"]] == [("dest", "AccountId"), ("value", "U64")]
    names = {p["name"]: [c["name"] for c in p["calls"]] for p in meta["pallets"]}
    assert names["System"] == ["remark", "set_timestamp"]
    assert names["Balances"] == ["transfer", "transfer_keep_alive", "force_set_balance"]
    assert names["Sudo"] == ["sudo", "set_key"]
    assert names["Notes"] == ["set_note", "clear_note"]
    sudo = pallet(meta, "Sudo")["calls"][0]
    assert sudo["args"][0]["schema"] == {"type": "call"}


@pytest.mark.parametrize("cls", [System, Balances, Sudo, Catalog])
def test_every_call_of_every_pallet_is_listed(meta, cls):
    described = {c["name"]: c for c in pallet(meta, cls.name)["calls"]}
    assert set(described) == set(cls.call_specs)
    for name, spec in cls.call_specs.items():
        assert described[name]["index"] == spec.index
        assert [a["name"] for a in described[name]["args"]] == list(spec.arg_names)


def test_storage_items_have_their_key_prefixes(rt, meta):
    storage = {s["name"]: s for s in pallet(meta, "Catalog")["storage"]}
    assert set(storage) == {"size", "entries", "grants"}
    for name, item in storage.items():
        assert item["prefix"] == "0x" + item_prefix("Catalog", name).hex()
    assert storage["size"]["kind"] == "value"
    assert storage["size"]["default"] == 0
    assert storage["entries"]["kind"] == "map"
    assert [k["type"] for k in storage["entries"]["keys"]] == ["U16"]
    assert [k["type"] for k in storage["grants"]["keys"]] == ["AccountId", "U8"]
    assert storage["grants"]["value"]["type"] == "bool"
    assert storage["entries"]["doc"] == "Entries by id."
    # the prefix is the one the live storage uses
    catalog = rt.pallet(Catalog)
    assert catalog.entries.key(7).startswith(bytes.fromhex(storage["entries"]["prefix"][2:]))
    assert catalog.size.storage_key == bytes.fromhex(storage["size"]["prefix"][2:])


def test_system_account_prefix_matches_the_storage_keys(rt, meta):
    account = next(s for s in pallet(meta, "System")["storage"] if s["name"] == "account")
    key = rt.runtime.system.account.key(rt.account("alice"))
    assert key.startswith(bytes.fromhex(account["prefix"][2:]))
    assert account["value"]["schema"]["type"] == "struct"
    assert [f["name"] for f in account["value"]["schema"]["fields"]] == ["nonce", "free", "held"]
    assert account["default"] == [0, 0, 0]


def test_events_are_listed_with_fields(meta):
    events = pallet(meta, "Catalog")["events"]
    assert [(e["name"], e["index"]) for e in events] == [("Added", 0), ("Removed", 1)]
    assert [(f["name"], f["type"]) for f in events[0]["fields"]] == [("id", "U16"), ("who", "AccountId")]
    assert events[0]["doc"] == "An entry was added."
    balances_events = [e["name"] for e in pallet(meta, "Balances")["events"]]
    assert balances_events == [e.__name__ for e in Balances.event_types]
    assert "ExtrinsicFailed" in [e["name"] for e in pallet(meta, "System")["events"]]


def test_errors_are_listed_with_docs(meta):
    errors = pallet(meta, "Catalog")["errors"]
    assert errors == [
        {"name": "Full", "index": 0, "doc": "The catalog holds MAX_ITEMS entries."},
        {"name": "Missing", "index": 1, "doc": "No entry has this id."},
    ]
    assert "InsufficientBalance" in [e["name"] for e in pallet(meta, "Balances")["errors"]]
    assert [e["name"] for e in pallet(meta, "Sudo")["errors"]] == ["RequireSudo"]
    assert [e["name"] for e in pallet(meta, "Notes")["errors"]] == ["TooLong", "NoNote"]


def test_constants_are_listed_with_values(meta):
    constants = {c["name"]: c for c in pallet(meta, "Catalog")["constants"]}
    assert constants["MAX_ITEMS"] == {"name": "MAX_ITEMS", "value": 12, "type": "int"}
    assert constants["LABEL"]["value"] == "catalog"
    assert constants["MAGIC"]["value"] == "0x0102"
    assert constants["ENABLED"]["value"] is True
    balances = {c["name"]: c["value"] for c in pallet(meta, "Balances")["constants"]}
    assert balances["EXISTENTIAL_DEPOSIT"] == Balances.EXISTENTIAL_DEPOSIT
    assert {c["name"]: c["value"] for c in pallet(meta, "Notes")["constants"]} == {"MAX_LEN": 256}
