"""Tests for client.metadata and client.chain without a node: calls built from the metadata decode in
the runtime, storage keys equal the runtime's, stored values and events decode to JSON, and an extrinsic
signed by the client is accepted by a mock runtime's block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmu.client.chain import Chain
from cmu.client.errors import ArgumentError
from cmu.client.metadata import Metadata
from runtime.crypto import DEV_ACCOUNT_NAMES, dev_keypair
from runtime.dispatch import decode_extrinsic
from runtime.testing import MockRuntime, assert_ok

ALICE = dev_keypair("alice").account
BOB = dev_keypair("bob").account


def sudo_pallet(mock: MockRuntime) -> Any:
    return mock.runtime.pallet_by_name("Sudo")


def hex_of(data: bytes) -> str:
    return "0x" + bytes(data).hex()


# --- calls --------------------------------------------------------------------------------------


def test_encode_call_works_and_decodes_in_the_runtime(mock: MockRuntime, metadata: Metadata) -> None:
    wire = metadata.encode_call("Balances.transfer", {"dest": "bob", "value": "1_000"})
    assert wire == [1, 0, [bytes(BOB), 1000]]
    assert mock.runtime.decode_call(wire) == mock.runtime.make_call("Balances.transfer", dest=BOB, value=1000)


def test_encode_call_works_for_a_custom_pallet(mock: MockRuntime, metadata: Metadata) -> None:
    wire = metadata.encode_call("Notes.set_note", {"text": "hi"})
    assert mock.runtime.decode_call(wire) == mock.runtime.make_call("Notes.set_note", text=b"hi")


def test_encode_call_works_with_a_nested_call(mock: MockRuntime, metadata: Metadata) -> None:
    inner = '{"call": "Balances.force_set_balance", "args": {"who": "bob", "new_free": 5000000}}'
    wire = metadata.encode_call("Sudo.sudo", {"call": inner})
    expected = mock.runtime.make_call(
        "Sudo.sudo", call=mock.runtime.make_call("Balances.force_set_balance", who=BOB, new_free=5_000_000)
    )
    assert mock.runtime.decode_call(wire) == expected


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("Balances", {}, "expected PALLET.CALL"),
        ("Nope.transfer", {}, "no pallet 'Nope' (it has Balances, ModelRegistry, Notes, Sudo, System)"),
        ("Balances.nope", {}, "no call 'nope' (its calls: transfer, transfer_keep_alive, force_set_balance)"),
        ("Balances.transfer", {"dest": "bob"}, "takes dest: AccountId, value: U64; missing value"),
        ("Balances.transfer", {"dest": "bob", "value": "1", "x": "2"}, "unknown x"),
        (
            "Balances.transfer",
            {"dest": "bob", "value": "-1"},
            "Balances.transfer argument value: -1 is outside U64",
        ),
    ],
)
def test_encode_call_fails_clearly(metadata: Metadata, name: str, args: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError) as info:
        metadata.encode_call(name, args)
    assert message in str(info.value)


def test_nested_call_errors_name_the_outer_argument(metadata: Metadata) -> None:
    inner = '{"call": "Balances.force_set_balance", "args": {"who": "zed", "new_free": 1}}'
    with pytest.raises(
        ArgumentError, match=r"Sudo\.sudo argument call: Balances\.force_set_balance argument who"
    ):
        metadata.encode_call("Sudo.sudo", {"call": inner})


def test_pallet_lookup_is_case_insensitive_as_a_fallback(metadata: Metadata) -> None:
    assert metadata.pallet("balances")["name"] == "Balances"


# --- storage ------------------------------------------------------------------------------------


def test_storage_key_equals_the_runtimes(mock: MockRuntime, metadata: Metadata) -> None:
    rt = mock.runtime
    assert metadata.storage_key("System.account", ["bob"]) == rt.system.account.key(BOB)
    assert metadata.storage_key("System.account", [hex_of(BOB)]) == rt.system.account.key(BOB)
    assert metadata.storage_key("System.block_hash", ["7"]) == rt.system.block_hash.key(7)
    holds = mock.balances.holds
    assert metadata.storage_key("Balances.holds", ["alice", "stake"]) == holds.key(ALICE, "stake")
    assert metadata.storage_key("Balances.total_issuance", []) == mock.balances.total_issuance.storage_key


def test_storage_key_fails_on_wrong_key_count_or_value(metadata: Metadata) -> None:
    with pytest.raises(ArgumentError, match=r"System\.account takes 1 key\(s\) \(AccountId\), got 0"):
        metadata.storage_key("System.account", [])
    with pytest.raises(ArgumentError, match=r"System\.account key 1: expected an account"):
        metadata.storage_key("System.account", ["nobody"])
    with pytest.raises(ArgumentError, match="no storage item 'acount'"):
        metadata.storage_key("System.acount", ["bob"])


def test_decode_storage_works_for_values_and_defaults(mock: MockRuntime, metadata: Metadata) -> None:
    rt = mock.runtime
    raw = rt.read(rt.system.account.key(BOB))
    info = mock.account_info("bob")
    assert metadata.decode_storage("System.account", raw) == {"nonce": 0, "free": info.free, "held": 0}
    assert metadata.decode_storage("System.account", None) == {"nonce": 0, "free": 0, "held": 0}
    authorities = metadata.decode_storage("System.authorities", rt.read(rt.system.authorities.storage_key))
    assert authorities == [hex_of(dev_keypair(n).account) for n in DEV_ACCOUNT_NAMES]
    assert metadata.decode_storage("System.parent_hash", None) == "0x" + "00" * 32
    assert metadata.decode_storage("Sudo.key", rt.read(sudo_pallet(mock).key.storage_key)) == hex_of(ALICE)
    assert metadata.decode_storage("Sudo.key", None) is None
    assert metadata.decode_storage("ModelRegistry.models", None) is None  # a struct with no default


def test_decode_storage_of_a_custom_pallet(mock: MockRuntime, metadata: Metadata) -> None:
    assert_ok(mock.call("bob", "Notes.set_note", text=b"\x01hi"))
    notes: Any = mock.runtime.pallet_by_name("Notes")
    assert metadata.decode_storage("Notes.notes", mock.runtime.read(notes.notes.key(BOB))) == "0x016869"
    assert metadata.decode_storage("Notes.count", mock.runtime.read(notes.count.storage_key)) == 1


# --- events and extrinsics -----------------------------------------------------------------------


def test_decode_events_works(mock: MockRuntime, metadata: Metadata) -> None:
    assert_ok(mock.submit("alice", "Balances.transfer", dest=BOB, value=2_000_000))
    raw = mock.runtime.encode_events(mock.runtime.events)
    events = metadata.decode_events(raw)
    transfer = next(e for e in events if e["event"] == "Transfer")
    assert transfer == {
        "phase": 1,
        "pallet": "Balances",
        "event": "Transfer",
        "fields": {"sender": hex_of(ALICE), "dest": hex_of(BOB), "amount": 2_000_000},
    }
    assert events[-1]["event"] == "ExtrinsicSuccess" and set(events[-1]["fields"]) == {"weight", "fee"}


def test_decode_events_of_nothing_is_empty(metadata: Metadata) -> None:
    assert metadata.decode_events(b"") == []


def test_normalize_event_names_list_fields(metadata: Metadata) -> None:
    event = {"phase": 1, "pallet": "Notes", "event": "NoteSet", "fields": ["0x00", 2]}
    assert metadata.normalize_event(event)["fields"] == {"who": "0x00", "length": 2}


def test_decode_extrinsic_works_for_signed_and_inherent(mock: MockRuntime, metadata: Metadata) -> None:
    signed = metadata.decode_extrinsic(mock.sign("alice", "Balances.transfer", dest=BOB, value=5, tip=3))
    assert signed["signed"] and signed["signer"] == hex_of(ALICE)
    assert (signed["nonce"], signed["tip"], signed["call"]) == (0, 3, "Balances.transfer")
    assert signed["args"] == {"dest": hex_of(BOB), "value": 5}
    inherent = metadata.decode_extrinsic(mock.runtime.timestamp_inherent(123))
    assert inherent["signed"] is False and inherent["call"] == "System.set_timestamp"
    assert inherent["args"] == {"now": 123}


def test_decode_extrinsic_shows_a_nested_call(mock: MockRuntime, metadata: Metadata) -> None:
    inner = mock.runtime.make_call("Balances.force_set_balance", who=BOB, new_free=5_000_000)
    decoded = metadata.decode_extrinsic(mock.sign("alice", "Sudo.sudo", call=inner))
    assert decoded["args"] == {
        "call": {"call": "Balances.force_set_balance", "args": {"who": hex_of(BOB), "new_free": 5_000_000}}
    }


# --- signing ------------------------------------------------------------------------------------


class RuntimeClient:
    """Answers the client's signing requests from a mock runtime, as a node would."""

    def __init__(self, mock: MockRuntime) -> None:
        self.mock = mock
        self.calls: list[str] = []

    def request(self, method: str, params: Any = None) -> Any:
        return self.batch([(method, params)])[0]

    def batch(self, calls: list[tuple[str, Any]], **_: Any) -> list[Any]:
        rt = self.mock.runtime
        answers: dict[str, Callable[[Any], Any]] = {
            "system_accountNextIndex": lambda p: rt.system.next_nonce(self.mock.account(p[0])),
            "chain_getBlockHash": lambda p: hex_of(rt.genesis_hash),
            "state_getRuntimeVersion": lambda p: rt.VERSION.to_json(),
            "state_getMetadata": lambda p: rt.metadata(),
        }
        self.calls += [m for m, _ in calls]
        return [answers[m](p) for m, p in calls]


def test_signed_extrinsic_is_accepted_and_the_transfer_happens(mock: MockRuntime) -> None:
    client = RuntimeClient(mock)
    chain = Chain(client)  # type: ignore[arg-type]
    before = mock.free_balance("bob")
    call = chain.compose("Balances.transfer", {"dest": "bob", "value": "3_000_000"})
    extrinsic = chain.sign(dev_keypair("alice"), call, tip=10)
    assert client.calls.count("system_accountNextIndex") == 1  # nonce, genesis, version in one batch
    assert_ok(mock.push(extrinsic))
    assert mock.free_balance("bob") == before + 3_000_000
    assert decode_extrinsic(mock.runtime, extrinsic).tip == 10


def test_the_next_signed_extrinsic_uses_the_next_nonce(mock: MockRuntime) -> None:
    chain = Chain(RuntimeClient(mock))  # type: ignore[arg-type]
    call = chain.compose("Notes.set_note", {"text": "first"})
    assert_ok(mock.push(chain.sign(dev_keypair("bob"), call)))
    second = chain.sign(dev_keypair("bob"), chain.compose("Notes.set_note", {"text": "second"}))
    assert decode_extrinsic(mock.runtime, second).nonce == 1
    assert_ok(mock.push(second))
    notes: Any = mock.runtime.pallet_by_name("Notes")
    assert notes.notes[BOB] == b"second"
