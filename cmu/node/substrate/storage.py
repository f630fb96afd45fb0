"""Substrate's storage layout as a view over the node's state: a Substrate key (twox128(pallet) ++
twox128(item) ++ Blake2_128Concat(SCALE key)...) maps to the node's own key (blake2_128 prefixes ++ msgpack
keys), and a stored msgpack value is shown SCALE-encoded in the type the metadata V14 declares.

System.Account is shown as Substrate's AccountInfo {nonce, consumers, providers, sufficients, data: {free,
reserved, frozen, flags}} (reserved = held); System.Events as a Vec<EventRecord> (see events.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import xxhash

from runtime import codec
from runtime.errors import CodecError
from runtime.scale.metadata_v14 import ScaleMetadata, StorageEntry, encode_storage_value
from runtime.scale.values import from_scale, to_scale
from runtime.storage.items import item_prefix
from runtime.types import converter

#: The most keys one state_getKeysPaged answer lists (Substrate's own limit).
MAX_KEYS_PAGE = 1000


class StorageKeyError(ValueError):
    """A Substrate storage key that names no item of this runtime, or whose key parts do not decode."""


def twox128(data: bytes) -> bytes:
    """Substrate's twox128: two xxhash64 digests (seeds 0 and 1), little-endian."""
    return xxhash.xxh64_intdigest(data, 0).to_bytes(8, "little") + xxhash.xxh64_intdigest(data, 1).to_bytes(
        8, "little"
    )


def blake2_128_concat(data: bytes) -> bytes:
    """Substrate's Blake2_128Concat hasher: blake2b-128(data) ++ data."""
    return hashlib.blake2b(data, digest_size=16).digest() + data


def substrate_prefix(pallet: str, item: str) -> bytes:
    """twox128(pallet) ++ twox128(item)."""
    return twox128(pallet.encode()) + twox128(item.encode())


class StorageView:
    """Maps keys and values between Substrate's layout and the node's, for one runtime's metadata."""

    def __init__(self, metadata: ScaleMetadata, events_to_scale: Callable[[bytes | None], bytes]) -> None:
        self.metadata = metadata
        self.events_to_scale = events_to_scale
        self.by_prefix = {substrate_prefix(e.pallet, e.name): e for e in metadata.storage.values()}

    # --- keys ----------------------------------------------------------------------------------

    def entry_of(self, key: bytes) -> StorageEntry:
        """The storage item a Substrate key (or key prefix of at least 32 bytes) belongs to."""
        entry = self.by_prefix.get(key[:32])
        if entry is None:
            raise StorageKeyError(f"no storage item has the prefix 0x{key[:32].hex()}")
        return entry

    def node_key(self, key: bytes) -> tuple[StorageEntry, bytes]:
        """The item and the node's own state key of a full Substrate storage key."""
        entry = self.entry_of(key)
        rest = key[32:]
        node = item_prefix(entry.pallet, entry.item.name)
        for key_type in entry.key_types:
            value, rest = self._key_part(key_type, rest)
            node += codec.pack(converter(key_type).to_wire(value))
        if rest:
            raise StorageKeyError(
                f"{len(rest)} bytes left over after the keys of {entry.pallet}.{entry.name}"
            )
        return entry, node

    def _key_part(self, key_type: Any, data: bytes) -> tuple[Any, bytes]:
        if len(data) < 16:
            raise StorageKeyError("a Blake2_128Concat key part is shorter than its 16-byte hash")
        digest, body = data[:16], data[16:]
        type_id = self.metadata.registry.of(key_type)
        try:
            scale_value, used = self.metadata.decode(type_id, body)
            value = from_scale(key_type, scale_value)
        except (CodecError, ValueError, TypeError, KeyError) as exc:
            raise StorageKeyError(f"a key part does not decode: {exc}") from exc
        if hashlib.blake2b(body[:used], digest_size=16).digest() != digest:
            raise StorageKeyError("a key part's Blake2_128Concat hash does not match it")
        return value, body[used:]

    def substrate_key(self, entry: StorageEntry, node_key: bytes) -> bytes:
        """The Substrate key of one of the item's node keys."""
        key = substrate_prefix(entry.pallet, entry.name)
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(node_key[32:])
        for key_type, wire in zip(entry.key_types, unpacker, strict=True):
            value = converter(key_type).from_wire(wire)
            scale = self.metadata.encode(self.metadata.registry.of(key_type), to_scale(key_type, value))
            key += blake2_128_concat(scale)
        return key

    def keys(self, prefix: bytes, scan: Callable[[bytes], Iterator[bytes]]) -> list[bytes]:
        """Every Substrate key of the item under `prefix` that starts with `prefix`, sorted."""
        entry = self.entry_of(prefix)
        node_prefix = item_prefix(entry.pallet, entry.item.name)
        found = (self.substrate_key(entry, k) for k in scan(node_prefix))
        return sorted(k for k in found if k.startswith(prefix))

    # --- values --------------------------------------------------------------------------------

    def value(self, entry: StorageEntry, raw: bytes | None) -> bytes | None:
        """A stored (msgpack) value as the SCALE bytes Substrate would store; None when absent."""
        if (entry.pallet, entry.item.name) == ("System", "events"):
            return self.events_to_scale(raw)
        if raw is None:
            return None
        value = converter(entry.item.value_type).from_wire(codec.unpack(raw))
        return self.encode_value(entry, value)

    def encode_value(self, entry: StorageEntry, value: Any) -> bytes:
        """A Python value of the item as SCALE bytes."""
        return encode_storage_value(self.metadata, entry, value)
