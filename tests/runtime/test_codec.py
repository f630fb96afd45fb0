"""Tests for runtime.codec: canonical round trips and the rejection of every malformed form, by name."""

from __future__ import annotations

import struct

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import codec
from runtime.codec import NonCanonical, TooLarge, TrailingBytes, Truncated, WrongType
from runtime.errors import CodecError

FAST = settings(max_examples=150, deadline=None)

ints = st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1)
scalars = st.none() | st.booleans() | ints | st.binary(max_size=300) | st.text(max_size=40)
primitives = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6), max_leaves=20)


def raw(obj: object) -> bytes:
    """msgpack's own bytes, bypassing the codec's checks (to build forbidden inputs)."""
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


# --- round trips ------------------------------------------------------------------------------------


@FAST
@given(primitives)
def test_unpack_pack_round_trips_every_primitive(value):
    data = codec.pack(value)
    assert codec.unpack(data) == value
    assert codec.pack(codec.unpack(data)) == data


@FAST
@given(st.binary(max_size=64))
def test_any_accepted_bytes_are_canonical(data):
    """encode(decode(x)) == x for every x the decoder accepts; everything else is a CodecError."""
    try:
        value = codec.unpack(data)
    except CodecError:
        return
    assert codec.pack(value) == data


@FAST
@given(primitives, st.data())
def test_mutated_encodings_are_canonical_or_refused(value, data):
    encoded = bytearray(codec.pack(value))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] = data.draw(st.integers(0, 255))
    try:
        decoded = codec.unpack(bytes(encoded))
    except CodecError:
        return
    assert codec.pack(decoded) == bytes(encoded)


def test_tuples_encode_as_arrays():
    assert codec.pack((1, b"a", "b")) == codec.pack([1, b"a", "b"])
    assert codec.unpack(codec.pack((1, (2, 3)))) == [1, [2, 3]]


def test_bytes_and_str_are_distinct_types():
    assert codec.unpack(codec.pack(b"a")) == b"a"
    assert codec.unpack(codec.pack("a")) == "a"
    assert codec.pack(b"a") != codec.pack("a")


# --- truncated and trailing -------------------------------------------------------------------------


def test_unpack_fails_when_empty():
    with pytest.raises(Truncated):
        codec.unpack(b"")


@FAST
@given(primitives, st.data())
def test_unpack_fails_when_truncated(value, data):
    encoded = codec.pack(value)
    if len(encoded) < 2:
        encoded = codec.pack([value, value])
    cut = data.draw(st.integers(1, len(encoded) - 1))
    with pytest.raises(Truncated):
        codec.unpack(encoded[:cut])


@FAST
@given(primitives, st.binary(min_size=1, max_size=8))
def test_unpack_fails_when_bytes_trail(value, extra):
    with pytest.raises(TrailingBytes):
        codec.unpack(codec.pack(value) + extra)


# --- non-canonical forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\xcc\x01", 1),  # uint8 for a positive fixint
        (b"\xcd\x00\x01", 1),  # uint16
        (b"\xce\x00\x00\x00\x01", 1),  # uint32
        (b"\xcf" + (1).to_bytes(8, "big"), 1),  # uint64
        (b"\xcd\x00\xc8", 200),  # uint16 for a uint8
        (b"\xd0\x05", 5),  # int8 for a positive fixint
        (b"\xd0\xff", -1),  # int8 for a negative fixint
        (b"\xd1\xff\x9c", -100),  # int16 for an int8
        (b"\xd3" + (-5).to_bytes(8, "big", signed=True), -5),  # int64
        (b"\xd9\x01a", "a"),  # str8 for a fixstr
        (b"\xda\x00\x01a", "a"),  # str16
        (b"\xc5\x00\x01a", b"a"),  # bin16 for a length that fits bin8
        (b"\xc6\x00\x00\x00\x01a", b"a"),  # bin32
        (b"\xdc\x00\x01\x01", [1]),  # array16 for a fixarray
        (b"\xdd\x00\x00\x00\x01\x01", [1]),  # array32
        (b"\x91\xcc\x01", [1]),  # a long int inside an array
    ],
)
def test_unpack_fails_when_not_in_the_shortest_form(data, value):
    assert msgpack.unpackb(data, raw=False) == value  # msgpack itself accepts it ...
    with pytest.raises(NonCanonical):  # ... the codec refuses it
        codec.unpack(data)


# --- forbidden types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x80",  # empty fixmap
        b"\x81\x01\x02",  # {1: 2}
        b"\x81\xa1a\x01",  # {"a": 1}
        raw([1, {"a": 1}]),  # a map inside an array
        b"\xde\x00\x00",  # map16
    ],
)
def test_unpack_fails_when_a_map_appears(data):
    with pytest.raises(WrongType):
        codec.unpack(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xcb" + struct.pack(">d", 1.5),  # float64
        b"\xca" + struct.pack(">f", 1.5),  # float32
        raw([1.5]),  # a float inside an array
        raw([[0, [2.0]]]),  # deeper
    ],
)
def test_unpack_fails_when_a_float_appears(data):
    with pytest.raises(WrongType):
        codec.unpack(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xd4\x01\x00",  # fixext1
        b"\xc7\x01\x05\x00",  # ext8
        b"\xd6\xff\x00\x00\x00\x00",  # the timestamp extension (-1), which msgpack decodes natively
        b"\x91\xd6\xff\x00\x00\x00\x00",  # ... inside an array
    ],
)
def test_unpack_fails_when_an_extension_type_appears(data):
    with pytest.raises(WrongType):
        codec.unpack(data)


def test_unpack_fails_when_a_reserved_type_byte_appears():
    with pytest.raises(CodecError):
        codec.unpack(b"\xc1")


@pytest.mark.parametrize(
    "value", [1.5, {"a": 1}, [1, {}], [[2.0]], object(), {1, 2}, msgpack.ExtType(1, b"")]
)
def test_pack_fails_when_the_value_is_not_a_primitive(value):
    with pytest.raises(WrongType):
        codec.pack(value)


@pytest.mark.parametrize("value", [1 << 64, -(1 << 63) - 1])
def test_pack_fails_when_an_int_has_no_msgpack_form(value):
    with pytest.raises(WrongType):
        codec.pack(value)


@pytest.mark.parametrize("value", ["text", 5, None, [b"\x01"]])
def test_unpack_fails_when_the_input_is_not_bytes(value):
    with pytest.raises(WrongType):
        codec.unpack(value)


def test_unpack_accepts_bytearray_and_memoryview():
    data = codec.pack([1, b"x"])
    assert codec.unpack(bytearray(data)) == [1, b"x"]
    assert codec.unpack(memoryview(data)) == [1, b"x"]


# --- lengths and sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xc4\x10ab",  # bin8 claiming 16 bytes, 2 present
        b"\xc6\xff\xff\xff\xffab",  # bin32 claiming 4 GiB
        b"\xdb\xff\xff\xff\xff",  # str32 claiming 4 GiB
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4G items
        b"\xa5abc",  # fixstr claiming 5
        b"\x93\x01\x02",  # fixarray claiming 3 items, 2 present
    ],
)
def test_unpack_fails_when_a_length_exceeds_the_input(data):
    with pytest.raises(Truncated):
        codec.unpack(data)


def test_unpack_fails_when_input_exceeds_max_size():
    data = codec.pack(b"x" * 100)
    assert codec.unpack(data, max_size=len(data)) == b"x" * 100
    with pytest.raises(TooLarge):
        codec.unpack(data, max_size=len(data) - 1)


def test_unpack_default_max_size_applies():
    with pytest.raises(TooLarge):
        codec.unpack(b"\x00" * (codec.DEFAULT_MAX_SIZE + 1))


# --- strings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80"])
def test_unpack_fails_when_a_string_is_not_utf8(payload):
    data = bytes([0xA0 | len(payload)]) + payload
    with pytest.raises(WrongType):
        codec.unpack(data)


def test_codec_errors_are_value_errors_with_one_base():
    for error in (Truncated, TrailingBytes, NonCanonical, WrongType, TooLarge, codec.OutOfRange):
        assert issubclass(error, CodecError)
        assert issubclass(error, ValueError)
