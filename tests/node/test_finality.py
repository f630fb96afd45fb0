"""Finality votes and certificates (service.finality) and their storage in the chain database: the >2/3
boundary, refusals of a wrong message, signer set, chain or tampered bytes, and certificates kept on LevelDB
by number and hash across a reopen."""

from __future__ import annotations

import dataclasses

import pytest
from consortium_chain import LocalChain

from cmu.node.chaindb import ChainDbError
from cmu.node.finality import (
    FINALITY_DOMAIN,
    BadSignature,
    CannotAggregate,
    FinalityCertificate,
    FinalityTarget,
    MalformedCertificate,
    NoQuorum,
    UnknownSigner,
    Vote,
    WrongChain,
    aggregate,
    sign_vote,
    verify_certificate,
    verify_vote,
)
from runtime import bls
from runtime.genesis import consortium_spec
from runtime.validators import dev_validator_keys

NAMES = ("alice", "bob", "charlie", "dave")
SPEC = consortium_spec(NAMES)
VALIDATORS = SPEC.validators
GENESIS = bytes(range(32))
TARGET = FinalityTarget(GENESIS, 7, b"\x11" * 32, b"\x22" * 32)


def votes(target: FinalityTarget, signers: tuple[int, ...]) -> list[Vote]:
    return [sign_vote(dev_validator_keys(NAMES[i]), i, target) for i in signers]


def cert_of(signers: tuple[int, ...], target: FinalityTarget = TARGET) -> FinalityCertificate:
    return aggregate(votes(target, signers))


def test_message_is_the_canonical_encoding_of_domain_chain_number_hash_and_root():
    message = TARGET.message()
    assert FINALITY_DOMAIN in message and GENESIS in message
    assert message != dataclasses.replace(TARGET, number=8).message()
    assert message != dataclasses.replace(TARGET, state_root=b"\x23" * 32).message()
    assert message != dataclasses.replace(TARGET, genesis_hash=bytes(32)).message()


def test_vote_verifies_and_round_trips():
    vote = votes(TARGET, (1,))[0]
    verify_vote(vote, VALIDATORS, GENESIS)
    assert Vote.decode(vote.encode()) == vote
    assert Vote.from_json(vote.to_json()) == vote


def test_vote_fails_when_signed_by_another_validator():
    forged = dataclasses.replace(votes(TARGET, (1,))[0], validator=2)
    with pytest.raises(BadSignature, match="charlie"):
        verify_vote(forged, VALIDATORS)


def test_vote_fails_for_another_chain_or_an_unknown_index():
    vote = votes(TARGET, (0,))[0]
    with pytest.raises(WrongChain):
        verify_vote(vote, VALIDATORS, bytes(32))
    with pytest.raises(UnknownSigner):
        verify_vote(dataclasses.replace(vote, validator=4), VALIDATORS)


@pytest.mark.parametrize("signers", [(0, 1, 2), (1, 2, 3), (0, 2, 3), (0, 1, 2, 3)])
def test_three_or_four_of_four_signers_are_accepted(signers):
    cert = cert_of(signers)
    assert cert.signers == signers
    verify_certificate(cert, VALIDATORS, GENESIS)


@pytest.mark.parametrize("signers", [(0,), (3,), (0, 1), (2, 3)])
def test_two_or_fewer_of_four_signers_are_refused(signers):
    cert = cert_of(signers)
    assert bls.fast_aggregate_verify(
        [VALIDATORS[i].bls_public_key for i in signers], TARGET.message(), cert.signature
    )  # the signature itself is fine: only the count is short
    with pytest.raises(NoQuorum, match=f"{len(signers)} of 4 validators signed; more than 2/3 \\(3\\)"):
        verify_certificate(cert, VALIDATORS, GENESIS)


def test_quorum_boundary_for_other_set_sizes():
    seven = consortium_spec(("alice", "bob", "charlie", "dave", "eve", "ferdie", "grace")).validators
    names = [v.name for v in seven]
    target_votes = [sign_vote(dev_validator_keys(names[i]), i, TARGET) for i in range(7)]
    with pytest.raises(NoQuorum):
        verify_certificate(aggregate(target_votes[:4]), seven)  # 4 of 7: 12 > 14 is false
    verify_certificate(aggregate(target_votes[:5]), seven)  # 5 of 7: 15 > 14


def test_certificate_fails_for_a_wrong_message():
    cert = cert_of((0, 1, 2))
    for changed in (
        dataclasses.replace(TARGET, number=8),
        dataclasses.replace(TARGET, block_hash=b"\x12" * 32),
        dataclasses.replace(TARGET, state_root=b"\x21" * 32),
    ):
        with pytest.raises(BadSignature):
            verify_certificate(dataclasses.replace(cert, target=changed), VALIDATORS)


def test_certificate_fails_for_a_wrong_signer_set():
    cert = cert_of((0, 1, 2))
    for claimed in ((0, 1, 3), (1, 2, 3), (0, 1, 2, 3)):
        with pytest.raises(BadSignature):
            verify_certificate(dataclasses.replace(cert, signers=claimed), VALIDATORS)
    reordered = consortium_spec(("dave", "bob", "charlie", "alice")).validators
    with pytest.raises(BadSignature):
        verify_certificate(cert, reordered)
    with pytest.raises(UnknownSigner):
        verify_certificate(dataclasses.replace(cert, signers=(0, 1, 4)), VALIDATORS)


def test_certificate_fails_for_another_chain():
    with pytest.raises(WrongChain):
        verify_certificate(cert_of((0, 1, 2)), VALIDATORS, bytes(32))


def test_certificate_round_trips_canonically():
    cert = cert_of((0, 2, 3))
    data = cert.encode()
    assert FinalityCertificate.decode(data) == cert
    assert FinalityCertificate.decode(data).encode() == data
    assert FinalityCertificate.from_json(cert.to_json()) == cert


def test_every_flipped_byte_of_a_certificate_is_refused():
    cert = cert_of((0, 1, 3))
    data = cert.encode()
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises((MalformedCertificate, BadSignature, NoQuorum, UnknownSigner, WrongChain)):
            verify_certificate(FinalityCertificate.decode(bytes(tampered)), VALIDATORS, GENESIS)


@pytest.mark.parametrize(
    ("signers", "message"),
    [((), "at least one"), ((1, 0, 2), "strictly increasing"), ((0, 0, 1), "strictly increasing")],
)
def test_malformed_signer_lists_are_refused(signers, message):
    with pytest.raises(MalformedCertificate, match=message):
        FinalityCertificate(TARGET, signers, bytes(96))


def test_malformed_json_is_refused():
    body = cert_of((0, 1, 2)).to_json()
    for field, value in (("blockHash", body["blockHash"].upper()), ("number", "7"), ("signers", "0,1,2")):
        with pytest.raises(MalformedCertificate):
            FinalityCertificate.from_json({**body, field: value})
    with pytest.raises(MalformedCertificate, match="exactly the fields"):
        FinalityCertificate.from_json({**body, "extra": 1})


def test_aggregate_refuses_mixed_blocks_and_double_votes():
    with pytest.raises(CannotAggregate):
        aggregate([])
    other = dataclasses.replace(TARGET, number=8)
    with pytest.raises(CannotAggregate, match="different blocks"):
        aggregate(votes(TARGET, (0, 1)) + votes(other, (2,)))
    with pytest.raises(CannotAggregate, match="twice"):
        aggregate(votes(TARGET, (0, 1, 1)))


def test_reference_backend_agrees():
    """py-ecc (the reference) accepts the certificate the fast backend made and refuses a short one."""
    reference = bls.get_backend(bls.PY_ECC)
    cert = cert_of((0, 1, 2))
    verify_certificate(cert, VALIDATORS, GENESIS, backend=reference)
    with pytest.raises(BadSignature):
        verify_certificate(dataclasses.replace(cert, signers=(0, 1, 3)), VALIDATORS, backend=reference)
    assert reference.aggregate([v.signature for v in votes(TARGET, (0, 1, 2))]) == cert.signature


# --- storage in the chain database -------------------------------------------------------------------


@pytest.fixture
def chain(tmp_path):
    local = LocalChain(tmp_path / "db")
    for _ in range(3):
        local.block()
    yield local
    local.close()


def test_certificates_are_stored_by_number_and_hash(chain):
    assert chain.chaindb.latest_certificate() is None
    first = chain.certify(1)
    assert chain.chaindb.head.final.number == 1
    second = chain.certify(3, (1, 2, 3))
    assert chain.chaindb.certificate_at(1) == first and chain.chaindb.certificate_at(3) == second
    assert chain.chaindb.certificate_at(2) is None
    assert chain.chaindb.certificate_for(second.block_hash) == second
    assert chain.chaindb.certificate_for(chain.target(2).block_hash) is None
    assert chain.chaindb.latest_certificate() == second
    assert chain.chaindb.head.final_hash == second.block_hash


def test_older_certificate_does_not_move_the_latest_or_the_final(chain):
    newest = chain.certify(3)
    chain.certify(2)
    assert chain.chaindb.latest_certificate() == newest
    assert chain.chaindb.head.final.number == 3
    assert chain.chaindb.certificate_at(2) is not None


def test_certificate_for_an_unknown_block_or_root_is_refused(chain):
    cert = chain.certificate(2)
    wrong_hash = dataclasses.replace(cert, target=dataclasses.replace(cert.target, block_hash=b"\x01" * 32))
    with pytest.raises(ChainDbError, match="not a best-chain block"):
        chain.chaindb.put_certificate(wrong_hash)
    wrong_root = dataclasses.replace(cert, target=dataclasses.replace(cert.target, state_root=b"\x01" * 32))
    with pytest.raises(ChainDbError, match="disagrees"):
        chain.chaindb.put_certificate(wrong_root)
    assert chain.chaindb.certificate_at(2) is None


def test_certificates_survive_a_reopen(tmp_path):
    local = LocalChain(tmp_path / "db")
    local.block()
    local.block()
    cert = local.certify(2)
    local.close()
    reopened = LocalChain(tmp_path / "db")
    try:
        assert reopened.chaindb.latest_certificate() == cert
        assert reopened.chaindb.head.final_hash == cert.block_hash
        verify_certificate(reopened.chaindb.certificate_at(2), SPEC.validators, reopened.runtime.genesis_hash)
    finally:
        reopened.close()
