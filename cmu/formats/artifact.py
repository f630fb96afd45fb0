"""Content-addressed artifacts: how bytes become chunks, a manifest and a root (shared with clients).

An artifact's bytes are cut into CHUNK_SIZE pieces (the last may be shorter); each chunk is stored once in
state under its blake2b-256 hash, however many artifacts or versions use it. The artifact root is
blake2b-256(b"cmu-artifact" + size as 8 bytes big-endian + every chunk hash in order): a function of the
bytes alone, so a client that downloads them recomputes it and refuses bytes that don't match.
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.crypto import blake2_256

CHUNK_SIZE = 64 * 1024
ROOT_DOMAIN = b"cmu-artifact"


class ArtifactMismatch(ValueError):
    """Downloaded bytes do not hash to the artifact root recorded on chain."""


def split_chunks(data: bytes, chunk_size: int = CHUNK_SIZE) -> list[bytes]:
    """The artifact's chunks, in order (one empty chunk for empty data is never produced: empty -> [])."""
    return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]


def chunk_count(size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """How many chunks an artifact of `size` bytes has."""
    return (size + chunk_size - 1) // chunk_size


def expected_chunk_length(size: int, index: int, chunk_size: int = CHUNK_SIZE) -> int:
    """The exact length chunk `index` must have."""
    return min(chunk_size, size - index * chunk_size)


def root_of_hashes(size: int, chunk_hashes: Sequence[bytes]) -> bytes:
    """The artifact root from its size and ordered chunk hashes."""
    return blake2_256(ROOT_DOMAIN + size.to_bytes(8, "big") + b"".join(chunk_hashes))


def artifact_root(data: bytes) -> bytes:
    """The artifact root of some bytes."""
    return root_of_hashes(len(data), [blake2_256(c) for c in split_chunks(data)])


def verify_artifact(data: bytes, root: bytes) -> bytes:
    """`data` if it hashes to `root`, else ArtifactMismatch."""
    computed = artifact_root(data)
    if computed != root:
        raise ArtifactMismatch(f"the bytes hash to 0x{computed.hex()}, the chain says 0x{root.hex()}")
    return data
