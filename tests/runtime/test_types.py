"""Tests for runtime.types and runtime.block: typed round trips, typed rejections, headers and blocks."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import codec
from runtime.block import Block, Header, extrinsics_root, merkle_root
from runtime.codec import NonCanonical, OutOfRange, TooLarge, WrongType
from runtime.errors import CodecError
from runtime.types import (
    H256,
    I64,
    U8,
    U16,
    U32,
    U64,
    AccountId,
    bounded_bytes,
    bounded_str,
    converter,
    decode,
    encode,
)

FAST = settings(max_examples=100, deadline=None)

Name = bounded_str(8)
Blob = bounded_bytes(16)


class Color(enum.Enum):
    RED = 0
    GREEN = 1
    BLUE = 7


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass(frozen=True)
class Point:
    x: U32
    y: I64
    label: Name
    tags: list[U8]
    owner: AccountId | None
    color: Color


@dataclasses.dataclass(frozen=True)
class Nested:
    points: tuple[Point, ...]
    by_id: dict[U16, bytes]
    mode: Mode
    pair: tuple[U8, str]


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


accounts = st.binary(min_size=32, max_size=32).map(AccountId)
points = st.builds(
    Point,
    x=uint(32),
    y=st.integers(-(1 << 63), (1 << 63) - 1),
    label=st.text(max_size=8),
    tags=st.lists(uint(8), max_size=5),
    owner=st.none() | accounts,
    color=st.sampled_from(Color),
)
nested = st.builds(
    Nested,
    points=st.lists(points, max_size=3).map(tuple),
    by_id=st.dictionaries(uint(16), st.binary(max_size=8), max_size=5),
    mode=st.sampled_from(Mode),
    pair=st.tuples(uint(8), st.text(max_size=5)),
)

CASES: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (U8, uint(8)),
    (U16, uint(16)),
    (U32, uint(32)),
    (U64, uint(64)),
    (I64, st.integers(-(1 << 63), (1 << 63) - 1)),
    (int, st.integers(-(1 << 63), (1 << 64) - 1)),
    (bool, st.booleans()),
    (bytes, st.binary(max_size=100)),
    (Blob, st.binary(max_size=16)),
    (H256, st.binary(min_size=32, max_size=32)),
    (str, st.text(max_size=30)),
    (Name, st.text(max_size=8)),
    (AccountId, accounts),
    (list[U16], st.lists(uint(16), max_size=8)),
    (list[bytes], st.lists(st.binary(max_size=8), max_size=5)),
    (tuple[U8, str, bool], st.tuples(uint(8), st.text(max_size=5), st.booleans())),
    (tuple[U32, ...], st.lists(uint(32), max_size=5).map(tuple)),
    (dict[U32, str], st.dictionaries(uint(32), st.text(max_size=5), max_size=6)),
    (dict[str, list[U8]], st.dictionaries(st.text(max_size=4), st.lists(uint(8), max_size=3), max_size=4)),
    (U32 | None, st.none() | uint(32)),
    (AccountId | None, st.none() | accounts),
    (Color, st.sampled_from(Color)),
    (Mode, st.sampled_from(Mode)),
    (Point, points),
    (Nested, nested),
]


@pytest.mark.parametrize(("tp", "strategy"), CASES, ids=[converter(tp).name for tp, _ in CASES])
def test_typed_values_round_trip(tp, strategy):
    @FAST
    @given(strategy)
    def check(value):
        data = encode(tp, value)
        decoded = decode(tp, data)
        assert decoded == value
        assert type(decoded) is type(value)
        assert encode(tp, decoded) == data  # encode(decode(x)) == x
        assert codec.pack(codec.unpack(data)) == data

    check()


def test_account_id_decodes_as_account_id():
    account = AccountId(bytes(range(32)))
    assert isinstance(decode(AccountId, encode(AccountId, account)), AccountId)
    assert str(account) == "0x" + bytes(range(32)).hex()


@FAST
@given(st.dictionaries(uint(32), st.binary(max_size=4), max_size=8), st.randoms())
def test_dict_encoding_ignores_insertion_order(mapping, rng):
    items = list(mapping.items())
    rng.shuffle(items)
    assert encode(dict[U32, bytes], dict(items)) == encode(dict[U32, bytes], mapping)
    wire = codec.unpack(encode(dict[U32, bytes], mapping))
    keys = [codec.pack(k) for k, _ in wire]
    assert keys == sorted(keys)


# --- rejections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "value"),
    [
        (U8, 256),
        (U8, -1),
        (U16, 1 << 16),
        (U32, 1 << 32),
        (U64, -1),
        (I64, 1 << 63),
        (list[U8], [1, 2, 300]),
        (dict[U8, U8], [[1, 256]]),
    ],
)
def test_decode_fails_when_an_int_is_out_of_range(tp, value):
    with pytest.raises(OutOfRange):
        decode(tp, codec.pack(value))


@pytest.mark.parametrize(("tp", "value"), [(U8, 256), (U32, -1), (I64, 1 << 63)])
def test_encode_fails_when_an_int_is_out_of_range(tp, value):
    with pytest.raises(OutOfRange):
        encode(tp, value)


@pytest.mark.parametrize(
    ("tp", "wire"),
    [
        (U8, True),  # bool is not an int here
        (U8, b"\x01"),
        (U32, "1"),
        (bool, 1),
        (bytes, "text"),
        (str, b"text"),
        (AccountId, bytes(31)),
        (AccountId, "0x" + "00" * 32),
        (list[U8], 5),
        (tuple[U8, U8], [1]),
        (tuple[U8, U8], [1, 2, 3]),
        (dict[U8, U8], [[1]]),
        (dict[U8, U8], [1, 2]),
        (Color, 3),
        (Color, "RED"),
        (Color, True),
        (Mode, "medium"),
        (Mode, 0),
        (Point, [1, 2, "a", [], None]),  # a field missing
        (Point, [1, 2, "a", [], None, 0, 0]),  # a field too many
        (Point, [1, 2, "a", [], b"short", 0]),  # a bad nested field
        (U32 | None, b""),
    ],
)
def test_decode_fails_when_the_type_is_wrong(tp, wire):
    with pytest.raises(WrongType):
        decode(tp, codec.pack(wire))


@pytest.mark.parametrize(
    ("tp", "value"),
    [(U8, True), (U8, 1.0), (bytes, "x"), (str, b"x"), (Point, (1, 2)), (Color, 0), (dict[U8, U8], [(1, 2)])],
)
def test_encode_fails_when_the_type_is_wrong(tp, value):
    with pytest.raises(WrongType):
        encode(tp, value)


@pytest.mark.parametrize(
    ("tp", "value"),
    [(Blob, b"x" * 17), (Name, "123456789"), (H256, b"x" * 31), (H256, b"x" * 33)],
)
def test_decode_fails_when_a_length_bound_is_broken(tp, value):
    with pytest.raises(TooLarge):
        decode(tp, codec.pack(value))
    with pytest.raises(TooLarge):
        encode(tp, value)


def test_decode_fails_when_dict_keys_are_unsorted():
    assert decode(dict[U8, U8], codec.pack([[1, 0], [2, 0]])) == {1: 0, 2: 0}
    with pytest.raises(NonCanonical):
        decode(dict[U8, U8], codec.pack([[2, 0], [1, 0]]))


def test_decode_fails_when_dict_keys_repeat():
    with pytest.raises(NonCanonical):
        decode(dict[U8, U8], codec.pack([[1, 0], [1, 5]]))


def test_decode_fails_when_dict_keys_are_sorted_by_value_not_by_encoding():
    # "b" (0xa1 0x62) sorts before "aa" (0xa2 0x61 0x61): the length is in the header.
    assert decode(dict[str, U8], encode(dict[str, U8], {"aa": 1, "b": 2})) == {"aa": 1, "b": 2}
    with pytest.raises(NonCanonical):
        decode(dict[str, U8], codec.pack([["aa", 1], ["b", 2]]))


def test_decode_fails_when_input_exceeds_max_size():
    data = encode(bytes, b"x" * 64)
    assert decode(bytes, data, max_size=len(data)) == b"x" * 64
    with pytest.raises(TooLarge):
        decode(bytes, data, max_size=len(data) - 1)


def test_decode_fails_when_a_typed_string_is_not_utf8():
    with pytest.raises(WrongType):
        decode(str, b"\xa2\xff\xfe")


def test_decode_fails_when_a_typed_value_is_not_canonical():
    with pytest.raises(NonCanonical):
        decode(U32, b"\xcd\x00\x05")


def test_unsupported_annotations_have_no_converter():
    with pytest.raises(TypeError):
        converter(float)
    with pytest.raises(TypeError):
        converter(U8 | str)


# --- headers and blocks ----------------------------------------------------------------------------

hashes = st.binary(min_size=32, max_size=32)
headers = st.builds(
    Header,
    parent_hash=hashes,
    number=uint(32),
    state_root=hashes,
    extrinsics_root=hashes,
    timestamp=uint(64),
    author=accounts,
)
blocks = st.builds(
    Block,
    header=headers,
    extrinsics=st.lists(st.binary(max_size=50), max_size=5).map(tuple),
    seal=st.binary(min_size=64, max_size=64),
)


@FAST
@given(headers)
def test_header_round_trips(header):
    data = header.encode()
    decoded = Header.decode(data)
    assert decoded == header
    assert decoded.encode() == data
    assert decoded.hash() == header.hash()


@FAST
@given(blocks)
def test_block_round_trips(block):
    data = block.encode()
    decoded = Block.decode(data)
    assert decoded == block
    assert decoded.encode() == data
    assert decoded.hash() == block.header.hash()


def sample_block() -> Block:
    header = Header(bytes(32), 1, b"\x01" * 32, b"\x02" * 32, 1_000, AccountId(b"\x03" * 32))
    return Block(header, (b"\x90", b"abc"), b"\x04" * 64)


def block_wire(block: Block) -> list[Any]:
    wire: list[Any] = codec.unpack(block.encode())
    return wire


@pytest.mark.parametrize("seal", [b"\x04" * 63, b"\x04" * 65, b"", "x" * 64, None])
def test_block_decode_fails_when_the_seal_is_not_64_bytes(seal):
    wire = block_wire(sample_block())
    wire[2] = seal
    with pytest.raises(WrongType):
        Block.decode(codec.pack(wire))


@pytest.mark.parametrize("extrinsics", [[b"ok", 5], [b"ok", "text"], [[b"nested"]], b"not a list", None])
def test_block_decode_fails_when_extrinsics_are_not_bytes(extrinsics):
    wire = block_wire(sample_block())
    wire[1] = extrinsics
    with pytest.raises(WrongType):
        Block.decode(codec.pack(wire))


@pytest.mark.parametrize("wire", [[], [1, 2], [1, 2, 3, 4], "block"])
def test_block_decode_fails_when_not_a_triple(wire):
    with pytest.raises(WrongType):
        Block.decode(codec.pack(wire))


def test_block_decode_fails_when_the_header_is_malformed():
    wire = block_wire(sample_block())
    wire[0][1] = 1 << 32  # number beyond u32
    with pytest.raises(OutOfRange):
        Block.decode(codec.pack(wire))
    wire = block_wire(sample_block())
    wire[0][0] = b"short"  # parent hash not 32 bytes
    with pytest.raises(TooLarge):
        Block.decode(codec.pack(wire))
    wire = block_wire(sample_block())
    del wire[0][5]  # author missing
    with pytest.raises(WrongType):
        Block.decode(codec.pack(wire))


def test_block_decode_fails_when_bytes_are_malformed():
    data = sample_block().encode()
    with pytest.raises(CodecError):
        Block.decode(data[:-1])
    with pytest.raises(CodecError):
        Block.decode(data + b"\x00")
    with pytest.raises(CodecError):
        Header.decode(sample_block().header.encode()[:-3])


def test_header_hash_changes_with_every_field():
    header = sample_block().header
    changed = [
        dataclasses.replace(header, parent_hash=b"\x09" * 32),
        dataclasses.replace(header, number=2),
        dataclasses.replace(header, state_root=b"\x09" * 32),
        dataclasses.replace(header, extrinsics_root=b"\x09" * 32),
        dataclasses.replace(header, timestamp=1_001),
        dataclasses.replace(header, author=AccountId(b"\x09" * 32)),
    ]
    assert len({header.hash(), *(h.hash() for h in changed)}) == 7


def test_extrinsics_root_commits_to_order_and_count():
    xts = [b"a", b"b", b"c"]
    root = extrinsics_root(xts)
    assert extrinsics_root(list(xts)) == root
    assert extrinsics_root([b"b", b"a", b"c"]) != root
    assert extrinsics_root([b"a", b"b"]) != root
    assert extrinsics_root([b"a", b"b", b"c", b"c"]) != root
    assert merkle_root([]) != merkle_root([bytes(32)])


@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=50), st.integers(0, 49),
       st.sampled_from([True, 1.5, None, "1", 1 << 63, -(1 << 63) - 1]))
def test_int_lists_are_checked_in_bulk_exactly_as_item_by_item(values, position, bad):
    """Lists of bounded ints take a bulk path; it must accept and refuse exactly what the items would."""
    conv = converter(list[I64])
    assert conv.from_wire(list(values)) == values and conv.to_wire(values) == values
    spoiled = [*values[:position], bad, *values[position:]]
    with pytest.raises(CodecError):
        conv.from_wire(spoiled)
    with pytest.raises(CodecError):
        conv.to_wire(spoiled)


def test_codec_refuses_a_float_inside_a_list_of_ints():
    with pytest.raises(WrongType):
        codec.pack([1, 2, [3, 4.5]])
    with pytest.raises(WrongType):
        codec.unpack(msgpack.packb([1, [2, 3.0]]))
    assert codec.unpack(codec.pack([1, 2, [3, 4]])) == [1, 2, [3, 4]]
