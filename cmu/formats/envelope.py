"""The byte format of confidential artifacts, shared by the chain (which reads only the header) and the
clients (which encrypt and decrypt): a header naming the data key by its id, then a SecretBox message.

Layout: MAGIC (8 bytes) | key id (32 bytes) | nonce (24) | Poly1305 tag (16) | XSalsa20 ciphertext.
The key id is blake2b-256(KEY_ID_DOMAIN + data key): it names the key without revealing it, and a client
that unwrapped a key checks it against the id before decrypting. A wrapped key is a SealedBox of the
32-byte data key to the holder's X25519 key (converted from their ed25519 account key): 80 bytes.
"""

from __future__ import annotations

from runtime.crypto import blake2_256

MAGIC = b"CMUSEAL1"
KEY_ID_DOMAIN = b"cmu-data-key"
KEY_SIZE = 32
HEADER_SIZE = len(MAGIC) + 32
SECRETBOX_OVERHEAD = 24 + 16  # nonce and tag
MIN_SIZE = HEADER_SIZE + SECRETBOX_OVERHEAD + 1
WRAPPED_KEY_SIZE = 32 + 16 + KEY_SIZE  # SealedBox: ephemeral public key, tag, the data key


class BadEnvelope(ValueError):
    """Bytes that are not a confidential artifact (wrong magic or too short)."""


def key_id_of(key: bytes) -> bytes:
    """The public id of a data key."""
    return blake2_256(KEY_ID_DOMAIN + key)


def header(key_id: bytes) -> bytes:
    """The header of an artifact encrypted with the key `key_id` names."""
    return MAGIC + key_id


def parse_key_id(data: bytes, size: int | None = None) -> bytes:
    """The key id in a confidential artifact's header (`data` may be only its first bytes; `size` is the
    whole artifact's length when known). BadEnvelope for anything else."""
    total = len(data) if size is None else size
    if total < MIN_SIZE or len(data) < HEADER_SIZE or not data.startswith(MAGIC):
        raise BadEnvelope("not a confidential artifact: it must start with the CMUSEAL1 header")
    return bytes(data[len(MAGIC) : HEADER_SIZE])


__all__ = [
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAGIC",
    "MIN_SIZE",
    "WRAPPED_KEY_SIZE",
    "BadEnvelope",
    "header",
    "key_id_of",
    "parse_key_id",
]
