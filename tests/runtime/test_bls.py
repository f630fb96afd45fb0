"""Tests for runtime.bls: the Ethereum BLS12-381 vectors on every backend, PoP, quorums and rogue keys.

Every vector runs on every available backend: py-ecc (about 0.35 s per verify) takes some 19 s for the
whole set on a 2-core machine, under the point where a CMU_SLOW_TESTS switch would be worth having.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_typing import BLSPubkey, BLSSignature
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.bls.g2_primitives import G1_to_pubkey, G2_to_signature, pubkey_to_G1, signature_to_G2
from py_ecc.optimized_bls12_381.optimized_curve import add, multiply, neg

from runtime import bls
from runtime.bls import ARKWORKS, CURVE_ORDER, POP_DST, PY_ECC, Backend, BlsError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "bls"
BACKENDS = bls.available_backends()
H2C_DST = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_"
P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


@dataclass(frozen=True)
class Case:
    """One vector file: its handler folder, file stem, input and expected output."""

    handler: str
    name: str
    input: Any
    output: Any


def unhex(text: str) -> bytes:
    """Bytes of a hex string, with or without the 0x prefix."""
    return bytes.fromhex(text.removeprefix("0x"))


def load(handler: str) -> list[Case]:
    """Every case of one handler, sorted by file name."""
    files = sorted((VECTORS / handler).glob("*.json"))
    data = [json.loads(f.read_text()) for f in files]
    return [Case(handler, f.stem, d["input"], d["output"]) for f, d in zip(files, data, strict=True)]


def vector_params(handler: str) -> list[Any]:
    """A (backend name, case) parameter for every backend and every case of one handler."""
    return [pytest.param(name, case, id=f"{name}-{case.name}") for name in BACKENDS for case in load(handler)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return bls.get_backend(request.param)


def sk_of(n: int) -> bytes:
    return n.to_bytes(32, "big")


# ---- the Ethereum vectors -------------------------------------------------------------------------


def test_vector_files_are_all_there() -> None:
    counts = {d.name: len(list(d.glob("*.json"))) for d in VECTORS.iterdir() if d.is_dir()}
    assert counts == {
        "sign": 10,
        "verify": 29,
        "aggregate": 6,
        "fast_aggregate_verify": 12,
        "aggregate_verify": 5,
        "batch_verify": 4,
        "deserialization_G1": 13,
        "deserialization_G2": 15,
        "hash_to_G2": 4,
    }


@pytest.mark.parametrize(("name", "case"), vector_params("sign"))
def test_sign_vector(name: str, case: Case) -> None:
    backend = bls.get_backend(name)
    sk, msg = unhex(case.input["privkey"]), unhex(case.input["message"])
    if case.output is None:
        with pytest.raises(BlsError):
            backend.sign(sk, msg)
    else:
        assert backend.sign(sk, msg) == unhex(case.output)


@pytest.mark.parametrize(("name", "case"), vector_params("verify"))
def test_verify_vector(name: str, case: Case) -> None:
    i = case.input
    got = bls.get_backend(name).verify(unhex(i["pubkey"]), unhex(i["message"]), unhex(i["signature"]))
    assert got is case.output


@pytest.mark.parametrize(("name", "case"), vector_params("aggregate"))
def test_aggregate_vector(name: str, case: Case) -> None:
    backend = bls.get_backend(name)
    sigs = [unhex(s) for s in case.input]
    if case.output is None:
        with pytest.raises(BlsError):
            backend.aggregate(sigs)
    else:
        assert backend.aggregate(sigs) == unhex(case.output)


@pytest.mark.parametrize(("name", "case"), vector_params("fast_aggregate_verify"))
def test_fast_aggregate_verify_vector(name: str, case: Case) -> None:
    i = case.input
    pks = [unhex(pk) for pk in i["pubkeys"]]
    got = bls.get_backend(name).fast_aggregate_verify(pks, unhex(i["message"]), unhex(i["signature"]))
    assert got is case.output


@pytest.mark.parametrize(("name", "case"), vector_params("aggregate_verify"))
def test_aggregate_verify_vector(name: str, case: Case) -> None:
    i = case.input
    pks, msgs = [unhex(pk) for pk in i["pubkeys"]], [unhex(m) for m in i["messages"]]
    assert bls.get_backend(name).aggregate_verify(pks, msgs, unhex(i["signature"])) is case.output


@pytest.mark.parametrize(("name", "case"), vector_params("batch_verify"))
def test_batch_verify_vector(name: str, case: Case) -> None:
    i = case.input
    pks, msgs = [unhex(pk) for pk in i["pubkeys"]], [unhex(m) for m in i["messages"]]
    sigs = [unhex(s) for s in i["signatures"]]
    assert bls.get_backend(name).batch_verify(pks, msgs, sigs) is case.output


@pytest.mark.parametrize(("name", "case"), vector_params("deserialization_G1"))
def test_deserialization_g1_vector(name: str, case: Case) -> None:
    backend = bls.get_backend(name)
    data = unhex(case.input["pubkey"])
    assert backend.is_g1_point(data) is case.output
    is_identity = data[:1] == b"\xc0" and not any(data[1:])
    assert backend.key_validate(data) is (case.output and not is_identity)


@pytest.mark.parametrize(("name", "case"), vector_params("deserialization_G2"))
def test_deserialization_g2_vector(name: str, case: Case) -> None:
    assert bls.get_backend(name).is_g2_point(unhex(case.input["signature"])) is case.output


def compress_g2(x: str, y: str) -> bytes:
    """The compressed encoding of an affine G2 point given as "0x<c0>,0x<c1>" coordinates."""
    x0, x1 = (int(part, 16) for part in x.split(","))
    y0, y1 = (int(part, 16) for part in y.split(","))
    y_sign = y1 > (P - 1) // 2 if y1 else y0 > (P - 1) // 2
    flags = 0x80 | (0x20 if y_sign else 0)
    high = x1.to_bytes(48, "big")
    return bytes([high[0] | flags]) + high[1:] + x0.to_bytes(48, "big")


@pytest.mark.parametrize(("name", "case"), vector_params("hash_to_G2"))
def test_hash_to_g2_vector(name: str, case: Case) -> None:
    got = bls.get_backend(name).hash_to_g2(case.input["msg"].encode(), H2C_DST)
    assert got == compress_g2(case.output["x"], case.output["y"])


# ---- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "master_sk"),
    [
        (
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a698"
            "7599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
            6083874454709270928345386274498605044986640685124978867557563392430687146096,
        ),
        (
            "3141592653589793238462643383279502884197169399375105820974944592",
            29757020647961307431480504535336562678282505419141012933316116377660817309383,
        ),
    ],
)
def test_keygen_works(seed: str, master_sk: int) -> None:
    # EIP-2333 derive_master_SK is IETF KeyGen with empty key_info: its published master keys.
    assert bls.keygen(bytes.fromhex(seed)) == sk_of(master_sk)


def test_keygen_fails_when_ikm_is_short() -> None:
    with pytest.raises(BlsError):
        bls.keygen(b"\x01" * 31)


@pytest.mark.parametrize("sk", [b"", b"\x01" * 31, sk_of(0), sk_of(CURVE_ORDER), b"\xff" * 32])
def test_sign_fails_when_secret_key_is_invalid(backend: Backend, sk: bytes) -> None:
    for use in (backend.public_key, backend.pop_prove, lambda k: backend.sign(k, b"m")):
        with pytest.raises(BlsError):
            use(sk)


JUNK = [b"", b"\x00" * 48, b"\xff" * 48, b"\xc0" + b"\x00" * 46, b"\x80" * 96, b"\xc0" + b"\x00" * 96]


def test_verification_never_raises_on_malformed_bytes(backend: Backend) -> None:
    sk = sk_of(7)
    pk, sig = backend.public_key(sk), backend.sign(sk, b"m")
    for junk in JUNK:
        assert backend.verify(junk, b"m", sig) is False
        assert backend.verify(pk, b"m", junk) is False
        assert backend.fast_aggregate_verify([pk, junk], b"m", sig) is False
        assert backend.aggregate_verify([junk], [b"m"], sig) is False
        assert backend.pop_verify(junk, sig) is False
        assert backend.pop_verify(pk, junk) is False
        assert backend.key_validate(junk) is False
        assert backend.batch_verify([junk], [b"m"], [sig]) is False


def test_list_checks_fail_when_lengths_differ_or_lists_are_empty(backend: Backend) -> None:
    sk = sk_of(9)
    pk, sig = backend.public_key(sk), backend.sign(sk, b"m")
    assert backend.aggregate_verify([pk], [b"m", b"n"], sig) is False
    assert backend.batch_verify([pk], [b"m"], [sig, sig]) is False
    assert backend.batch_verify([], [], []) is False
    assert backend.fast_aggregate_verify([], b"m", sig) is False


def test_aggregate_fails_when_a_signature_is_invalid(backend: Backend) -> None:
    sig = backend.sign(sk_of(3), b"m")
    not_in_g2 = load("deserialization_G2")
    off_subgroup = next(c for c in not_in_g2 if c.name == "deserialization_fails_not_in_G2")
    for bad in (b"\x00" * 96, sig[:95], unhex(off_subgroup.input["signature"])):
        with pytest.raises(BlsError):
            backend.aggregate([sig, bad])


# ---- proofs of possession, quorums, rogue keys ------------------------------------------------------


def test_pop_verify_works(backend: Backend) -> None:
    sk = bls.keygen(b"maintainer-1".ljust(32, b"\x00"))
    assert backend.pop_verify(backend.public_key(sk), backend.pop_prove(sk)) is True


def test_pop_verify_fails_when_proof_is_another_keys(backend: Backend) -> None:
    sk_a, sk_b = sk_of(11), sk_of(12)
    assert backend.pop_verify(backend.public_key(sk_b), backend.pop_prove(sk_a)) is False


def test_pop_verify_fails_when_proof_is_a_plain_signature(backend: Backend) -> None:
    sk = sk_of(13)
    pk = backend.public_key(sk)
    assert backend.pop_verify(pk, backend.sign(sk, pk)) is False  # domain separation: POP_DST != SIGN_DST


QUORUM_MSG = b"promote|model=0x01|version=3|root=" + bytes(range(32))


@pytest.fixture(scope="module")
def quorum() -> tuple[list[bytes], list[bytes]]:
    """Three maintainers' secret keys and public keys (computed with py-ecc, the reference)."""
    sks = [bls.keygen(f"maintainer-{i}".encode().ljust(32, b"\x00")) for i in range(3)]
    return sks, [bls.get_backend(PY_ECC).public_key(sk) for sk in sks]


def test_quorum_aggregate_works(backend: Backend, quorum: tuple[list[bytes], list[bytes]]) -> None:
    sks, pks = quorum
    agg = backend.aggregate([backend.sign(sk, QUORUM_MSG) for sk in sks])
    assert backend.fast_aggregate_verify(pks, QUORUM_MSG, agg) is True
    assert backend.aggregate_verify(pks, [QUORUM_MSG] * 3, agg) is True


def test_quorum_aggregate_fails_when_a_signer_is_missing(
    backend: Backend, quorum: tuple[list[bytes], list[bytes]]
) -> None:
    sks, pks = quorum
    agg = backend.aggregate([backend.sign(sk, QUORUM_MSG) for sk in sks[:2]])
    assert backend.fast_aggregate_verify(pks, QUORUM_MSG, agg) is False


def test_quorum_aggregate_fails_when_message_is_wrong(
    backend: Backend, quorum: tuple[list[bytes], list[bytes]]
) -> None:
    sks, pks = quorum
    agg = backend.aggregate([backend.sign(sk, QUORUM_MSG) for sk in sks])
    assert backend.fast_aggregate_verify(pks, QUORUM_MSG + b"!", agg) is False


def rogue_key(pk_attacker: bytes, pks: list[bytes]) -> bytes:
    """pk_attacker - sum(pks), by py-ecc point arithmetic."""
    total = neg(pubkey_to_G1(BLSPubkey(pk_attacker)))
    for pk in pks:
        total = add(total, pubkey_to_G1(BLSPubkey(pk)))
    return bytes(G1_to_pubkey(neg(total)))


def pop_attempt(backend: Backend, pk: bytes, sk: int) -> bytes:
    """A would-be proof of possession of `pk` made with another secret key `sk`."""
    point = signature_to_G2(BLSSignature(backend.hash_to_g2(pk, POP_DST)))
    return bytes(G2_to_signature(multiply(point, sk)))


def test_rogue_key_fails_pop_verify(backend: Backend, quorum: tuple[list[bytes], list[bytes]]) -> None:
    _, pks = quorum
    sk_attacker = 0xA77AC
    pk_attacker = backend.public_key(sk_of(sk_attacker))
    # With pk_rogue = pk_attacker - sum(pks) the attacker alone "signs for" the whole quorum...
    pk_rogue = rogue_key(pk_attacker, pks)
    forged = backend.sign(sk_of(sk_attacker), QUORUM_MSG)
    assert backend.fast_aggregate_verify([*pks, pk_rogue], QUORUM_MSG, forged) is True
    # ... which is why keys are registered only with a valid PoP, and the attacker cannot make one.
    assert backend.pop_verify(pk_rogue, pop_attempt(backend, pk_rogue, sk_attacker)) is False
    assert backend.pop_verify(pk_rogue, backend.pop_prove(sk_of(sk_attacker))) is False


# ---- backends agree, and how one is chosen ----------------------------------------------------------


@pytest.mark.skipif(ARKWORKS not in BACKENDS, reason="py-arkworks-bls12381 (fast-bls extra) not installed")
@settings(max_examples=4, deadline=None)
@given(sk=st.integers(1, CURVE_ORDER - 1), msg=st.binary(max_size=64))
def test_backends_agree(sk: int, msg: bytes) -> None:
    ref, fast = bls.get_backend(PY_ECC), bls.get_backend(ARKWORKS)
    key = sk_of(sk)
    sig = fast.sign(key, msg)
    assert fast.public_key(key) == ref.public_key(key)
    assert sig == ref.sign(key, msg)
    assert fast.pop_prove(key) == ref.pop_prove(key)
    assert fast.aggregate([sig, sig]) == ref.aggregate([sig, sig])


def test_fast_aggregate_verify_fails_when_keys_sum_to_identity(backend: Backend) -> None:
    pk = backend.public_key(sk_of(5))
    minus_pk = bytes(G1_to_pubkey(neg(pubkey_to_G1(BLSPubkey(pk)))))
    identity_sig = b"\xc0" + bytes(95)
    assert backend.fast_aggregate_verify([pk, minus_pk], b"m", identity_sig) is False


@pytest.mark.skipif(ARKWORKS not in BACKENDS, reason="py-arkworks-bls12381 (fast-bls extra) not installed")
@settings(max_examples=40, deadline=None)
@given(head=st.sampled_from([0x80, 0xA0, 0xC0, 0xE0, 0x8A, 0x1A]), rest=st.binary(min_size=95, max_size=95))
def test_backends_agree_on_decoding(head: int, rest: bytes) -> None:
    ref, fast = bls.get_backend(PY_ECC), bls.get_backend(ARKWORKS)
    g1, g2 = bytes([head]) + rest[:47], bytes([head]) + rest
    assert fast.is_g1_point(g1) is ref.is_g1_point(g1)
    assert fast.key_validate(g1) is ref.key_validate(g1)
    assert fast.is_g2_point(g2) is ref.is_g2_point(g2)


def test_module_functions_use_the_default_backend() -> None:
    sk = bls.keygen(b"\x42" * 32)
    pk, sig = bls.public_key(sk), bls.sign(sk, b"block")
    assert bls.default_backend().name == (os.environ.get(bls.BACKEND_ENV) or BACKENDS[-1])
    assert bls.verify(pk, b"block", sig) and bls.key_validate(pk) and bls.is_g1_point(pk)
    assert bls.is_g2_point(sig) and bls.pop_verify(pk, bls.pop_prove(sk))
    agg = bls.aggregate([sig])
    assert bls.fast_aggregate_verify([pk], b"block", agg) and bls.aggregate_verify([pk], [b"block"], agg)
    assert bls.batch_verify([pk], [b"block"], [sig])


def test_select_backend_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bls.BACKEND_ENV, raising=False)
    assert bls.select_backend().name == BACKENDS[-1]
    monkeypatch.setenv(bls.BACKEND_ENV, PY_ECC)
    assert bls.select_backend().name == PY_ECC


def test_select_backend_fails_when_name_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bls.BACKEND_ENV, "nope")
    with pytest.raises(BlsError):
        bls.select_backend()


def test_arkworks_backend_fails_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bls, "_ARKWORKS_IMPORTED", False)
    assert bls.available_backends() == (PY_ECC,)
    with pytest.raises(BlsError):
        bls.ArkworksBackend()
