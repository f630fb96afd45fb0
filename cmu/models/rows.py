"""Turning caller input into canonical fixed-point rows, refusing anything malformed with a typed error.

`quantize` takes real values (float or int, in real units) and returns round(v * SCALE) with numpy's
rint (half to even). v * 2**16 is exact in float64, so the rounding is bit-identical on every IEEE-754
machine; consensus code never calls it: it receives ints and calls `validate_fixed` (ints only, already
Q.16; floats are refused). Both return `FixedRows` (see models.spec). Accepted forms:
  dense   an (n, n_features) array or a list of equal-length lists;
  sparse  per row, a list of feature indices (binary features: value 1.0 = SCALE each, a repeated index
          counts once more), or a mapping index -> value (keys may be decimal strings, as JSON objects
          carry them); `validate_fixed` also takes a SparseRow or an (indices, values) pair with
          strictly increasing indices. Values are real units for `quantize`, Q.16 for `validate_fixed`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from cmu.models.errors import (
    IndexOutOfRange,
    ModelError,
    NegativeCount,
    NotFinite,
    OutOfRange,
    TooManyNonZeros,
    UnsortedIndices,
    WrongFeatureCount,
    WrongType,
)
from cmu.models.fixed import SCALE
from cmu.models.spec import FixedRow, FixedRows, InputSpec, SparseRow

I64 = npt.NDArray[np.int64]
Arr = npt.NDArray[np.generic]
DECIMAL: Final = re.compile(r"(0|[1-9][0-9]{0,9})\Z")
F = TypeVar("F", bound=Callable[..., Any])


def _refusing_malformed(function: F) -> F:
    """Turn numpy's own complaints about untrusted rows (ragged nesting, objects it cannot convert)
    into WrongType, so a caller only ever sees ModelError for bad input."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ModelError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise WrongType(f"rows are not numbers in the expected shape: {exc}") from exc

    return guarded  # type: ignore[return-value]


@_refusing_malformed
def quantize(rows: object, spec: InputSpec, *, counts: bool = False) -> FixedRows:
    """Real-valued rows -> canonical fixed point. `counts` refuses negative values (NegativeCount)."""
    if spec.sparse:
        return tuple(_quantize_sparse(r, spec, counts, f"row {i}") for i, r in enumerate(_row_list(rows)))
    return _to_fixed(_as_2d(rows), spec, counts, real=True)


@_refusing_malformed
def validate_fixed(rows: object, spec: InputSpec, *, counts: bool = False) -> FixedRows:
    """Rows already in fixed point (ints only) -> canonical form, with the same checks as `quantize`."""
    if spec.sparse:
        return tuple(_validate_sparse(r, spec, counts, f"row {i}") for i, r in enumerate(_row_list(rows)))
    return _to_fixed(_as_2d(rows), spec, counts, real=False)


@_refusing_malformed
def quantize_row(row: object, spec: InputSpec, *, counts: bool = False) -> FixedRow:
    """One real-valued row -> canonical fixed point."""
    if spec.sparse:
        return _quantize_sparse(row, spec, counts, "row")
    out: I64 = _to_fixed(_as_2d([_as_1d(row)]), spec, counts, real=True)[0]
    return out


@_refusing_malformed
def validate_row(row: object, spec: InputSpec, *, counts: bool = False) -> FixedRow:
    """One fixed-point row -> canonical form (a SparseRow passes through after its checks)."""
    if spec.sparse:
        return _validate_sparse(row, spec, counts, "row")
    out: I64 = _to_fixed(_as_2d([_as_1d(row)]), spec, counts, real=False)[0]
    return out


def _row_list(rows: object) -> Sequence[object]:
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence | np.ndarray):
        raise WrongType(f"rows must be a sequence of rows, got {type(rows).__name__}")
    return list(rows)


def _as_1d(row: object) -> object:
    if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
        raise WrongType(f"a row must be a sequence of numbers, got {type(row).__name__}")
    if isinstance(row, np.ndarray) and row.ndim != 1:
        raise WrongType(f"a row must be 1-D, got {row.ndim} dimensions")
    return row


def _as_2d(rows: object) -> Arr:
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence | np.ndarray):
        raise WrongType(f"rows must be a 2-D array or a sequence of rows, got {type(rows).__name__}")
    try:
        arr = np.asarray(rows)
    except (ValueError, TypeError) as exc:
        raise WrongFeatureCount("rows have different lengths") from exc
    if arr.ndim == 1 and arr.size == 0:
        return np.zeros((0, 0), dtype=np.int64)
    if arr.ndim != 2:
        raise WrongType(f"expected a 2-D batch of rows, got {arr.ndim} dimension(s)")
    return arr


def _numeric(arr: Arr, *, real: bool) -> Arr:
    """Check the element type: ints always; floats only for real input; bool, str, None never."""
    kind = arr.dtype.kind
    if kind == "O":
        allowed = Real if real else Integral
        for x in arr.flat:
            if not isinstance(x, allowed) or isinstance(x, bool | np.bool_):
                raise WrongType(f"value {x!r} of type {type(x).__name__} is not a number")
        return arr
    if kind in "iu" or (real and kind == "f"):
        return arr
    what = "ints or floats" if real else "ints (fixed point; use quantize() for real values)"
    raise WrongType(f"values must be {what}, got dtype {arr.dtype}")


def _to_fixed(arr: Arr, spec: InputSpec, counts: bool, *, real: bool) -> I64:
    if arr.shape[0] == 0:
        return np.zeros((0, spec.n_features), dtype=np.int64)
    if arr.shape[1] != spec.n_features:
        raise WrongFeatureCount(f"rows have {arr.shape[1]} features, the spec says {spec.n_features}")
    return _values(arr, spec, counts, real=real, where=None)


def _values(arr: Arr, spec: InputSpec, counts: bool, *, real: bool, where: str | None) -> I64:
    """Check and convert a 2-D block of values (no shape check); `where` names a sparse row."""
    arr = _numeric(arr, real=real)
    inexact = arr.dtype.kind == "O" and not all(isinstance(x, Integral) for x in arr.flat)
    if arr.dtype.kind == "f" or inexact:
        return _from_float(arr.astype(np.float64), spec, counts, where)
    return _from_int(arr, spec, counts, SCALE if real else 1, where)


def _at(r: int, c: int, where: str | None) -> str:
    return f"{where}, entry {c}" if where else f"row {r}, feature {c}"


def _from_float(f: npt.NDArray[np.float64], spec: InputSpec, counts: bool, where: str | None) -> I64:
    finite = np.isfinite(f)
    if not finite.all():
        r, c = (int(v) for v in np.argwhere(~finite)[0])
        raise NotFinite(f"{_at(r, c, where)}: {f[r, c]} is not a finite number")
    q = np.rint(f * SCALE)
    outside = (q < spec.min_value) | (q > spec.max_value)
    if outside.any():
        r, c = (int(v) for v in np.argwhere(outside)[0])
        fixed = int(q[r, c]) if np.isfinite(q[r, c]) else spec.max_value + 1
        _raise_range(fixed, spec, counts, f"{_at(r, c, where)}: {f[r, c]}")
    if counts and np.any(q < 0):
        r, c = (int(v) for v in np.argwhere(q < 0)[0])
        _raise_range(int(q[r, c]), spec, counts, f"{_at(r, c, where)}: {f[r, c]}")
    return q.astype(np.int64)


def _from_int(arr: Arr, spec: InputSpec, counts: bool, mult: int, where: str | None) -> I64:
    lo, hi = -(-spec.min_value // mult), spec.max_value // mult
    if counts:
        lo = max(lo, 0)
    if arr.dtype.kind == "O":
        mask = np.array([not lo <= int(x) <= hi for x in arr.flat], dtype=bool).reshape(arr.shape)
    else:
        ints = arr.astype(np.int64) if arr.dtype.kind == "i" else arr.astype(np.uint64)
        mask = (ints < lo) | (ints > hi)
    if mask.any():
        r, c = (int(v) for v in np.argwhere(mask)[0])
        _raise_range(int(arr[r, c]) * mult, spec, counts, f"{_at(r, c, where)}: {arr[r, c]}")
    out: I64 = arr.astype(np.int64) * mult
    return out


def _raise_range(value: int, spec: InputSpec, counts: bool, where: str) -> None:
    if counts and value < 0:
        raise NegativeCount(f"{where} is negative; this kind takes non-negative counts")
    lo, hi = spec.real_range
    raise OutOfRange(f"{where} is outside [{spec.min_value}, {spec.max_value}] (Q.16; reals {lo}..{hi})")


def _indices(idx: object, spec: InputSpec, where: str) -> I64:
    arr = np.asarray(idx) if not isinstance(idx, np.ndarray) else idx
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iuO") or arr.dtype.kind == "b":
        raise WrongType(f"{where}: feature indices must be a 1-D sequence of ints, got dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        _numeric(arr, real=False)
        bad = [int(i) for i in arr if not 0 <= int(i) < spec.n_features]
    else:
        bad = arr[(arr < 0) | (arr >= spec.n_features)].tolist()
    if bad:
        raise IndexOutOfRange(f"{where}: feature index {bad[0]} is outside [0, {spec.n_features})")
    return arr.astype(np.int64)


def _quantize_sparse(row: object, spec: InputSpec, counts: bool, where: str) -> SparseRow:
    if isinstance(row, Mapping):
        idx, raw = _mapping(row, spec, where)
        return _finish(idx, _values(_block(raw), spec, counts, real=True, where=where)[0], spec, where)
    return _index_list(row, spec, counts, where)


def _mapping(row: Mapping[object, object], spec: InputSpec, where: str) -> tuple[I64, list[object]]:
    """Keys (ints, or decimal strings as JSON objects carry them) sorted, with their values."""
    keys = [int(k) if isinstance(k, str) and DECIMAL.match(k) else k for k in row]
    idx = _indices(keys, spec, where)
    order = np.argsort(idx, kind="stable")
    values = list(row.values())
    return idx[order], [values[i] for i in order]


def _index_list(row: object, spec: InputSpec, counts: bool, where: str) -> SparseRow:
    """A sequence of feature indices: binary features, a repeated index counting once more."""
    if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
        raise WrongType(f"{where}: a sparse row is a sequence of indices or a mapping, "
                        f"got {type(row).__name__}")
    uniq, mult = np.unique(_indices(row, spec, where), return_counts=True)
    vals = _values(_block(mult.astype(np.int64)), spec, counts, real=True, where=where)[0]
    return _finish(uniq.astype(np.int64), vals, spec, where)


def _block(values: object) -> Arr:
    """A 1-D list of values as a (1, n) block for `_values`; empty rows become int64 (1, 0)."""
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1:
        raise WrongType("sparse values must be a 1-D sequence")
    return (arr if arr.size else np.zeros(0, np.int64)).reshape(1, -1)


def _validate_sparse(row: object, spec: InputSpec, counts: bool, where: str) -> SparseRow:
    if isinstance(row, SparseRow):
        idx, vals = row.indices, row.values
    elif isinstance(row, Mapping):
        ii, raw = _mapping(row, spec, where)
        return _finish(ii, _values(_block(raw), spec, counts, real=False, where=where)[0], spec, where)
    elif isinstance(row, tuple | list) and len(row) == 2 and all(_is_seq(part) for part in row):
        idx, vals = row[0], row[1]
    else:
        return _index_list(row, spec, counts, where)
    ii = _indices(idx, spec, where)
    vv = np.asarray(vals) if not isinstance(vals, np.ndarray) else vals
    if vv.ndim != 1 or vv.shape[0] != ii.shape[0]:
        raise WrongType(f"{where}: indices and values must be 1-D of the same length")
    if ii.size and np.any(np.diff(ii) <= 0):
        raise UnsortedIndices(f"{where}: fixed sparse indices must be strictly increasing")
    fixed = _values(_block(vv), spec, counts, real=False, where=where)[0]
    return _finish(ii, fixed, spec, where)


def _is_seq(part: object) -> bool:
    return isinstance(part, Sequence | np.ndarray) and not isinstance(part, str | bytes)


def _finish(idx: I64, vals: I64, spec: InputSpec, where: str) -> SparseRow:
    keep = vals != 0
    idx, vals = idx[keep], vals[keep]
    if idx.shape[0] > spec.terms:
        raise TooManyNonZeros(f"{where}: {idx.shape[0]} non-zero features, the spec allows {spec.terms}")
    idx.flags.writeable = False
    vals.flags.writeable = False
    return SparseRow(idx, vals)
