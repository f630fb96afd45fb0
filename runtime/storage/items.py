"""Typed storage items declared on pallets: StorageValue, StorageMap and StorageDoubleMap.

A key is blake2b-128(pallet name) + blake2b-128(item name) + the canonical encoding of the map key(s),
so iteration follows the encoded keys' byte order (non-negative integers sort numerically; bytes and
strings sort by length, then content). Values use the canonical codec; reads of our own writes skip the
canonical re-check, which is done once when untrusted bytes enter (extrinsics, blocks, RPC).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from typing import Any, Generic, NoReturn, Self, overload

import msgpack
from typing_extensions import TypeVar

from runtime import codec
from runtime.crypto import blake2_128
from runtime.storage.overlay import Overlay
from runtime.types import converter

# Defaults let `count = StorageValue(U32)` type as Any; `count: StorageValue[int] = ...` types fully.
K = TypeVar("K", default=Any)
K2 = TypeVar("K2", default=Any)
V = TypeVar("V", default=Any)

_packb = msgpack.packb
_unpackb = msgpack.unpackb


def _pack(wire: Any) -> bytes:
    data: bytes = _packb(wire, use_bin_type=True)
    return data


def jsonable(wire: Any) -> Any:
    """Codec primitives as JSON values: bytes become 0x-hex strings."""
    if isinstance(wire, bytes):
        return "0x" + wire.hex()
    if isinstance(wire, list | tuple):
        return [jsonable(v) for v in wire]
    return wire


def item_prefix(pallet: str, item: str) -> bytes:
    """The 32-byte key prefix of one storage item."""
    return blake2_128(pallet.encode()) + blake2_128(item.encode())


class StorageItem(abc.ABC):
    """A declaration on a pallet class; `bind` makes the live accessor for one runtime."""

    kind = "value"

    def __init__(
        self, value_type: Any, *, default: Any = None, doc: str = "", name: str | None = None
    ) -> None:
        self.value_type = value_type
        self.default = default
        self.doc = doc
        self.name = name or ""
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        if not self.name:
            self.name = attr

    def key_types(self) -> tuple[Any, ...]:
        """The types of the key parts, in order (none for a value)."""
        return ()

    @abc.abstractmethod
    def bind(self, pallet: str, overlay: Overlay) -> Any:
        """The accessor for this item in one runtime's state."""

    def describe(self, pallet: str) -> dict[str, Any]:
        """This item's entry in the runtime metadata."""
        value = converter(self.value_type)
        return {
            "name": self.name,
            "kind": self.kind,
            "prefix": "0x" + item_prefix(pallet, self.name).hex(),
            "keys": [{"type": converter(k).name, "schema": converter(k).schema} for k in self.key_types()],
            "value": {"type": value.name, "schema": value.schema},
            "default": None if self.default is None else jsonable(value.to_wire(self.default)),
            "doc": self.doc,
        }


def _unbound(item: StorageItem, owner: object) -> NoReturn:
    """Reached only when a pallet instance has not bound its items (Pallet.__init__ binds them all)."""
    raise AttributeError(f"storage item {item.name!r} of {type(owner).__name__} is not bound to a runtime")


class _Bound:
    """Shared machinery of the live accessors: the prefix, the overlay and the value codec."""

    def __init__(self, item: StorageItem, pallet: str, overlay: Overlay) -> None:
        self.item = item
        self.prefix = item_prefix(pallet, item.name)
        self.overlay = overlay
        value = converter(item.value_type)
        self._to_wire = value.to_wire
        self._from_wire = value.from_wire
        self.default = item.default

    def _load(self, key: bytes) -> Any:
        raw = self.overlay.get(key)
        if raw is None:
            return self.default
        return self._from_wire(_unpackb(raw, raw=False, use_list=True))

    def _store(self, key: bytes, value: Any) -> None:
        self.overlay.put(key, _packb(self._to_wire(value), use_bin_type=True))


class StorageValue(StorageItem, Generic[V]):
    """One value of a pallet (e.g. a counter); `get()` gives the default when unset."""

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type) -> BoundValue[V]: ...
    def __get__(self, obj: object | None, owner: type) -> Self | BoundValue[V]:
        if obj is None:
            return self
        _unbound(self, obj)

    def bind(self, pallet: str, overlay: Overlay) -> BoundValue[V]:
        return BoundValue(self, pallet, overlay)


class BoundValue(_Bound, Generic[V]):
    """The live accessor of a StorageValue."""

    def get(self) -> V:
        """The stored value, or the declared default."""
        value: V = self._load(self.prefix)
        return value

    def set(self, value: V) -> None:
        """Store `value`."""
        self._store(self.prefix, value)

    def kill(self) -> None:
        """Remove the value (reads give the default again)."""
        self.overlay.delete(self.prefix)

    def exists(self) -> bool:
        """Whether a value is stored."""
        return self.overlay.get(self.prefix) is not None

    def mutate(self, change: Callable[[V], V]) -> V:
        """Replace the value with change(value) and return the new value."""
        value = change(self.get())
        self.set(value)
        return value

    @property
    def storage_key(self) -> bytes:
        """The raw state key."""
        return self.prefix


class StorageMap(StorageItem, Generic[K, V]):
    """A map from keys to values; missing keys read as the default (None unless declared)."""

    kind = "map"

    def __init__(self, key_type: Any, value_type: Any, **kwargs: Any) -> None:
        super().__init__(value_type, **kwargs)
        self.key_type = key_type

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type) -> BoundMap[K, V]: ...
    def __get__(self, obj: object | None, owner: type) -> Self | BoundMap[K, V]:
        if obj is None:
            return self
        _unbound(self, obj)

    def key_types(self) -> tuple[Any, ...]:
        return (self.key_type,)

    def bind(self, pallet: str, overlay: Overlay) -> BoundMap[K, V]:
        return BoundMap(self, pallet, overlay)


class BoundMap(_Bound, Generic[K, V]):
    """The live accessor of a StorageMap: dict-like, iteration in key order."""

    def __init__(self, item: StorageMap[K, V], pallet: str, overlay: Overlay) -> None:
        super().__init__(item, pallet, overlay)
        key = converter(item.key_type)
        self._key_to_wire = key.to_wire
        self._key_from_wire = key.from_wire

    def key(self, key: K) -> bytes:
        """The raw state key of `key`."""
        return self.prefix + _pack(self._key_to_wire(key))

    def __getitem__(self, key: K) -> V:
        value: V = self._load(self.key(key))
        return value

    def get(self, key: K, default: V | None = None) -> V | None:
        """The stored value, or `default` (not the declared default) when absent."""
        raw = self.overlay.get(self.key(key))
        if raw is None:
            return default
        value: V = self._from_wire(_unpackb(raw, raw=False, use_list=True))
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._store(self.key(key), value)

    def __delitem__(self, key: K) -> None:
        self.overlay.delete(self.key(key))

    def __contains__(self, key: object) -> bool:
        return self.overlay.get(self.key(key)) is not None  # type: ignore[arg-type]

    def mutate(self, key: K, change: Callable[[V], V]) -> V:
        """Replace the value at `key` with change(value) and return it."""
        value = change(self[key])
        self[key] = value
        return value

    def items(self) -> Iterator[tuple[K, V]]:
        """(key, value) pairs in key order."""
        start = len(self.prefix)
        for raw_key, raw in self.overlay.iterate(self.prefix):
            key = self._key_from_wire(codec.unpack(raw_key[start:]))
            yield key, self._from_wire(_unpackb(raw, raw=False, use_list=True))

    def keys(self) -> Iterator[K]:
        """Keys in key order."""
        for key, _ in self.items():
            yield key


class StorageDoubleMap(StorageItem, Generic[K, K2, V]):
    """A map with two keys; all entries of a first key can be iterated or cleared together."""

    kind = "double_map"

    def __init__(self, key1_type: Any, key2_type: Any, value_type: Any, **kwargs: Any) -> None:
        super().__init__(value_type, **kwargs)
        self.key1_type = key1_type
        self.key2_type = key2_type

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type) -> BoundDoubleMap[K, K2, V]: ...
    def __get__(self, obj: object | None, owner: type) -> Self | BoundDoubleMap[K, K2, V]:
        if obj is None:
            return self
        _unbound(self, obj)

    def key_types(self) -> tuple[Any, ...]:
        return (self.key1_type, self.key2_type)

    def bind(self, pallet: str, overlay: Overlay) -> BoundDoubleMap[K, K2, V]:
        return BoundDoubleMap(self, pallet, overlay)


class BoundDoubleMap(_Bound, Generic[K, K2, V]):
    """The live accessor of a StorageDoubleMap, indexed by (key1, key2)."""

    def __init__(self, item: StorageDoubleMap[K, K2, V], pallet: str, overlay: Overlay) -> None:
        super().__init__(item, pallet, overlay)
        self._k1 = converter(item.key1_type)
        self._k2 = converter(item.key2_type)

    def prefix_of(self, key1: K) -> bytes:
        """The raw key prefix of every entry under `key1`."""
        return self.prefix + _pack(self._k1.to_wire(key1))

    def key(self, key1: K, key2: K2) -> bytes:
        """The raw state key of (key1, key2)."""
        return self.prefix_of(key1) + _pack(self._k2.to_wire(key2))

    def __getitem__(self, keys: tuple[K, K2]) -> V:
        value: V = self._load(self.key(*keys))
        return value

    def get(self, key1: K, key2: K2, default: V | None = None) -> V | None:
        """The stored value, or `default` when absent."""
        raw = self.overlay.get(self.key(key1, key2))
        if raw is None:
            return default
        value: V = self._from_wire(_unpackb(raw, raw=False, use_list=True))
        return value

    def __setitem__(self, keys: tuple[K, K2], value: V) -> None:
        self._store(self.key(*keys), value)

    def __delitem__(self, keys: tuple[K, K2]) -> None:
        self.overlay.delete(self.key(*keys))

    def __contains__(self, keys: object) -> bool:
        return self.overlay.get(self.key(*keys)) is not None  # type: ignore[misc]

    def mutate(self, key1: K, key2: K2, change: Callable[[V], V]) -> V:
        """Replace the value at (key1, key2) with change(value) and return it."""
        value = change(self[key1, key2])
        self[key1, key2] = value
        return value

    def iter_prefix(self, key1: K) -> Iterator[tuple[K2, V]]:
        """(key2, value) pairs under `key1`, in key2 order."""
        prefix = self.prefix_of(key1)
        start = len(prefix)
        for raw_key, raw in self.overlay.iterate(prefix):
            key2 = self._k2.from_wire(codec.unpack(raw_key[start:]))
            yield key2, self._from_wire(_unpackb(raw, raw=False, use_list=True))

    def items(self) -> Iterator[tuple[tuple[K, K2], V]]:
        """((key1, key2), value) pairs in key order."""
        start = len(self.prefix)
        for raw_key, raw in self.overlay.iterate(self.prefix):
            unpacker = msgpack.Unpacker(raw=False, use_list=True)
            unpacker.feed(raw_key[start:])
            key1 = self._k1.from_wire(next(unpacker))
            key2 = self._k2.from_wire(next(unpacker))
            yield (key1, key2), self._from_wire(_unpackb(raw, raw=False, use_list=True))

    def clear_prefix(self, key1: K) -> int:
        """Remove every entry under `key1`; returns how many were removed."""
        keys = [raw_key for raw_key, _ in self.overlay.iterate(self.prefix_of(key1))]
        for raw_key in keys:
            self.overlay.delete(raw_key)
        return len(keys)
