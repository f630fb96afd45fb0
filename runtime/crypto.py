"""Keys, signatures and hashes: ed25519 through PyNaCl and blake2b-256 through hashlib.

An account id is the signer's 32-byte ed25519 public key, shown as `0x` + 64 lowercase hex digits.
Development keys (alice, bob, charlie, dave, eve, ferdie) have the seed blake2b-256(b"//" + name).
They are public knowledge: fine for a dev chain, never for a real one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.signing

from runtime.types import AccountId

DEV_ACCOUNT_NAMES: tuple[str, ...] = ("alice", "bob", "charlie", "dave", "eve", "ferdie")

_crypto_sign_open = nacl.bindings.crypto_sign_open
_BadSignatureError = nacl.exceptions.BadSignatureError
_blake2b = hashlib.blake2b


def blake2_256(data: bytes) -> bytes:
    """The 32-byte blake2b digest: the chain's one hash function."""
    return _blake2b(data, digest_size=32).digest()


def blake2_128(data: bytes) -> bytes:
    """A 16-byte blake2b digest, for storage prefixes."""
    return _blake2b(data, digest_size=16).digest()


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid ed25519 signature of `message` by `public_key`."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        _crypto_sign_open(signature + message, public_key)
    except (_BadSignatureError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Keypair:
    """An ed25519 key pair; `account` is its AccountId."""

    seed: bytes
    account: AccountId

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        """The key pair of a 32-byte seed."""
        if len(seed) != 32:
            raise ValueError(f"an ed25519 seed is 32 bytes, got {len(seed)}")
        public = bytes(nacl.signing.SigningKey(seed).verify_key)
        return cls(seed=seed, account=AccountId(public))

    @classmethod
    def generate(cls) -> Keypair:
        """A fresh random key pair (for key generation only; never called by the runtime)."""
        return cls.from_seed(bytes(nacl.signing.SigningKey.generate()))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached signature of `message`."""
        return bytes(nacl.signing.SigningKey(self.seed).sign(message).signature)

    def signer(self) -> nacl.signing.SigningKey:
        """A reusable PyNaCl signing key (faster when signing many messages)."""
        return nacl.signing.SigningKey(self.seed)

    def x25519_public(self) -> bytes:
        """The X25519 public key converted from this ed25519 key (for SealedBox)."""
        converted: bytes = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(bytes(self.account))
        return converted

    def x25519_private(self) -> bytes:
        """The X25519 private key converted from this ed25519 key."""
        full = self.seed + bytes(self.account)
        converted: bytes = nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(full)
        return converted


def dev_seed(name: str) -> bytes:
    """The publicly known seed of a development account."""
    return blake2_256(b"//" + name.strip().lower().encode())


def dev_keypair(name: str) -> Keypair:
    """The development key pair called `name` (alice, bob, ... or any other name)."""
    return Keypair.from_seed(dev_seed(name))


def address(account: bytes) -> str:
    """The documented text form of an account id: 0x + 64 lowercase hex digits."""
    return "0x" + bytes(account).hex()


def parse_address(text: str) -> AccountId:
    """An account id from its text form (0x-hex) or a dev account name."""
    value = text.strip()
    if value.lower() in DEV_ACCOUNT_NAMES:
        return dev_keypair(value).account
    digits = value[2:] if value.lower().startswith("0x") else value
    try:
        raw = bytes.fromhex(digits)
    except ValueError as exc:
        raise ValueError(f"not an account: {text!r} (expected 0x + 64 hex digits or a dev name)") from exc
    if len(raw) != 32:
        raise ValueError(f"not an account: {text!r} is {len(raw)} bytes, expected 32")
    return AccountId(raw)
