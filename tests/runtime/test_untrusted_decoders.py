"""Property tests (hypothesis, few examples) of the decoders that see untrusted bytes: whatever they are
given, they return a value or raise their own named error, never anything else, and they are bounded
before they recurse. bench/fuzz.py runs the same decoders on 10^5 mutated real inputs."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import codec
from runtime import dispatch as dispatching
from runtime.block import Block
from runtime.boundedjson import JsonTooDeep, JsonTooLarge, check_json_limits, exceeds_depth, loads_bounded
from runtime.crypto import dev_keypair
from runtime.errors import CodecError, InvalidBlock, InvalidExtrinsic, PalletError
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import ChainSpec, dev_spec
from runtime.storage.backend import MemoryBackend

FEW = settings(max_examples=60, deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=30,
)
# strings full of the characters the depth scan must skip: brackets, quotes and backslashes
tricky_text = st.text(alphabet='[]{}"\\ab', max_size=12)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@FEW
@given(st.recursive(st.integers() | tricky_text, lambda inner: st.lists(inner, max_size=3), max_leaves=40))
def test_depth_scan_is_exact_for_valid_json(value: Any) -> None:
    text = json.dumps(value).encode()
    depth = depth_of(value)
    for limit in range(0, depth + 2):
        assert exceeds_depth(text, limit) == (depth > limit)


@FEW
@given(json_values)
def test_loads_bounded_equals_json_loads_within_the_limits(value: Any) -> None:
    text = json.dumps(value)
    assert loads_bounded(text) == json.loads(text)
    assert loads_bounded(text.encode()) == json.loads(text)


@FEW
@given(st.binary(max_size=200) | st.text(alphabet='[]{}",:\\0123 ae', max_size=200))
def test_loads_bounded_returns_or_raises_a_value_error(data: bytes | str) -> None:
    try:
        value = loads_bounded(data, max_depth=8)
    except ValueError:  # JsonLimitError, JSONDecodeError, UnicodeDecodeError
        return
    assert depth_of(value) <= 8


@pytest.mark.parametrize("depth", [10**5, 10**6])
def test_loads_bounded_refuses_deep_and_large_json_unparsed(depth: int) -> None:
    with pytest.raises(JsonTooDeep, match="deeper than 64 levels"):
        loads_bounded(b"[" * depth + b"]" * depth, max_bytes=None)
    with pytest.raises(JsonTooDeep):
        loads_bounded("[" * depth)  # never closed
    with pytest.raises(JsonTooLarge, match="exceeds the limit of 100 bytes"):
        check_json_limits(b" " * 101, max_bytes=100)
    assert loads_bounded('["' + "[" * depth + '"]', max_bytes=None) == ["[" * depth]  # inside a string


@FEW
@given(st.binary(max_size=300))
def test_codec_unpack_returns_a_canonical_value_or_raises_codec_error(data: bytes) -> None:
    try:
        value = codec.unpack(data)
    except CodecError:
        return
    assert codec.pack(value) == data


@pytest.mark.parametrize("depth", [33, 1_024, 1_025, 10**5])
def test_codec_refuses_nesting_deeper_than_its_limit(depth: int) -> None:
    with pytest.raises(codec.TooDeep, match="deeper than 32 levels"):
        codec.unpack(b"\x91" * depth + b"\xc0")
    assert codec.unpack(b"\x91" * 32 + b"\xc0") is not None


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(dev_spec(), MemoryBackend())


def _transfer(rt: Runtime) -> bytes:
    call = rt.make_call("Balances.transfer", dest=dev_keypair("alice").account, value=5).to_wire()
    return sign_extrinsic(
        dev_keypair("bob"), call, nonce=0, genesis_hash=rt.genesis_hash, spec_version=rt.VERSION.spec_version
    )


@FEW
@given(data=st.data())
def test_a_changed_extrinsic_is_refused_with_a_named_error(runtime: Runtime, data: st.DataObject) -> None:
    valid = _transfer(runtime)
    runtime.validate_transaction(valid)
    index = data.draw(st.integers(0, len(valid) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = valid[:index] + bytes([valid[index] ^ flip]) + valid[index + 1 :]
    with pytest.raises((InvalidExtrinsic, CodecError)):
        runtime.validate_transaction(changed)


@FEW
@given(st.binary(max_size=300))
def test_extrinsic_decoding_raises_only_named_errors(runtime: Runtime, data: bytes) -> None:
    with contextlib.suppress(InvalidExtrinsic, CodecError):
        dispatching.decode_extrinsic(runtime, data)


@FEW
@given(st.binary(max_size=300))
def test_block_decoding_raises_only_codec_errors(data: bytes) -> None:
    with contextlib.suppress(CodecError, InvalidBlock):
        Block.decode(data)


@FEW
@given(json_values)
def test_chain_spec_of_any_json_is_a_spec_or_a_pallet_error(value: Any) -> None:
    with contextlib.suppress(PalletError):
        ChainSpec.from_json(value)
