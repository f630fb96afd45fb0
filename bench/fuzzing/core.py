"""The fuzzer's core: how inputs are counted (`Tally`), what a decoder under test is (`Target`), and the
structure-aware mutations of msgpack and JSON inputs. Used by bench/fuzz.py."""

from __future__ import annotations

import collections
import copy
import dataclasses
import json
import math
import random
from collections.abc import Callable
from typing import Any

import msgpack

from cmu.client.errors import ClientError
from cmu.models.errors import ModelError
from cmu.node.provenance import ProvenanceError
from runtime.boundedjson import JsonLimitError
from runtime.errors import RuntimeFailure

#: Exceptions that are refusals by name (everything else raised by a decoder is `untyped`).
TYPED: tuple[type[BaseException], ...] = (
    RuntimeFailure,
    ModelError,
    JsonLimitError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    ClientError,
    ProvenanceError,
)


@dataclasses.dataclass
class Tally:
    """What the inputs came to."""

    inputs: int = 0
    ok: int = 0
    typed: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    untyped: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    accepted_invalid: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    crashes: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def note_untyped(self, where: str, what: str, sample: Any) -> None:
        self.untyped[f"{where}:{what}"] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{where}: {what}: {repr(sample)[:200]}")


@dataclasses.dataclass
class Target:
    """One decoder: seeds, how many inputs, and a check returning True when the input was accepted."""

    name: str
    seeds: list[Any]
    count: int
    check: Callable[[Any], bool]
    mutate: Callable[[random.Random, Any], Any]
    is_original: Callable[[Any], bool] = lambda _x: False


# --- mutations -----------------------------------------------------------------------------------------

HUGE_INTS = (2**64, 2**64 - 1, -(2**63) - 1, -1, 10**40, 2**256)


def odd_value(rng: random.Random, deepest: int = 100_000) -> Any:
    """A value of a surprising shape (nested at most `deepest` levels)."""
    choice = rng.randrange(10)
    if choice == 0:
        return rng.choice(HUGE_INTS)
    if choice == 1:
        return nested(min(deepest, rng.choice((33, 100, 1_025, 5_000))))
    if choice == 2:
        return rng.randbytes(rng.choice((0, 1, 31, 33, 64)))
    if choice == 3:
        return "\u00e9" * rng.randrange(4)
    if choice == 4:
        return None
    if choice == 5:
        return [rng.randrange(256) for _ in range(rng.randrange(4))]
    if choice == 6:
        return rng.choice((True, False))
    if choice == 7:
        return rng.randrange(-5, 300)
    if choice == 8:
        return []
    return rng.randbytes(rng.randrange(1, 40))


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def positions(value: Any) -> list[tuple[list[Any], int]]:
    """(container, index) of every element of nested lists, iteratively."""
    found: list[tuple[list[Any], int]] = []
    stack = [value]
    while stack and len(found) < 10_000:
        item = stack.pop()
        if isinstance(item, list):
            for i, child in enumerate(item):
                found.append((item, i))
                stack.append(child)
    return found


def mutate_structure(rng: random.Random, value: Any) -> Any:
    """Replace, drop or extend one element of a nested list structure."""
    copied = copy.deepcopy(value)
    spots = positions(copied)
    if not spots:
        return odd_value(rng)
    container, index = rng.choice(spots)
    action = rng.randrange(4)
    if action == 0 and len(container) > 0:
        del container[index]
    elif action == 1:
        container.insert(index, odd_value(rng))
    elif action == 2 and isinstance(container[index], int) and not isinstance(container[index], bool):
        container[index] = container[index] + rng.choice((1, -1, 2**32, 2**64))
    else:
        container[index] = odd_value(rng)
    return copied


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """Bit flips, byte changes, truncation, extension, deep nesting, a msgpack prefix of huge length."""
    raw = bytearray(data)
    action = rng.randrange(8)
    if action == 0 and raw:
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
    elif action == 1 and raw:
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif action == 2:
        del raw[rng.randrange(len(raw) + 1) :]
    elif action == 3:
        raw += rng.randbytes(rng.randrange(1, 64))
    elif action == 4:
        depth = rng.choice((33, 1_000, 1_025, 100_000))
        return b"\x91" * depth + bytes(raw)
    elif action == 5:
        header = rng.choice(
            (b"\xdd\xff\xff\xff\xff", b"\xdc\xff\xff", b"\xc6\x7f\xff\xff\xff", b"\xdb\x00\x10\x00\x00")
        )
        return header + bytes(raw)
    elif action == 6 and len(raw) > 2:
        i, j = sorted(rng.sample(range(len(raw)), 2))
        raw[i:j] = raw[i:j][::-1]
    else:
        raw.insert(rng.randrange(len(raw) + 1), rng.randrange(256))
    return bytes(raw)


def mutate_msgpack(rng: random.Random, data: bytes) -> bytes:
    """Half the time at the byte level; otherwise decode, change the structure, re-encode."""
    if rng.random() < 0.5:
        return mutate_bytes(rng, data)
    value = msgpack.unpackb(data, raw=False)
    changed = mutate_structure(rng, value)
    try:
        packed: bytes = msgpack.packb(changed, use_bin_type=True)
    except (ValueError, OverflowError):  # too deep or too big for msgpack itself: keep a byte mutation
        return mutate_bytes(rng, data)
    return packed


def mutate_json_value(rng: random.Random, value: Any) -> Any:
    """Change one place of a JSON value (objects included): wrong shape, NaN, huge int, deep nesting."""
    copied = copy.deepcopy(value)
    spots: list[tuple[Any, Any]] = []
    stack = [copied]
    while stack:
        item = stack.pop()
        keys = list(item) if isinstance(item, dict) else range(len(item)) if isinstance(item, list) else []
        for key in keys:
            spots.append((item, key))
            stack.append(item[key])
    if not spots:
        return json_odd(rng)
    container, key = rng.choice(spots)
    if rng.random() < 0.2 and isinstance(container, dict):
        del container[key]
    elif rng.random() < 0.1 and isinstance(container, dict):
        container["extra"] = json_odd(rng)
    else:
        container[key] = json_odd(rng)
    return copied


def json_odd(rng: random.Random) -> Any:
    choice = rng.randrange(6)
    if choice == 0:
        return rng.choice((math.nan, math.inf, -math.inf))
    if choice == 1:
        return "\ud800" + "x" * rng.randrange(3)
    if choice == 2:
        return {"a": odd_json_scalar(rng)}
    return odd_json_scalar(rng)


def odd_json_scalar(rng: random.Random) -> Any:
    value = odd_value(rng, deepest=200)  # deeper JSON is made as text (mutate_json_text)
    if isinstance(value, bytes):
        return "0x" + value.hex() if rng.random() < 0.5 else value.decode("latin-1")
    return value


def dumps_odd(value: Any) -> bytes:
    """JSON text allowing NaN and lone surrogates (as a hostile client may send)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode()


def mutate_json_text(rng: random.Random, text: bytes) -> bytes:
    """Text-level JSON mutations: bytes changed, cut, deep nesting inserted, invalid UTF-8."""
    action = rng.randrange(5)
    if action == 0:
        depth = rng.choice((65, 1_025, 100_000, 1_000_000))
        at = rng.randrange(len(text) + 1)
        closed = rng.random() < 0.5
        return text[:at] + b"[" * depth + (b"]" * depth if closed else b"") + text[at:]
    if action == 1:
        return text + b"\xff\xfe"
    if action == 2:
        return b'{"a":"' + b"\\" * rng.randrange(1, 5) + b'"' + b"[" * 100 + b"}"
    return mutate_bytes(rng, text)


def mutate_json(rng: random.Random, seed: Any) -> bytes:
    if rng.random() < 0.6:
        return dumps_odd(mutate_json_value(rng, seed))
    return mutate_json_text(rng, dumps_odd(seed))


def run_target(target: Target, rng: random.Random, tally: Tally) -> None:
    """Feed `target.count` mutated inputs to its check."""
    for _ in range(target.count):
        data = target.mutate(rng, rng.choice(target.seeds))
        tally.inputs += 1
        try:
            accepted = target.check(data)
        except TYPED as exc:
            tally.typed[type(exc).__name__] += 1
            continue
        except Exception as exc:
            tally.note_untyped(target.name, f"{type(exc).__name__}: {str(exc)[:80]}", data)
            continue
        if not accepted or target.is_original(data):
            tally.ok += 1
        else:
            tally.accepted_invalid[target.name] += 1
            if len(tally.examples) < 10:
                tally.examples.append(f"{target.name}: accepted invalid input {repr(data)[:200]}")
