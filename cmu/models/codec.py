"""Canonical bytes of weights and of weight deltas (little-endian, fixed layouts, nothing optional).

Weights artifact = 78-byte header + 8 bytes per kind parameter + 8 bytes per flat weight:
    magic b"CMUW" | format u16 = 1 | kind 32 bytes ASCII [a-z][a-z0-9_]*, NUL-padded | scale_bits u8 = 16
    | sparse u8 (0/1) | n_labels u32 | n_features u32 | max_nonzeros u32 | min_value i64 | max_value i64
    | n_params u16 | n_flat u64 | params i64 x n_params | flat i64 x n_flat
Decoding accepts exactly what encoding produces (any other byte string raises MalformedWeights), so
encode(decode(b)) == b. Two versions of a model differ only in the flat part: diff it by 8-byte words.

Delta = b"CMUD" | count u64 | indices u64 x count (strictly increasing) | values i64 x count.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from cmu.models.errors import BadSpec, MalformedDelta, MalformedWeights, WrongType
from cmu.models.fixed import FRAC_BITS
from cmu.models.spec import InputSpec, check_labels
from cmu.models.weights import Weights, frozen

I64 = npt.NDArray[np.int64]

MAGIC: Final = b"CMUW"
FORMAT_VERSION: Final = 1
DELTA_MAGIC: Final = b"CMUD"
KIND_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,31}\Z")
_HEADER: Final = struct.Struct("<4sH32sBBIIIqqHQ")
_DELTA_HEADER: Final = struct.Struct("<4sQ")


@dataclass(frozen=True)
class Header:
    """The decoded fixed header of a weights artifact."""

    kind: str
    spec: InputSpec
    n_labels: int
    param_values: tuple[int, ...]
    n_flat: int

    @property
    def size(self) -> int:
        """Bytes before the flat weights."""
        return _HEADER.size + 8 * len(self.param_values)


def encode_weights(w: Weights) -> bytes:
    """The canonical artifact of `w` (see the module docstring)."""
    if not KIND_NAME.match(w.kind):
        raise WrongType(f"kind name {w.kind!r} must match [a-z][a-z0-9_]{{0,31}} to be encoded")
    s = w.spec
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, w.kind.encode("ascii"), FRAC_BITS, int(s.sparse), w.n_labels,
                        s.n_features, s.max_nonzeros, s.min_value, s.max_value, len(w.params), w.flat.size)
    params = struct.pack(f"<{len(w.params)}q", *(v for _, v in w.params))
    return head + params + w.flat.astype("<i8").tobytes()


def read_header(data: bytes) -> Header:
    """Parse and check the header of a weights artifact (not the flat part's length or values)."""
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) < _HEADER.size:
        raise MalformedWeights(f"weights bytes shorter than the {_HEADER.size}-byte header")
    magic, version, raw_kind, bits, sparse, n_labels, n_feat, max_nz, lo, hi, n_params, n_flat = (
        _HEADER.unpack_from(data))
    if magic != MAGIC or version != FORMAT_VERSION:
        raise MalformedWeights(f"not a weights artifact of format {FORMAT_VERSION} (magic {magic!r})")
    if bits != FRAC_BITS or sparse > 1:
        raise MalformedWeights(f"scale bits {bits} or sparse flag {sparse} is not canonical")
    kind = raw_kind.rstrip(b"\0")
    if not KIND_NAME.match(kind.decode("latin-1")) or raw_kind != kind.ljust(32, b"\0"):
        raise MalformedWeights(f"kind name {raw_kind!r} is not a NUL-padded [a-z][a-z0-9_]* name")
    try:
        spec = InputSpec(n_feat, bool(sparse), lo, hi, max_nz)
        check_labels(n_labels)
    except BadSpec as exc:
        raise MalformedWeights(f"header spec: {exc}") from exc
    if len(data) < _HEADER.size + 8 * n_params:
        raise MalformedWeights("weights bytes end inside the parameters")
    params = struct.unpack_from(f"<{n_params}q", data, _HEADER.size)
    return Header(kind.decode("ascii"), spec, n_labels, tuple(params), n_flat)


def read_flat(data: bytes, header: Header) -> I64:
    """The flat weights after the header, as a read-only native int64 array; length checked exactly."""
    if len(data) != header.size + 8 * header.n_flat:
        raise MalformedWeights(f"weights bytes are {len(data)} long; the header implies "
                               f"{header.size + 8 * header.n_flat}")
    return frozen(np.frombuffer(data, dtype="<i8", offset=header.size).astype(np.int64))


def encode_delta(indices: I64, values: I64) -> bytes:
    """Canonical bytes of a delta (indices strictly increasing, checked)."""
    _check_sorted(indices, values)
    return _DELTA_HEADER.pack(DELTA_MAGIC, indices.size) + indices.astype("<u8").tobytes() + (
        values.astype("<i8").tobytes())


def decode_delta(data: bytes) -> tuple[I64, I64]:
    """Parse `encode_delta` output; refuses wrong magic, wrong length, unsorted or huge indices."""
    if len(data) < _DELTA_HEADER.size:
        raise MalformedDelta("delta bytes shorter than the 12-byte header")
    magic, count = _DELTA_HEADER.unpack_from(data)
    if magic != DELTA_MAGIC or len(data) != _DELTA_HEADER.size + 16 * count:
        raise MalformedDelta(f"bad delta magic {magic!r} or length {len(data)} for {count} entries")
    raw = np.frombuffer(data, dtype="<u8", count=count, offset=_DELTA_HEADER.size)
    if count and int(raw.max()) >= 1 << 62:
        raise MalformedDelta("delta index out of range")
    indices = raw.astype(np.int64)
    values = np.frombuffer(data, dtype="<i8", count=count, offset=_DELTA_HEADER.size + 8 * count)
    _check_sorted(indices, values)
    return frozen(indices), frozen(values.astype(np.int64))


def _check_sorted(indices: I64, values: I64) -> None:
    if indices.shape != values.shape or indices.ndim != 1:
        raise MalformedDelta("delta indices and values must be 1-D arrays of the same length")
    if indices.size and (indices[0] < 0 or np.any(np.diff(indices) <= 0)):
        raise MalformedDelta("delta indices must be non-negative and strictly increasing")
