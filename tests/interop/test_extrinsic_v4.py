"""Substrate extrinsic format v4 through the runtime: decoding refuses malformed bytes with named errors
(also under fuzzing), and the metadata's storage layout matches Substrate's hashers."""

from __future__ import annotations

import functools
import struct
import types
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmu.node.substrate.storage import twox128
from runtime import fees
from runtime.crypto import blake2_256, dev_keypair
from runtime.dispatch import check_extrinsic, decode_extrinsic
from runtime.errors import (
    BadArguments,
    BadFormat,
    BadSignature,
    FutureNonce,
    InvalidExtrinsic,
    StaleNonce,
    UnknownCall,
)
from runtime.executive import Runtime
from runtime.genesis import dev_spec
from runtime.scale import has_compact_length_prefix
from runtime.scale.extrinsic_v4 import (
    MortalEra,
    UnsupportedAddress,
    UnsupportedSignature,
    decode_call,
    decode_v4,
    encode_call,
    signing_payload,
)
from runtime.storage.backend import MemoryBackend
from runtime.testing import MockRuntime, build_runtime

AMOUNT = 10**12


@pytest.fixture(scope="module")
def mock() -> Iterator[MockRuntime]:
    yield build_runtime()


def compact(value: int) -> bytes:
    """SCALE Compact<u> (shortest form)."""
    if value < 1 << 6:
        return bytes([value << 2])
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    raw = value.to_bytes((value.bit_length() + 7) // 8, "little")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def v4_transfer(
    mock: MockRuntime,
    *,
    sender: str = "alice",
    nonce: int = 0,
    tip: int = 0,
    era: bytes = b"\x00",
    birth_hash: bytes | None = None,
    spec_version: int | None = None,
    genesis_hash: bytes | None = None,
) -> bytes:
    """A signed v4 Balances.transfer to bob as a wallet builds it (immortal unless `era` says otherwise);
    the keyword arguments set what the signer puts in the payload's signed extensions."""
    rt = mock.runtime
    call = rt.make_call("Balances.transfer", dest=mock.account("bob"), value=AMOUNT)
    call_bytes = encode_call(rt, call)
    extra = era + compact(nonce) + compact(tip)
    spec = rt.VERSION.spec_version if spec_version is None else spec_version
    additional = struct.pack("<II", spec, rt.VERSION.transaction_version)
    genesis = rt.genesis_hash if genesis_hash is None else genesis_hash
    payload = call_bytes + extra + additional + genesis + (birth_hash or genesis)
    if len(payload) > 256:
        payload = blake2_256(payload)
    key = dev_keypair(sender)
    body = b"\x84\x00" + bytes(key.account) + b"\x00" + key.sign(payload) + extra + call_bytes
    return compact(len(body)) + body


def mortal_era(period: int, current: int) -> bytes:
    """Substrate's two-byte mortal era for a signer at block `current`."""
    phase = current % period
    encoded = min(15, max(1, period.bit_length() - 2)) | ((phase // max(period >> 12, 1)) << 4)
    return encoded.to_bytes(2, "little")


def test_decode_v4_works(mock: MockRuntime) -> None:
    xt = decode_v4(mock.runtime, v4_transfer(mock, nonce=3, tip=7))
    assert xt.call.spec.full_name == "Balances.transfer"
    assert xt.call.kwargs() == {"dest": mock.account("bob"), "value": AMOUNT}
    assert (xt.nonce, xt.tip, xt.era) == (3, 7, MortalEra(0, 0))
    rt = mock.runtime
    payload = signing_payload(
        xt, rt.VERSION.spec_version, rt.VERSION.transaction_version, rt.genesis_hash, rt.genesis_hash
    )
    assert payload.startswith(xt.call_bytes + xt.extra_bytes)


def test_mortal_era_birth_follows_substrate() -> None:
    era = MortalEra(64, 10)
    assert era.birth(10) == 10 and era.birth(73) == 10 and era.birth(74) == 74


def _replace(data: bytes, offset: int, new: bytes) -> bytes:
    """Change the body (after the 2-byte length prefix) at `offset` and fix the length prefix."""
    body = data[2:]
    body = body[:offset] + new + body[offset + len(new) :]
    return compact(len(body)) + body


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (lambda d: d[:-3], BadFormat, "length prefix"),
        (lambda d: _replace(d, 0, b"\x04"), BadFormat, "unsigned"),
        (lambda d: _replace(d, 0, b"\x85"), BadFormat, "version byte 0x85"),
        (lambda d: _replace(d, 1, b"\x01"), UnsupportedAddress, "MultiAddress::Id"),
        (lambda d: _replace(d, 34, b"\x01"), UnsupportedSignature, "Sr25519"),
        (lambda d: _replace(d, 34, b"\x02"), UnsupportedSignature, "Ecdsa"),
        (lambda d: _replace(d, 99, b"\x51\x00"), BadFormat, "mortal era"),
        (lambda d: _replace(d, 99 + 2, b"\x01\x00"), BadFormat, "shortest compact"),
        (lambda d: _replace(d, 99 + 3, b"\x63"), UnknownCall, "pallet 99"),
        (lambda d: d[:2] + d[2:] + b"\x00", BadFormat, "length prefix"),
    ],
)
def test_decode_v4_fails_when_bytes_are_malformed(mock: MockRuntime, mutate, error, words) -> None:  # type: ignore[no-untyped-def]
    data = v4_transfer(mock)
    with pytest.raises(error, match=words):
        decode_v4(mock.runtime, mutate(data))


def test_decode_v4_fails_when_arguments_are_cut_or_padded(mock: MockRuntime) -> None:
    data = v4_transfer(mock)
    cut = data[2:-4]
    with pytest.raises((BadArguments, BadFormat)):
        decode_v4(mock.runtime, compact(len(cut)) + cut)
    padded = data[2:] + b"\x00\x00"
    with pytest.raises(BadFormat, match="left over"):
        decode_v4(mock.runtime, compact(len(padded)) + padded)


@functools.cache
def idle_runtime() -> Runtime:
    """A dev runtime with no block open (what the pool validates against)."""
    return Runtime(dev_spec(), MemoryBackend())


@functools.cache
def shared_mock() -> MockRuntime:
    """One mock runtime for the fuzz examples (building one per example would dominate the run)."""
    return build_runtime()


def decode_or_name_the_error(rt: Runtime, data: bytes) -> None:
    """Decoding either gives a call that re-encodes to the same bytes, or a named InvalidExtrinsic."""
    try:
        xt = decode_v4(rt, data)
    except InvalidExtrinsic as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
    else:
        assert encode_call(rt, xt.call) == xt.call_bytes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_v4_refuses_random_bytes_with_named_errors(data: bytes) -> None:
    decode_or_name_the_error(shared_mock().runtime, data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=170), st.binary(min_size=1, max_size=4))
def test_decode_v4_refuses_mutated_extrinsics_with_named_errors(position: int, new: bytes) -> None:
    mock = shared_mock()
    data = bytearray(v4_transfer(mock))
    data[position : position + len(new)] = new
    decode_or_name_the_error(mock.runtime, bytes(data))


def test_apply_v4_transfer_works_with_native_checks_and_fees(mock: MockRuntime) -> None:
    rt = mock.runtime
    sender = mock.account("charlie")
    before = rt.system.account_info(sender)
    data = v4_transfer(mock, sender="charlie", nonce=before.nonce, tip=5)
    result = mock.push(data)
    assert result.ok, result.message
    after = rt.system.account_info(sender)
    assert after.nonce == before.nonce + 1
    weight = (
        rt.fees.extrinsic_base_weight
        + rt.make_call("Balances.transfer", dest=mock.account("bob"), value=AMOUNT).weight()
    )
    assert result.fee <= fees.fee_for(rt.fees, len(data), weight, 5)
    assert before.free - after.free == AMOUNT + result.fee


def _check(mock: MockRuntime, data: bytes) -> None:
    rt = mock.runtime
    check_extrinsic(rt, decode_extrinsic(rt, data), rt.block_number)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"spec_version": 999}, BadSignature, "format-v4 payload"),
        ({"genesis_hash": bytes(32)}, BadSignature, "format-v4 payload"),
        ({"nonce": 7}, FutureNonce, "ahead"),
    ],
)
def test_check_v4_fails_when_signed_extensions_are_wrong(mock: MockRuntime, change, error, words) -> None:  # type: ignore[no-untyped-def]
    nonce = mock.runtime.system.account_info(mock.account("dave")).nonce
    with pytest.raises(error, match=words):
        _check(mock, v4_transfer(mock, sender="dave", **{"nonce": nonce, **change}))


def test_check_v4_fails_when_nonce_was_used(mock: MockRuntime) -> None:
    rt = mock.runtime
    data = v4_transfer(mock, sender="eve", nonce=rt.system.account_info(mock.account("eve")).nonce)
    assert mock.push(data).ok
    with pytest.raises(StaleNonce):
        _check(mock, data)


def test_check_v4_mortal_era_signs_its_birth_block(mock: MockRuntime) -> None:
    mock.next_block()
    mock.next_block()
    rt = mock.runtime
    birth = rt.block_number - 1
    birth_hash = rt.block_hash(birth)
    assert birth_hash is not None
    nonce = rt.system.account_info(mock.account("ferdie")).nonce
    era = mortal_era(64, birth)
    _check(mock, v4_transfer(mock, sender="ferdie", nonce=nonce, era=era, birth_hash=birth_hash))
    with pytest.raises(BadSignature):
        _check(mock, v4_transfer(mock, sender="ferdie", nonce=nonce, era=era, birth_hash=bytes(32)))


def test_check_v4_fails_when_mortal_era_has_passed(mock: MockRuntime) -> None:
    """As in Substrate, an era is periodic: after it passes, the same era names a later birth block, whose
    hash the signer did not sign, so the extrinsic is refused as a bad signature (Substrate's BadProof)."""
    rt = mock.runtime
    birth = rt.block_number - 1
    era = mortal_era(4, birth)
    for _ in range(4):
        mock.next_block()
    signed_birth = rt.block_hash(birth)
    with pytest.raises(BadSignature):
        _check(mock, v4_transfer(mock, sender="ferdie", era=era, birth_hash=signed_birth))


def test_twox128_matches_substrate() -> None:
    # well-known Substrate prefix: twox128("System") ++ twox128("Account")
    assert (twox128(b"System") + twox128(b"Account")).hex() == (
        "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
    )


@pytest.mark.parametrize("remark", [b"0x1234", b"plain text", b"\xff\xfe", b""])
def test_decode_call_keeps_bytes_arguments_exact(mock: MockRuntime, remark: bytes) -> None:
    """scalecodec shows UTF-8 bytes as text; a bytes argument must come back as the very same bytes."""
    rt = mock.runtime
    call = rt.make_call("System.remark", remark=remark)
    assert decode_call(rt, encode_call(rt, call)).args == (remark,)


def test_decode_call_takes_a_call_as_argument(mock: MockRuntime) -> None:
    rt = mock.runtime
    inner = rt.make_call("Balances.force_set_balance", who=mock.account("bob"), new_free=AMOUNT)
    call = rt.make_call("Sudo.sudo", call=inner)
    decoded = decode_call(rt, encode_call(rt, call))
    assert decoded.args[0].spec.full_name == "Balances.force_set_balance"
    assert decoded.args[0].args == inner.args


def test_decode_call_fails_when_calls_nest_too_deep(mock: MockRuntime) -> None:
    rt = mock.runtime
    call = rt.make_call("System.remark", remark=b"x")
    for _ in range(6):
        call = rt.make_call("Sudo.sudo", call=call)
    with pytest.raises(BadFormat, match="nested"):
        decode_call(rt, encode_call(rt, call))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_changed_v4_extrinsic_is_refused_with_a_named_error(data: st.DataObject) -> None:
    """Every byte of a signed v4 extrinsic is covered: changing any one is refused by the pool's check."""
    rt = idle_runtime()
    holder: Any = types.SimpleNamespace(runtime=rt, account=MockRuntime.account)
    valid = v4_transfer(holder, sender="bob")
    rt.validate_transaction(valid)
    index = data.draw(st.integers(0, len(valid) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = valid[:index] + bytes([valid[index] ^ flip]) + valid[index + 1 :]
    with pytest.raises(InvalidExtrinsic):
        rt.validate_transaction(changed)


def test_v4_and_native_extrinsics_are_told_apart_by_the_length_prefix(mock: MockRuntime) -> None:
    """A large v4 extrinsic may open with 0x92 or 0x98, the first bytes of native ones: the compact
    length that counts exactly the rest is what makes bytes v4."""
    rt = mock.runtime
    alice = dev_keypair("alice")
    for size in range(16_300, 16_500):
        call_bytes = encode_call(rt, rt.make_call("System.remark", remark=b"\x00" * size))
        extra = b"\x00" + compact(0) + compact(0)
        body = b"\x84\x00" + bytes(alice.account) + b"\x00" + bytes(64) + extra + call_bytes
        data = compact(len(body)) + body
        if data[0] == 0x92:
            break
    assert data[0] == 0x92
    assert has_compact_length_prefix(data)
    assert decode_extrinsic(rt, data).v4 is not None
    native = mock.sign("alice", "System.remark", remark=b"x")
    assert native[0] == 0x98 and not has_compact_length_prefix(native)
