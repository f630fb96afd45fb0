"""Finality votes and certificates: what a validator BLS-signs after executing a block, and the aggregate
that proves strictly more than 2/3 of the spec's validators signed it (checkable offline, with the spec).

The signed message is the canonical encoding of [FINALITY_DOMAIN, genesis hash, number, block hash, state
root]: the genesis hash binds it to one chain, the domain tag to this use. A certificate names its signers
by their index in the spec's validator list (strictly increasing) and carries one aggregate signature,
checked with fast_aggregate_verify over their keys (safe: every key's proof of possession is checked when
the spec is loaded). Refusals are FinalityError subclasses that say what is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from runtime import bls, codec
from runtime.block import Header
from runtime.errors import CodecError
from runtime.validators import Validator, ValidatorKeys, has_quorum, quorum_size

FINALITY_DOMAIN: Final = b"cmu/finality/v1"
"""Domain tag at the head of every finality message (a vote for a block, nothing else)."""
HASH_LEN: Final = 32
"""Bytes in a genesis hash, block hash or state root."""
MAX_NUMBER: Final = 0xFFFFFFFF
"""Highest block number (the chain database indexes blocks by 4-byte numbers)."""
MAX_VALIDATORS: Final = 1024
"""Most validators a certificate may name."""
MAX_ENCODED: Final = 64 * 1024
"""Largest encoded vote or certificate accepted for decoding."""


class FinalityError(Exception):
    """A vote or certificate that is refused, with the reason."""


class MalformedCertificate(FinalityError):
    """Bytes or JSON that are not the canonical form of a vote or certificate."""


class WrongChain(FinalityError):
    """The vote or certificate is for another chain (its genesis hash differs)."""


class UnknownSigner(FinalityError):
    """A signer index that is not a validator of the spec."""


class NoQuorum(FinalityError):
    """Too few validators signed: a certificate needs strictly more than 2/3 of them."""


class BadSignature(FinalityError):
    """The (aggregate) BLS signature does not verify over the signers' keys and the message."""


class CannotAggregate(FinalityError):
    """The votes given to `aggregate` are empty, disagree on the block or repeat a validator."""


@dataclasses.dataclass(frozen=True, slots=True)
class FinalityTarget:
    """The block a vote or certificate is about: chain, number, block hash and state root."""

    genesis_hash: bytes
    number: int
    block_hash: bytes
    state_root: bytes

    def __post_init__(self) -> None:
        for name in ("genesis_hash", "block_hash", "state_root"):
            value = getattr(self, name)
            if type(value) is not bytes or len(value) != HASH_LEN:
                raise MalformedCertificate(f"{name} must be {HASH_LEN} bytes")
        if type(self.number) is not int or not 0 <= self.number <= MAX_NUMBER:
            raise MalformedCertificate(f"block number must be an integer in [0, {MAX_NUMBER}]")

    @classmethod
    def of_header(cls, genesis_hash: bytes, header: Header) -> FinalityTarget:
        """The target of an executed block."""
        return cls(genesis_hash, header.number, header.hash(), header.state_root)

    def message(self) -> bytes:
        """The bytes a validator signs for this block."""
        return codec.pack([FINALITY_DOMAIN, self.genesis_hash, self.number, self.block_hash, self.state_root])

    def wire(self) -> list[Any]:
        """The target's fields in encoding order."""
        return [self.genesis_hash, self.number, self.block_hash, self.state_root]

    def json_fields(self) -> dict[str, Any]:
        """The target's fields in JSON form."""
        return {
            "genesisHash": _hex(self.genesis_hash),
            "number": self.number,
            "blockHash": _hex(self.block_hash),
            "stateRoot": _hex(self.state_root),
        }

    @classmethod
    def from_json_fields(cls, data: Mapping[str, Any]) -> FinalityTarget:
        """Parse the JSON fields of a target."""
        number = data.get("number")
        if type(number) is not int:
            raise MalformedCertificate("'number' must be an integer")
        return cls(
            _unhex(data.get("genesisHash"), "genesisHash", HASH_LEN),
            number,
            _unhex(data.get("blockHash"), "blockHash", HASH_LEN),
            _unhex(data.get("stateRoot"), "stateRoot", HASH_LEN),
        )


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(value: Any, name: str, length: int) -> bytes:
    """Strict 0x + lowercase hex of exactly `length` bytes (so one value has one text form)."""
    if not isinstance(value, str) or not value.startswith("0x") or value[2:] != value[2:].lower():
        raise MalformedCertificate(f"{name!r} must be 0x + lowercase hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise MalformedCertificate(f"{name!r} is not hex") from exc
    if len(raw) != length:
        raise MalformedCertificate(f"{name!r} must be {length} bytes, got {len(raw)}")
    return raw


def _check_keys(data: Any, fields: Sequence[str], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or sorted(data) != sorted(fields):
        raise MalformedCertificate(f"a {what} is an object with exactly the fields {', '.join(fields)}")
    return data


def _unpack(data: bytes, count: int, what: str) -> list[Any]:
    try:
        wire = codec.unpack(data, MAX_ENCODED)
    except CodecError as exc:
        raise MalformedCertificate(f"{what} bytes: {exc}") from exc
    if type(wire) is not list or len(wire) != count:
        raise MalformedCertificate(f"a {what} encodes as a list of {count} fields")
    return wire


def _signature(value: Any) -> bytes:
    if type(value) is not bytes or len(value) != bls.SIGNATURE_LEN:
        raise MalformedCertificate(f"a signature is {bls.SIGNATURE_LEN} bytes")
    return value


# --- votes ------------------------------------------------------------------------------------------

VOTE_FIELDS: Final = ("genesisHash", "number", "blockHash", "stateRoot", "validator", "signature")
"""The JSON fields of a vote."""


@dataclasses.dataclass(frozen=True, slots=True)
class Vote:
    """One validator's BLS signature of a finality target; `validator` is its index in the spec."""

    target: FinalityTarget
    validator: int
    signature: bytes

    def encode(self) -> bytes:
        """Canonical bytes: [genesis, number, block hash, state root, validator, signature]."""
        return codec.pack([*self.target.wire(), self.validator, self.signature])

    @classmethod
    def decode(cls, data: bytes) -> Vote:
        """Parse canonical bytes (MalformedCertificate otherwise)."""
        genesis, number, block_hash, root, validator, signature = _unpack(data, 6, "vote")
        target = FinalityTarget(genesis, number, block_hash, root)
        return cls(target, _index(validator), _signature(signature))

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {**self.target.json_fields(), "validator": self.validator, "signature": _hex(self.signature)}

    @classmethod
    def from_json(cls, data: Any) -> Vote:
        """Parse the JSON form strictly."""
        fields = _check_keys(data, VOTE_FIELDS, "vote")
        signature = _unhex(fields["signature"], "signature", bls.SIGNATURE_LEN)
        return cls(FinalityTarget.from_json_fields(fields), _index(fields["validator"]), signature)


def _index(value: Any) -> int:
    if type(value) is not int or not 0 <= value < MAX_VALIDATORS:
        raise MalformedCertificate(f"a validator index is an integer in [0, {MAX_VALIDATORS})")
    return value


def sign_vote(keys: ValidatorKeys, index: int, target: FinalityTarget) -> Vote:
    """Validator `index` (whose secret keys are `keys`) signs `target`."""
    return Vote(target, _index(index), bls.sign(keys.bls_secret, target.message()))


def verify_vote(
    vote: Vote,
    validators: Sequence[Validator],
    genesis_hash: bytes | None = None,
    *,
    backend: bls.Backend | None = None,
) -> None:
    """Raise unless `vote` is a valid signature by a spec validator (of the chain `genesis_hash`)."""
    if genesis_hash is not None and vote.target.genesis_hash != genesis_hash:
        raise WrongChain("the vote is for another chain (genesis hash differs)")
    if vote.validator >= len(validators):
        raise UnknownSigner(f"validator index {vote.validator} is not among {len(validators)} validators")
    signer = validators[vote.validator]
    checker = backend or bls.default_backend()
    if not checker.verify(signer.bls_public_key, vote.target.message(), vote.signature):
        raise BadSignature(f"the vote's signature by {signer.name!r} does not verify")


# --- certificates -----------------------------------------------------------------------------------

CERTIFICATE_FIELDS: Final = ("genesisHash", "number", "blockHash", "stateRoot", "signers", "signature")
"""The JSON fields of a certificate."""


@dataclasses.dataclass(frozen=True, slots=True)
class FinalityCertificate:
    """An aggregate BLS signature of one finality target by the validators at indices `signers`."""

    target: FinalityTarget
    signers: tuple[int, ...]
    signature: bytes

    def __post_init__(self) -> None:
        _check_signers(self.signers)

    @property
    def number(self) -> int:
        """The certified block's number."""
        return self.target.number

    @property
    def block_hash(self) -> bytes:
        """The certified block's hash."""
        return self.target.block_hash

    @property
    def state_root(self) -> bytes:
        """The certified block's state root."""
        return self.target.state_root

    def encode(self) -> bytes:
        """Canonical bytes: [genesis, number, block hash, state root, [signer...], signature]."""
        return codec.pack([*self.target.wire(), list(self.signers), self.signature])

    @classmethod
    def decode(cls, data: bytes) -> FinalityCertificate:
        """Parse canonical bytes (MalformedCertificate otherwise)."""
        genesis, number, block_hash, root, signers, signature = _unpack(data, 6, "certificate")
        if type(signers) is not list:
            raise MalformedCertificate("signers must be a list of validator indices")
        target = FinalityTarget(genesis, number, block_hash, root)
        return cls(target, tuple(signers), _signature(signature))

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {**self.target.json_fields(), "signers": list(self.signers), "signature": _hex(self.signature)}

    @classmethod
    def from_json(cls, data: Any) -> FinalityCertificate:
        """Parse the JSON form strictly."""
        fields = _check_keys(data, CERTIFICATE_FIELDS, "certificate")
        signers = fields["signers"]
        if not isinstance(signers, list):
            raise MalformedCertificate("'signers' must be a list of validator indices")
        signature = _unhex(fields["signature"], "signature", bls.SIGNATURE_LEN)
        return cls(FinalityTarget.from_json_fields(fields), tuple(signers), signature)


def _check_signers(signers: tuple[int, ...]) -> None:
    """Signer indices are valid indices in strictly increasing order (one form per signer set)."""
    if not signers:
        raise MalformedCertificate("a certificate names at least one signer")
    previous = -1
    for index in signers:
        if _index(index) <= previous:
            raise MalformedCertificate("signer indices must be strictly increasing")
        previous = index


def aggregate(votes: Sequence[Vote]) -> FinalityCertificate:
    """One certificate from votes on the same target by distinct validators (verify each vote first)."""
    if not votes:
        raise CannotAggregate("no votes to aggregate")
    target = votes[0].target
    if any(v.target != target for v in votes):
        raise CannotAggregate("the votes are for different blocks")
    ordered = sorted(votes, key=lambda v: v.validator)
    signers = tuple(v.validator for v in ordered)
    if len(set(signers)) != len(signers):
        raise CannotAggregate("a validator voted twice")
    try:
        signature = bls.aggregate([v.signature for v in ordered])
    except bls.BlsError as exc:
        raise CannotAggregate(str(exc)) from exc
    return FinalityCertificate(target, signers, signature)


def verify_certificate(
    cert: FinalityCertificate,
    validators: Sequence[Validator],
    genesis_hash: bytes | None = None,
    *,
    backend: bls.Backend | None = None,
) -> None:
    """Raise unless strictly more than 2/3 of `validators` signed `cert` (for chain `genesis_hash`)."""
    if genesis_hash is not None and cert.target.genesis_hash != genesis_hash:
        raise WrongChain("the certificate is for another chain (genesis hash differs)")
    count = len(validators)
    if cert.signers[-1] >= count:
        raise UnknownSigner(f"signer index {cert.signers[-1]} is not among {count} validators")
    if not has_quorum(len(cert.signers), count):
        raise NoQuorum(
            f"{len(cert.signers)} of {count} validators signed; more than 2/3 ({quorum_size(count)}) needed"
        )
    keys = [validators[i].bls_public_key for i in cert.signers]
    checker = backend or bls.default_backend()
    if not checker.fast_aggregate_verify(keys, cert.target.message(), cert.signature):
        raise BadSignature("the aggregate signature does not verify for the named signers and block")


def signer_names(cert: FinalityCertificate, validators: Sequence[Validator]) -> list[str]:
    """The names of a certificate's signers (after verify_certificate)."""
    return [validators[i].name for i in cert.signers]


__all__ = [
    "FINALITY_DOMAIN",
    "BadSignature",
    "CannotAggregate",
    "FinalityCertificate",
    "FinalityError",
    "FinalityTarget",
    "MalformedCertificate",
    "NoQuorum",
    "UnknownSigner",
    "Vote",
    "WrongChain",
    "aggregate",
    "sign_vote",
    "verify_certificate",
    "verify_vote",
]


# --- a chain certified by one validator (a --dev chain) ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class SoloCertifier:
    """Certifies the blocks a node authors when its validator is the chain's only one (1 of 1 is a
    quorum): the `--dev` chain, whose spec lists alice with her publicly known dev BLS key."""

    keys: ValidatorKeys
    index: int
    genesis_hash: bytes

    @classmethod
    def for_validator(
        cls, validators: Sequence[Validator], keys: ValidatorKeys, genesis_hash: bytes
    ) -> SoloCertifier | None:
        """A certifier when `keys` are those of the single validator listed, else None."""
        if len(validators) != 1 or not has_quorum(1, len(validators)):
            return None
        only = validators[0]
        if only.account != keys.account or only.bls_public_key != keys.bls_public_key():
            return None
        return cls(keys, 0, genesis_hash)

    def certify(self, header: Header) -> FinalityCertificate:
        """The certificate of a block: this validator's vote, aggregated."""
        target = FinalityTarget.of_header(self.genesis_hash, header)
        return aggregate([sign_vote(self.keys, self.index, target)])
