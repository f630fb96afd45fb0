"""Tests for client.convert: every schema type of the metadata, from command-line text or JSON to the
wire form the runtime's own converters produce, and a clear error for each kind of bad input."""

from __future__ import annotations

import dataclasses
import enum
import re
from pathlib import Path
from typing import Annotated, Any

import pytest

from cmu.client.convert import describe, to_wire
from cmu.client.errors import ArgumentError
from runtime.crypto import dev_keypair
from runtime.types import (
    H256,
    I64,
    U8,
    U32,
    U64,
    AccountId,
    ByteLength,
    bounded_bytes,
    bounded_str,
    converter,
)

ALICE = dev_keypair("alice").account
BOB = dev_keypair("bob").account


class Kind(enum.Enum):
    LINEAR = 1
    TREE = 2


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Inner:
    kind: Kind
    owner: AccountId


@dataclasses.dataclass(frozen=True)
class Outer:
    name: bounded_str(8)  # type: ignore[valid-type]
    inner: Inner
    weights: list[I64]
    note: U32 | None


def schema(tp: Any) -> dict[str, Any]:
    return converter(tp).schema


def same_as_runtime(tp: Any, python_value: Any, given: Any) -> None:
    """The client's wire form of `given` equals the runtime's wire form of `python_value`."""
    assert to_wire(schema(tp), given) == converter(tp).to_wire(python_value)


def refused(tp: Any, given: Any, *fragments: str) -> None:
    with pytest.raises(ArgumentError) as info:
        to_wire(schema(tp), given, "arg")
    message = str(info.value)
    assert message.startswith("arg")
    for fragment in fragments:
        assert fragment in message, message


# --- integers and bools -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "text", "value"),
    [
        (U8, "255", 255),
        (U64, "18446744073709551615", 2**64 - 1),
        (U64, "1_000_000", 10**6),
        (I64, "-5", -5),
        (U32, "0x10", 16),
        (int, "7", 7),
    ],
)
def test_int_works(tp: Any, text: str, value: int) -> None:
    same_as_runtime(tp, value, text)
    same_as_runtime(tp, value, value)


def test_int_fails_when_out_of_range() -> None:
    refused(U8, "256", "256 is outside U8 [0, 255]")
    refused(U64, "-1", "outside U64")


@pytest.mark.parametrize("bad", ["abc", "1.5", "", True, 2.0, None])
def test_int_fails_when_not_an_integer(bad: Any) -> None:
    refused(U32, bad, "expected an integer (U32)")


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("False", False), ("yes", True), ("0", False), (True, True)]
)
def test_bool_works(text: Any, value: bool) -> None:
    same_as_runtime(bool, value, text)


def test_bool_fails_when_not_a_bool() -> None:
    refused(bool, "maybe", "expected a bool")
    refused(bool, 1, "expected a bool")


# --- bytes, strings, accounts -------------------------------------------------------------------


def test_bytes_works_from_hex_text_and_file(tmp_path: Path) -> None:
    same_as_runtime(bytes, b"\x01\xff", "0x01ff")
    same_as_runtime(bytes, b"hello", "hello")
    same_as_runtime(bytes, b"", "0x")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00model\xfe")
    same_as_runtime(bytes, b"\x00model\xfe", f"@{blob}")
    same_as_runtime(H256, bytes(32), "0x" + "00" * 32)


def test_bytes_fails_when_bad_hex_missing_file_or_wrong_length(tmp_path: Path) -> None:
    refused(bytes, "0xabc", "hex digits")
    refused(bytes, f"@{tmp_path / 'missing'}", "cannot read")
    refused(H256, "0x00", "must be 32 long, got 1")
    refused(bounded_bytes(2), "abc", "at most 2 long, got 3")
    refused(bytes, 5, "expected bytes")


def test_str_works_and_checks_its_bound() -> None:
    same_as_runtime(str, "héllo", "héllo")
    same_as_runtime(bounded_str(3), "abc", "abc")
    refused(bounded_str(3), "abcd", "at most 3 long, got 4")
    refused(str, 5, "expected a string")


@pytest.mark.parametrize("given", ["bob", "Bob", "0x" + bytes(BOB).hex(), bytes(BOB).hex()])
def test_account_works_from_dev_name_or_hex(given: str) -> None:
    same_as_runtime(AccountId, BOB, given)


@pytest.mark.parametrize("bad", ["mallory", "0x1234", "", 7])
def test_account_fails_when_not_an_account(bad: Any) -> None:
    refused(AccountId, bad, "expected an account", "alice")


# --- containers ---------------------------------------------------------------------------------


def test_list_works_from_json() -> None:
    same_as_runtime(list[U8], [1, 2, 3], "[1, 2, 3]")
    same_as_runtime(list[AccountId], [ALICE, BOB], '["alice", "bob"]')
    same_as_runtime(list[bytes], [b"\x01", b"x"], '["0x01", "x"]')
    same_as_runtime(tuple[int, ...], (1, 2), "[1, 2]")


def test_list_fails_with_the_position_of_a_bad_item() -> None:
    refused(list[U8], "[1, 300]", "arg[1]: 300 is outside U8")
    refused(list[U8], "{}", "expected a JSON list")
    refused(list[U8], "[1,", "as JSON")
    refused(Annotated[list[U8], ByteLength(most=2)], "[1, 2, 3]", "at most 2 long")


def test_tuple_works_and_checks_its_arity() -> None:
    same_as_runtime(tuple[U8, str], (1, "a"), '[1, "a"]')
    refused(tuple[U8, str], "[1]", "a JSON list of 2")


def test_map_works_from_object_or_pairs_and_sorts_keys() -> None:
    same_as_runtime(dict[str, U32], {"b": 2, "a": 1}, '{"b": 2, "a": 1}')
    same_as_runtime(dict[U32, bool], {10: True, 2: False}, '{"10": true, "2": "no"}')
    same_as_runtime(dict[AccountId, U8], {BOB: 1, ALICE: 2}, '[["bob", 1], ["alice", 2]]')


def test_map_fails_when_a_key_repeats_or_a_value_is_bad() -> None:
    refused(dict[AccountId, U8], '[["bob", 1], ["bob", 2]]', "appears twice")
    refused(dict[str, U8], '{"a": 999}', "outside U8")
    refused(dict[str, U8], "[1, 2]", "JSON object")


def test_option_works() -> None:
    same_as_runtime(U32 | None, None, "none")
    same_as_runtime(U32 | None, None, None)
    same_as_runtime(U32 | None, 5, "5")
    same_as_runtime(list[U8] | None, [1], "[1]")
    refused(U32 | None, "x", "expected an integer")


def test_none_works() -> None:
    same_as_runtime(type(None), None, "none")
    refused(type(None), "5", "expected nothing")


def test_enum_works_by_name_or_value() -> None:
    same_as_runtime(Kind, Kind.TREE, "TREE")
    same_as_runtime(Kind, Kind.TREE, "tree")
    same_as_runtime(Kind, Kind.LINEAR, "1")
    same_as_runtime(Kind, Kind.LINEAR, 1)
    same_as_runtime(Color, Color.BLUE, "blue")
    same_as_runtime(Color, Color.RED, "RED")


def test_enum_fails_listing_the_members() -> None:
    refused(Kind, "3", "one of Kind", "LINEAR (1)", "TREE (2)")
    refused(Color, "green", "RED ('red')")


def test_struct_works_from_object_or_list() -> None:
    value = Outer("m", Inner(Kind.TREE, BOB), [-1, 2], None)
    same_as_runtime(
        Outer,
        value,
        '{"name": "m", "inner": {"kind": "TREE", "owner": "bob"}, "weights": [-1, 2], "note": null}',
    )
    same_as_runtime(Outer, value, '["m", ["TREE", "bob"], [-1, 2], "none"]')


def test_struct_fails_naming_missing_unknown_and_bad_fields() -> None:
    refused(Outer, '{"name": "m"}', "missing inner, weights, note")
    refused(Outer, '{"name": "m", "inner": [1, "bob"], "weights": [], "note": 1, "x": 1}', "unknown x")
    refused(
        Outer,
        '{"name": "m", "inner": {"kind": 9, "owner": "bob"}, "weights": [], "note": 1}',
        "arg.inner.kind",
    )
    refused(Outer, "5", "JSON object with name, inner, weights, note")


def test_call_needs_metadata_and_an_object() -> None:
    call_schema = {"type": "call"}
    with pytest.raises(ArgumentError, match="needs the runtime metadata"):
        to_wire(call_schema, '{"call": "Balances.transfer", "args": {}}', "arg")
    with pytest.raises(ArgumentError, match=re.escape('"call": "Pallet.name"')):
        to_wire(call_schema, '"Balances.transfer"', "arg", lambda n, a, w: [])


def test_unknown_schema_type_is_refused() -> None:
    with pytest.raises(ArgumentError, match="does not know: 'float'"):
        to_wire({"type": "float"}, "1.0", "arg")


def test_describe_names_types() -> None:
    assert describe(schema(list[AccountId])) == "list[AccountId]"
    assert describe(schema(U32 | None)) == "U32 | None"
    assert describe(schema(dict[str, U8])) == "dict[str, U8]"
    assert describe(schema(tuple[U8, H256])) == "tuple[U8, bytes[32]]"
    assert describe(schema(Outer)) == "Outer"
