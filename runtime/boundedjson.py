"""JSON from untrusted bytes, bounded before any parser recurses: size and nesting depth are checked first.

`json.loads` recurses on the C stack once per nested array or object, so a 200 KB body nested 10^5 deep
ends the process with SIGSEGV; `check_json_limits` counts the depth with a C-speed scan that skips string
contents, and `loads_bounded` parses only what passed it. Every refusal is a `JsonLimitError` (a
ValueError) naming the limit.
"""

from __future__ import annotations

import json
from typing import Any

#: Nesting that no request, chain spec, proof or etcd entry of this project needs more than.
DEFAULT_MAX_DEPTH = 64
#: The default size bound of `loads_bounded` (the RPC server has its own, --rpc-max-request-size).
DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_NOT_OPENING = bytes(b for b in range(256) if b not in b"[{")
_SQUARE = bytes.maketrans(b"{}", b"[]")


class JsonLimitError(ValueError):
    """JSON refused before parsing because it is larger or deeper than allowed."""


class JsonTooDeep(JsonLimitError):
    """Arrays and objects nest deeper than the limit."""


class JsonTooLarge(JsonLimitError):
    """The text is longer than the limit."""


def exceeds_depth(data: bytes, max_depth: int) -> bool:
    """Whether arrays and objects may nest deeper than `max_depth` in the prefix a JSON parser reads.

    Few brackets: no. Otherwise escaped backslashes and quotes are removed (a backslash outside a string
    is a syntax error, so a parser stops there), then everything but quotes and brackets; what lies
    between quotes is string content. Matched pairs are then peeled one level per pass (C-speed
    `replace`, at most `max_depth` + 1 passes); unmatched opening brackets count as more levels, so
    invalid JSON can only look deeper than what a parser reaches, never shallower.
    """
    if len(data.translate(None, _NOT_OPENING)) <= max_depth:
        return False
    plain = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _DROP)
    brackets = b"".join(plain.split(b'"')[::2]).translate(_SQUARE)
    if b"[" * (max_depth + 1) in brackets:
        return True
    levels = 0
    while True:
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            return levels + brackets.count(b"[") > max_depth
        levels += 1
        if levels > max_depth:
            return True
        brackets = peeled


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return bytes(data)


def check_json_limits(
    data: bytes | bytearray | memoryview | str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> None:
    """JsonTooLarge or JsonTooDeep unless `data` is within both limits (None: no size limit); no parsing."""
    raw = _as_bytes(data)
    if max_bytes is not None and len(raw) > max_bytes:
        raise JsonTooLarge(f"JSON of {len(raw)} bytes exceeds the limit of {max_bytes} bytes")
    if exceeds_depth(raw, max_depth):
        raise JsonTooDeep(f"JSON nesting deeper than {max_depth} levels")


def loads_bounded(
    data: bytes | bytearray | memoryview | str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Any:
    """`json.loads` after `check_json_limits`: JsonLimitError if too large or deep, ValueError if not JSON."""
    check_json_limits(data, max_depth, max_bytes)
    return json.loads(data if isinstance(data, str | bytes) else bytes(data))
