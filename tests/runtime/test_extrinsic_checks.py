"""Every validity check of an extrinsic refuses with its named error, in a block (MockRuntime.push) and
in the pool (Runtime.validate_transaction on a runtime with no block open)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from runtime import codec
from runtime.crypto import Keypair, blake2_256, dev_keypair
from runtime.dispatch import Checked
from runtime.errors import (
    BadArguments,
    BadFormat,
    BadOriginKind,
    BadSignature,
    CannotPayFees,
    ExhaustsResources,
    ExpiredEra,
    ExtrinsicTooLong,
    FutureNonce,
    InvalidExtrinsic,
    NotYetValidEra,
    StaleNonce,
    UnknownCall,
    WrongGenesis,
)
from runtime.executive import Runtime
from runtime.extrinsic import Era, encode_inherent, sign_extrinsic
from runtime.genesis import ChainSpec, FeeConfig, dev_spec
from runtime.storage.backend import MemoryBackend
from runtime.testing import MockRuntime, build_runtime
from runtime.testing.mock import BLOCK_TIME_MS, GENESIS_TIME_MS

ALICE = dev_keypair("alice")
BOB = dev_keypair("bob")
REMARK = [0, 0, [b"hello"]]  # System.remark(b"hello")
TRANSFER_TO_BOB = [1, 0, [bytes(BOB.account), 10**12]]  # Balances.transfer(bob, 1 token)


class Chain:
    """The same chain twice: a mock runtime with a block open and an idle runtime for the pool."""

    def __init__(self, spec: ChainSpec) -> None:
        self.mock: MockRuntime = build_runtime(spec=spec)
        self.pool = Runtime(spec, MemoryBackend())
        assert self.mock.runtime.genesis_hash == self.pool.genesis_hash

    @property
    def genesis(self) -> bytes:
        return self.pool.genesis_hash

    def sign(self, pair: Keypair, call: list[Any], nonce: int = 0, **kwargs: Any) -> bytes:
        kwargs.setdefault("genesis_hash", self.genesis)
        kwargs.setdefault("spec_version", self.pool.VERSION.spec_version)
        return sign_extrinsic(pair, call, nonce=nonce, **kwargs)

    def open_block(self, number: int) -> None:
        """Open block `number` in the mock; the pool runtime gets the same blocks up to number - 1."""
        self.mock.run_to_block(number)
        while self.pool.head.number < number - 1:
            n = self.pool.head.number + 1
            builder = self.pool.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS * n, ALICE.account)
            self.pool.commit(builder.finish(ALICE))
        assert self.pool.head.hash() == self.mock.runtime.head.hash()

    def in_block(self, data: bytes) -> Any:
        """Push into the mock's open block; a refusal must leave the block as it was."""
        root, count = self.mock.state_root(), len(self.mock.events())
        try:
            return self.mock.push(data)
        except InvalidExtrinsic:
            assert self.mock.state_root() == root
            assert len(self.mock.events()) == count
            raise

    def in_pool(self, data: bytes) -> Checked:
        return self.pool.validate_transaction(data)


@pytest.fixture
def chain() -> Chain:
    return Chain(dev_spec())


@pytest.fixture(params=["block", "pool"])
def check(request, chain) -> Callable[[bytes], Any]:
    return chain.in_block if request.param == "block" else chain.in_pool


def test_a_valid_extrinsic_passes_both_paths(chain):
    data = chain.sign(ALICE, REMARK)
    checked = chain.in_pool(data)
    assert not checked.is_future
    assert checked.weight == chain.pool.fees.extrinsic_base_weight + 10_000 + 5
    assert chain.in_block(data).ok


# --- format --------------------------------------------------------------------------------------


def rewire(data: bytes, change: Callable[[list[Any]], Any]) -> bytes:
    wire = codec.unpack(data)
    result = change(wire)
    return codec.pack(wire if result is None else result)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\xff\x00garbage", b"\xc1", b"\x92\x01", b"\x80", b"\xcb" + bytes(8), b"\x90", codec.pack(5)],
)
def test_check_fails_when_bytes_are_garbage(check, garbage):
    with pytest.raises(BadFormat):
        check(garbage)


def test_check_fails_when_the_encoding_is_not_canonical(chain, check):
    data = chain.sign(ALICE, REMARK)
    assert data[0] == 0x98  # fixarray of 8
    with pytest.raises(BadFormat):
        check(b"\xdc\x00\x08" + data[1:])  # the same array with an array16 header


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w[:-1],  # a field short
        lambda w: [*w, 0],  # a field too many
        lambda w: [0, *w[1:]],  # inherent version with signed fields
        lambda w: [2, *w[1:]],  # unknown version
        lambda w: [True, *w[1:]],  # `true` is not the version 1
    ],
    ids=["short", "long", "inherent-version", "unknown-version", "bool-version"],
)
def test_check_fails_when_fields_are_wrong(chain, check, change):
    with pytest.raises(BadFormat):
        check(rewire(chain.sign(ALICE, REMARK), change))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (1, bytes(31)),  # signer
        (1, "alice"),
        (2, bytes(63)),  # signature
        (3, [0]),  # era
        (3, [0, -1]),
        (3, [5, 0]),  # an immortal era has birth 0
        (4, -1),  # nonce
        (4, 1 << 32),
        (5, -1),  # tip
        (6, b"\x00" * 5),  # genesis tag
        (7, [0, 0]),  # call without arguments list
    ],
)
def test_check_fails_when_a_field_is_malformed(chain, check, field, value):
    def change(wire: list[Any]) -> None:
        wire[field] = value

    with pytest.raises(BadFormat):
        check(rewire(chain.sign(ALICE, REMARK), change))


def test_check_fails_when_the_extrinsic_is_too_long():
    chain = Chain(dataclasses.replace(dev_spec(), fees=FeeConfig(max_extrinsic_length=200)))
    assert chain.in_block(chain.sign(ALICE, [0, 0, [b"x" * 50]])).ok
    data = chain.sign(ALICE, [0, 0, [b"x" * 300]], nonce=0)
    for path in (chain.in_block, chain.in_pool):
        with pytest.raises(ExtrinsicTooLong):
            path(data)
        with pytest.raises(ExtrinsicTooLong):
            path(b"\xff" * 201)  # checked before decoding


# --- the call ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call", [[99, 0, []], [3, 0, []], [0, 99, []], [1, 77, []], [0, False, [b"hi"]], [False, 0, [b"hi"]]]
)
def test_check_fails_when_the_call_is_unknown(chain, check, call):
    with pytest.raises(UnknownCall):
        check(chain.sign(ALICE, call))


@pytest.mark.parametrize(
    "call",
    [
        [0, 0, []],  # remark without its argument
        [0, 0, [b"a", b"b"]],  # one argument too many
        [0, 0, ["text"]],  # str where bytes are declared
        [0, 0, [b"x" * (64 * 1024 + 1)]],  # longer than MAX_REMARK
        [1, 0, [bytes(31), 1]],  # dest not an account id
        [1, 0, [bytes(BOB.account), -1]],  # value out of u64
        [1, 0, [bytes(BOB.account), True]],  # bool where an int is declared
        [2, 0, [[9, 9, []]]],  # Sudo.sudo of an unknown inner call
    ],
)
def test_check_fails_when_arguments_are_bad(chain, check, call):
    with pytest.raises(BadArguments):
        check(chain.sign(ALICE, call))


def test_check_fails_when_an_inherent_call_is_signed(chain, check):
    set_timestamp = [0, 1, [GENESIS_TIME_MS]]
    with pytest.raises(BadOriginKind):
        check(chain.sign(ALICE, set_timestamp))


def test_check_fails_when_a_signed_only_call_is_unsigned(chain, check):
    with pytest.raises(BadOriginKind):
        check(encode_inherent(REMARK))


def test_pool_refuses_inherents(chain):
    with pytest.raises(InvalidExtrinsic):
        chain.in_pool(chain.pool.timestamp_inherent(GENESIS_TIME_MS + BLOCK_TIME_MS))


# --- chain, era and signature --------------------------------------------------------------------


def test_check_fails_when_made_for_another_chain(chain, check):
    other = blake2_256(b"another chain")
    with pytest.raises(WrongGenesis):
        check(chain.sign(ALICE, REMARK, genesis_hash=other))


def test_check_fails_when_the_genesis_tag_is_changed(chain, check):
    def change(wire: list[Any]) -> None:
        wire[6] = bytes(4)

    with pytest.raises(WrongGenesis):
        check(rewire(chain.sign(ALICE, REMARK), change))


@pytest.mark.parametrize("path", ["block", "pool"])
def test_mortal_eras_are_valid_only_inside_their_window(chain, path):
    chain.open_block(5)  # blocks 1..4 exist, block 5 is being built
    check = chain.in_block if path == "block" else chain.in_pool

    def mortal(birth: int, period: int, nonce: int = 0) -> bytes:
        birth_hash = chain.pool.block_hash(birth) or b""
        return chain.sign(ALICE, REMARK, nonce=nonce, era=Era(birth, period), birth_hash=birth_hash)

    with pytest.raises(ExpiredEra):
        check(mortal(1, 2))  # valid in block 2 only
    with pytest.raises(ExpiredEra):
        check(mortal(1, 4))  # valid in blocks 2..4
    with pytest.raises(NotYetValidEra):
        check(mortal(5, 64))  # born in the block being built
    with pytest.raises(NotYetValidEra):
        check(mortal(9, 64))
    assert check(mortal(1, 5)) is not None  # valid in blocks 2..5
    assert check(mortal(4, 64, nonce=1 if path == "block" else 0)) is not None


def test_check_fails_when_a_mortal_era_names_another_birth_block(chain, check):
    chain.open_block(3)
    data = chain.sign(ALICE, REMARK, era=Era(1, 64), birth_hash=chain.pool.block_hash(2))
    with pytest.raises(BadSignature):
        check(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [(7, [0, 0, [b"hellO"]]), (4, 1), (5, 1), (3, [0, 64])],
    ids=["call", "nonce", "tip", "era"],
)
def test_check_fails_when_the_signed_payload_is_tampered(chain, check, field, value):
    def change(wire: list[Any]) -> None:
        wire[field] = value

    with pytest.raises(BadSignature):
        check(rewire(chain.sign(ALICE, REMARK), change))


def test_check_fails_when_signed_by_another_key(chain, check):
    by_bob = chain.sign(BOB, REMARK)

    def change(wire: list[Any]) -> None:
        wire[1] = bytes(ALICE.account)

    with pytest.raises(BadSignature):
        check(rewire(by_bob, change))


def test_check_fails_when_the_signature_is_corrupted(chain, check):
    def change(wire: list[Any]) -> None:
        wire[2] = bytes([wire[2][0] ^ 1]) + wire[2][1:]

    with pytest.raises(BadSignature):
        check(rewire(chain.sign(ALICE, REMARK), change))


def test_check_fails_when_signed_for_another_spec_version(chain, check):
    with pytest.raises(BadSignature):
        check(chain.sign(ALICE, REMARK, spec_version=chain.pool.VERSION.spec_version + 1))


def test_long_payloads_are_signed_through_their_hash(chain, check):
    long_remark = [0, 0, [b"x" * 1000]]
    assert check(chain.sign(ALICE, long_remark)) is not None

    def change(wire: list[Any]) -> None:
        wire[7] = [0, 0, [b"y" * 1000]]

    with pytest.raises(BadSignature):
        check(rewire(chain.sign(ALICE, long_remark), change))


# --- nonces ----------------------------------------------------------------------------------------


def test_block_refuses_a_stale_nonce(chain):
    assert chain.in_block(chain.sign(ALICE, REMARK, nonce=0)).ok
    with pytest.raises(StaleNonce):
        chain.in_block(chain.sign(ALICE, REMARK, nonce=0))
    assert chain.in_block(chain.sign(ALICE, REMARK, nonce=1)).ok


def test_block_refuses_a_future_nonce(chain):
    with pytest.raises(FutureNonce):
        chain.in_block(chain.sign(ALICE, REMARK, nonce=1))
    assert chain.mock.account_info("alice").nonce == 0


def test_pool_refuses_a_stale_nonce_and_accepts_a_future_one(chain):
    builder = chain.pool.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS, ALICE.account)
    assert builder.push(chain.sign(ALICE, REMARK, nonce=0)).ok
    chain.pool.commit(builder.finish(ALICE))
    with pytest.raises(StaleNonce):
        chain.in_pool(chain.sign(ALICE, REMARK, nonce=0))
    current = chain.in_pool(chain.sign(ALICE, REMARK, nonce=1))
    assert not current.is_future
    assert current.account_nonce == 1
    future = chain.in_pool(chain.sign(ALICE, REMARK, nonce=3))
    assert future.is_future
    assert future.extrinsic.nonce == 3


def test_pool_refuses_while_a_block_is_open(chain):
    builder = chain.pool.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS, ALICE.account)
    with pytest.raises(RuntimeError):
        chain.in_pool(chain.sign(ALICE, REMARK))
    builder.abandon()
    assert chain.in_pool(chain.sign(ALICE, REMARK)) is not None


# --- resources and fees ----------------------------------------------------------------------------


def test_check_fails_when_the_weight_can_never_fit():
    fees = FeeConfig(max_block_weight=FeeConfig().extrinsic_base_weight + 10_000)
    chain = Chain(dataclasses.replace(dev_spec(), fees=fees))
    for path in (chain.in_block, chain.in_pool):
        with pytest.raises(ExhaustsResources):
            path(chain.sign(ALICE, [0, 0, [b"x"]]))  # weight base + 10_001
    assert chain.in_pool(chain.sign(ALICE, [0, 0, [b""]])) is not None  # exactly the limit


def test_block_refuses_an_extrinsic_when_the_block_weight_is_used_up():
    fees = FeeConfig(max_block_weight=2 * (FeeConfig().extrinsic_base_weight + 40_000) + 5_000)
    chain = Chain(dataclasses.replace(dev_spec(), fees=fees))
    assert chain.in_block(chain.sign(ALICE, TRANSFER_TO_BOB, nonce=0)).ok
    assert chain.in_block(chain.sign(ALICE, TRANSFER_TO_BOB, nonce=1)).ok
    third = chain.sign(ALICE, TRANSFER_TO_BOB, nonce=2)
    with pytest.raises(ExhaustsResources):
        chain.in_block(third)
    assert chain.in_pool(chain.sign(ALICE, TRANSFER_TO_BOB, nonce=0)) is not None  # fits in an empty block


def test_block_refuses_an_extrinsic_when_the_block_length_is_used_up():
    fees = FeeConfig(max_block_length=700)
    chain = Chain(dataclasses.replace(dev_spec(), fees=fees))
    assert chain.in_block(chain.sign(ALICE, [0, 0, [b"x" * 300]], nonce=0)).ok
    with pytest.raises(ExhaustsResources):
        chain.in_block(chain.sign(ALICE, [0, 0, [b"x" * 300]], nonce=1))
    for path in (chain.in_block, chain.in_pool):
        with pytest.raises(ExhaustsResources):
            path(chain.sign(ALICE, [0, 0, [b"x" * 800]], nonce=1))  # longer than any block


def test_check_fails_when_the_sender_cannot_pay_the_fee(chain, check):
    pauper = dev_keypair("pauper")
    with pytest.raises(CannotPayFees):
        check(chain.sign(pauper, REMARK))


def test_check_fails_when_the_tip_exceeds_the_balance(chain, check):
    free = chain.pool.system.account_info(ALICE.account).free
    assert check(chain.sign(ALICE, REMARK, tip=free // 2)) is not None  # the block path bumps the nonce
    with pytest.raises(CannotPayFees):
        check(chain.sign(ALICE, REMARK, nonce=chain.mock.account_info("alice").nonce, tip=free))


def test_error_codes_are_stable():
    assert [e.code for e in (BadFormat, StaleNonce, FutureNonce, BadSignature, CannotPayFees)] == [
        "BadFormat",
        "Stale",
        "Future",
        "BadProof",
        "Payment",
    ]


def test_msgpack_of_a_signed_extrinsic_has_the_documented_layout(chain):
    wire = msgpack.unpackb(chain.sign(ALICE, REMARK, nonce=7, tip=3), raw=False)
    assert wire[0] == 1
    assert wire[1] == bytes(ALICE.account)
    assert len(wire[2]) == 64
    assert wire[3:7] == [[0, 0], 7, 3, chain.genesis[:4]]
    assert wire[7] == REMARK
