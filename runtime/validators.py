"""The validator set of a consortium chain, as its chain spec lists it: per validator an ed25519 account
(block authoring) and a BLS12-381 public key with its proof of possession (finality certificates).

A spec's validators are checked when it is loaded (`parse_validators`): hex lengths, valid keys, a
proof of possession that verifies, and no name, account or BLS key twice; a refusal is `InvalidValidator`
naming the validator. Their order in the spec is their index in a certificate's signer list.
Development validator keys are derived from names, like development accounts: public knowledge, for
dev and test chains only.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from runtime import bls
from runtime.crypto import Keypair, address, blake2_256, dev_keypair
from runtime.errors import PalletError
from runtime.types import AccountId

DEV_BLS_KEY_INFO: Final = b"cmu-validator"
"""KeyGen's key_info for development BLS keys (a fixed label: the IKM already names the validator)."""
MAX_NAME_LEN: Final = 64
"""Longest validator name a spec may give."""
JSON_FIELDS: Final = ("name", "account", "blsPublicKey", "blsProofOfPossession")
"""The fields of one validator entry in a chain spec (no others are allowed)."""


class InvalidValidator(PalletError):
    """A validator entry of the chain spec that cannot be used; `validator` names it."""

    def __init__(self, validator: str, reason: str) -> None:
        super().__init__(f"chain spec: validator {validator!r}: {reason}")
        self.validator = validator
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Validator:
    """One validator's public identity: its name, ed25519 account and BLS key with proof of possession."""

    name: str
    account: AccountId
    bls_public_key: bytes
    bls_pop: bytes

    def to_json(self) -> dict[str, str]:
        """The chain spec entry."""
        return {
            "name": self.name,
            "account": address(self.account),
            "blsPublicKey": "0x" + self.bls_public_key.hex(),
            "blsProofOfPossession": "0x" + self.bls_pop.hex(),
        }

    @classmethod
    def from_json(cls, data: Any, position: int) -> Validator:
        """Parse one spec entry (shape and lengths only; `check_validators` checks the keys)."""
        label = _label(data, position)
        if not isinstance(data, Mapping):
            raise InvalidValidator(label, "an entry is an object with " + ", ".join(JSON_FIELDS))
        extra = sorted(set(data) - set(JSON_FIELDS))
        if extra:
            raise InvalidValidator(label, f"unknown field(s) {', '.join(map(str, extra))}")
        name = data.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LEN or name != name.strip():
            raise InvalidValidator(label, f"'name' must be a string of 1 to {MAX_NAME_LEN} characters")
        return cls(
            name=name,
            account=AccountId(_hex(data, "account", 32, name)),
            bls_public_key=_hex(data, "blsPublicKey", bls.PUBLIC_KEY_LEN, name),
            bls_pop=_hex(data, "blsProofOfPossession", bls.SIGNATURE_LEN, name),
        )


def _label(data: Any, position: int) -> str:
    """A validator's name for error messages, or its position when it has none."""
    if isinstance(data, Mapping) and isinstance(data.get("name"), str) and data["name"]:
        return str(data["name"])
    return f"#{position}"


def _hex(data: Mapping[str, Any], field: str, length: int, name: str) -> bytes:
    """A 0x-prefixed lowercase hex field of exactly `length` bytes."""
    value = data.get(field)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidValidator(name, f"{field!r} must be a 0x-prefixed hex string")
    digits = value[2:]
    if digits != digits.lower():
        raise InvalidValidator(name, f"{field!r} must be lowercase hex")
    try:
        raw = bytes.fromhex(digits)
    except ValueError as exc:
        raise InvalidValidator(name, f"{field!r} is not hex") from exc
    if len(raw) != length:
        raise InvalidValidator(name, f"{field!r} must be {length} bytes, got {len(raw)}")
    return raw


@functools.lru_cache(maxsize=1024)
def pop_holds(public_key: bytes, proof: bytes) -> bool:
    """Whether a BLS proof of possession verifies (cached: specs are loaded again and again in tests)."""
    return bls.pop_verify(public_key, proof)


def check_validators(validators: Sequence[Validator]) -> None:
    """InvalidValidator unless every key is valid, every PoP verifies and nothing repeats."""
    seen: dict[str, dict[bytes | str, str]] = {"name": {}, "account": {}, "BLS key": {}}
    for validator in validators:
        name = validator.name
        for what, value in (
            ("name", validator.name),
            ("account", bytes(validator.account)),
            ("BLS key", validator.bls_public_key),
        ):
            if value in seen[what]:
                raise InvalidValidator(name, f"same {what} as validator {seen[what][value]!r}")
            seen[what][value] = name
        if not bls.key_validate(validator.bls_public_key):
            raise InvalidValidator(name, "'blsPublicKey' is not a valid BLS12-381 G1 public key")
        if not pop_holds(validator.bls_public_key, validator.bls_pop):
            raise InvalidValidator(name, "the BLS proof of possession does not verify")


def parse_validators(data: Any) -> tuple[Validator, ...]:
    """The validator list of a chain spec, fully checked; InvalidValidator naming the first bad one."""
    if not isinstance(data, list):
        raise PalletError("chain spec: 'validators' must be a list of validator objects")
    validators = tuple(Validator.from_json(entry, i) for i, entry in enumerate(data))
    check_validators(validators)
    return validators


def quorum_size(count: int) -> int:
    """The fewest signers that are strictly more than 2/3 of `count` validators (3 * s > 2 * count)."""
    return 2 * count // 3 + 1


def has_quorum(signers: int, count: int) -> bool:
    """Whether `signers` of `count` validators are strictly more than two thirds (integer arithmetic)."""
    return count > 0 and 3 * signers > 2 * count


@dataclasses.dataclass(frozen=True, slots=True)
class ValidatorKeys:
    """A validator's secret keys: the ed25519 key pair (authoring) and the BLS secret key (finality)."""

    name: str
    keypair: Keypair
    bls_secret: bytes

    @property
    def account(self) -> AccountId:
        """The validator's account (its ed25519 public key)."""
        return self.keypair.account

    def bls_public_key(self) -> bytes:
        """The 48-byte BLS public key."""
        return bls.public_key(self.bls_secret)

    def public(self) -> Validator:
        """The public identity to list in a chain spec (with a fresh proof of possession)."""
        return Validator(self.name, self.account, self.bls_public_key(), bls.pop_prove(self.bls_secret))


def dev_bls_secret(name: str) -> bytes:
    """The publicly known BLS secret key of development validator `name` (IETF KeyGen of a name seed)."""
    return bls.keygen(blake2_256(b"//bls//" + name.strip().lower().encode()), DEV_BLS_KEY_INFO)


@functools.cache
def dev_validator_keys(name: str) -> ValidatorKeys:
    """The development validator called `name`: its account is the dev account of the same name."""
    return ValidatorKeys(name, dev_keypair(name), dev_bls_secret(name))


@functools.cache
def dev_validator(name: str) -> Validator:
    """The public identity of development validator `name`."""
    return dev_validator_keys(name).public()


def dev_validators(names: Iterable[str]) -> tuple[Validator, ...]:
    """Development validators in the given order (their certificate indices)."""
    return tuple(dev_validator(n) for n in names)


__all__ = [
    "InvalidValidator",
    "Validator",
    "ValidatorKeys",
    "check_validators",
    "dev_bls_secret",
    "dev_validator",
    "dev_validator_keys",
    "dev_validators",
    "has_quorum",
    "parse_validators",
    "pop_holds",
    "quorum_size",
]
