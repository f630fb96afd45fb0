"""Structure-aware fuzzing of every decoder that sees untrusted bytes, in process and through a real node.

In process (the bulk): mutated signed extrinsics through `Runtime.validate_transaction`, mutated blocks
through `Runtime.import_block` on a genesis runtime, mutated artifacts through the model kind's decoder,
raw canonical msgpack through `codec.unpack`, RPC bodies through the node's JSON parser, call arguments
through the client's metadata-driven converter, chain specs through `ChainSpec`, and provenance proofs
through `load_proof` + `verify_proof_file` (verify-proof's loader). Then a real `node.py --dev` process
gets mutated JSON-RPC bodies over HTTP (keep-alive) and WebSocket.

Mutations: bit flips, byte changes, truncation, extension, deep nesting, and at the structure level
(decoded msgpack or JSON) wrong shapes, huge and negative ints, NaN, lone surrogates, dropped and extra
fields, and deep nesting at a random place. Every input ends as one of: `ok` (a valid input accepted),
`typed` (refused with a named error, counted per name), `untyped` (any other exception, an internal
error -32603 or an HTTP 5xx answer), `crash` (the node process died) or `accepted_invalid` (a mutated
input decoded and passed every check: a bug). A new format (say SCALE extrinsics) is one more `Target`
in `in_process_targets`.

Last line: ``inputs=<n> typed=<n> untyped=<n> crashes=<n> accepted_invalid=<n> max_rss_mb=<n>``.
Usage: ``python bench/fuzz.py [--seed N] [--scale F]`` (F multiplies every target's input count).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import dataclasses
import http.client
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "node"))

import aiohttp
import msgpack
from consortium_chain import KIND, KSPEC, LABELS, LocalChain, model_weights, publish_calls, register_calls
from node_harness import NodeProcess, Signer

import models
from client.convert import to_wire
from client.errors import ClientError
from client.metadata import Metadata
from models.errors import ModelError
from runtime import codec
from runtime.block import Block
from runtime.boundedjson import JsonLimitError, loads_bounded
from runtime.crypto import dev_keypair
from runtime.errors import RuntimeFailure
from runtime.executive import Runtime
from runtime.genesis import ChainSpec, consortium_spec
from runtime.metadata import build_metadata
from runtime.storage.backend import MemoryBackend
from service.provenance import ProvenanceError, export_proof, load_proof, verify_proof_file
from service.rpc import parse_json

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


# --- running -------------------------------------------------------------------------------------------


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


@dataclasses.dataclass
class Fixture:
    """A real consortium chain (LevelDB) with a model, a certified version and its proof."""

    chain: LocalChain
    spec: ChainSpec
    extrinsics: list[bytes]
    block1: bytes
    proof: dict[str, Any]
    artifact: bytes


def build_fixture(path: Path) -> Fixture:
    spec = consortium_spec()
    chain = LocalChain(path, spec)
    chain.block(*register_calls())
    chain.block(*publish_calls(0, 0, model_weights(1)))
    chain.block(*publish_calls(0, 1, model_weights(2), tag="v2"))
    chain.certify(3, (0, 1, 3))
    proof = export_proof(spec, chain.runtime, chain.chaindb, 0, 1)
    block1_hash = chain.chaindb.hash_at(1)
    assert block1_hash is not None
    block1 = chain.chaindb.block_bytes(block1_hash)
    assert block1 is not None
    rt = chain.runtime
    bob, alice = dev_keypair("bob").account, dev_keypair("alice").account
    register = register_calls()[0]
    extrinsics = [
        chain.extrinsic(
            "bob", "Balances.transfer", rt.system.account_info(bob).nonce, {"dest": alice, "value": 5}
        ),
        chain.extrinsic("alice", register[1], rt.system.account_info(alice).nonce, register[2]),
    ]
    for data in extrinsics:
        rt.validate_transaction(data)  # the seeds are valid
    return Fixture(chain, spec, extrinsics, block1, proof, model_weights(2))


def in_process_targets(fx: Fixture, scale: float) -> list[Target]:
    """Every in-process decoder with its seeds (add a format: add a Target here)."""
    rt = fx.chain.runtime
    genesis = Runtime(fx.spec, MemoryBackend())
    genesis.import_block(Block.decode(fx.block1))  # the seed block imports
    genesis.discard()
    kind = models.get_kind(KIND)
    metadata = Metadata(build_metadata(rt))
    call_schemas = _call_arg_schemas(metadata)
    spec_json = fx.spec.to_json()
    proof_text = json.dumps(fx.proof).encode()
    originals = {"xt": set(fx.extrinsics), "block": {fx.block1}}

    def check_extrinsic(data: bytes) -> bool:
        rt.validate_transaction(data)
        return True

    def check_block(data: bytes) -> bool:
        genesis.import_block(Block.decode(data))  # a refused block leaves the state as it was
        genesis.discard()
        return True

    def check_artifact(data: bytes) -> bool:
        weights = kind.decode(data, KSPEC, len(LABELS))  # other weights are valid weights; other bytes
        return kind.encode(weights) != data  # for the same weights (non-canonical) are not

    def check_codec(data: bytes) -> bool:
        codec.unpack(data)
        return False  # any canonical value is a valid decode

    def check_json(data: bytes) -> bool:
        parse_json(data)
        return False

    def check_args(item: tuple[str, Any]) -> bool:
        schema_key, value = item
        to_wire(call_schemas[schema_key], value, "arg", metadata._nested)
        return False

    def check_spec(data: bytes) -> bool:
        from runtime.boundedjson import loads_bounded

        ChainSpec.from_json(loads_bounded(data))
        return False

    def check_proof(data: bytes) -> bool:
        parsed = load_proof(data)
        verify_proof_file(parsed, fx.spec)
        return parsed != fx.proof

    canonical_seeds = [fx.block1, *fx.extrinsics, codec.pack([1, [2, [b"x", "y", None, True]]])]
    arg_seeds = [(k, v) for k, v in _arg_examples(call_schemas).items()]
    n = lambda count: max(1, int(count * scale))  # noqa: E731
    return [
        Target(
            "extrinsic",
            fx.extrinsics,
            n(40_000),
            check_extrinsic,
            mutate_msgpack,
            lambda d: d in originals["xt"],
        ),
        Target(
            "block", [fx.block1], n(12_000), check_block, mutate_msgpack, lambda d: d in originals["block"]
        ),
        Target("artifact", [fx.artifact], n(8_000), check_artifact, mutate_bytes),
        Target("codec", canonical_seeds, n(12_000), check_codec, mutate_msgpack),
        Target("rpc-json", _rpc_seeds(fx), n(12_000), check_json, mutate_json),
        Target("call-args", arg_seeds, n(6_000), check_args, _mutate_arg),
        Target("chain-spec", [spec_json], n(3_000), check_spec, mutate_json),
        Target(
            "proof", [fx.proof], n(3_000), check_proof, lambda rng, seed: _mutate_proof(rng, seed, proof_text)
        ),
    ]


def _call_arg_schemas(metadata: Metadata) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pallet in metadata.raw.get("pallets", []):
        for call in pallet.get("calls", []):
            for arg in call.get("args", []):
                found[f"{pallet['name']}.{call['name']}.{arg['name']}"] = arg["schema"]
    return found


def _arg_examples(schemas: dict[str, Any]) -> dict[str, Any]:
    examples = {}
    for key, schema in schemas.items():
        kind = schema.get("type")
        examples[key] = {"int": 1, "bool": True, "bytes": "0x00", "str": "s", "account": "alice"}.get(
            kind, []
        )
    return examples


def _mutate_arg(rng: random.Random, seed: tuple[str, Any]) -> tuple[str, Any]:
    key, value = seed
    if rng.random() < 0.3:
        return key, mutate_json_text(rng, dumps_odd(value)).decode("utf-8", "replace")
    return key, mutate_json_value(rng, {"v": value}).get("v", json_odd(rng))


def _mutate_proof(rng: random.Random, seed: dict[str, Any], text: bytes) -> bytes:
    if rng.random() < 0.3:
        return mutate_json_text(rng, text)
    proof = mutate_json_value(rng, seed)
    if rng.random() < 0.5:  # flip a hex digit somewhere: structure intact, content wrong
        body = json.dumps(proof)
        spots = [i for i, c in enumerate(body) if c in "0123456789abcdef" and body[i - 1] != "\\"]
        if spots:
            i = rng.choice(spots)
            body = body[:i] + rng.choice("0123456789abcdef") + body[i + 1 :]
        return body.encode()
    return dumps_odd(proof)


def _rpc_seeds(fx: Fixture) -> list[Any]:
    hexed = "0x" + fx.extrinsics[0].hex()
    calls: list[tuple[str, list[Any]]] = [
        ("system_health", []),
        ("chain_getBlockHash", [0]),
        ("chain_getHeader", []),
        ("chain_getBlock", [None]),
        ("state_getStorage", ["0x00"]),
        ("state_getRuntimeVersion", []),
        ("system_accountNextIndex", ["alice"]),
        ("author_submitExtrinsic", [hexed]),
        ("model_get", [0]),
        ("model_list", []),
        ("chain_subscribeNewHeads", []),
        ("engine_createBlock", [True, False]),
    ]
    single = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    return [*single, single[:3], single[6:9]]


# --- a real node -------------------------------------------------------------------------------------


@dataclasses.dataclass
class NodeFuzz:
    """Mutated JSON-RPC bodies to a real node over HTTP and WebSocket."""

    rng: random.Random
    tally: Tally
    seeds: list[Any]
    node: NodeProcess | None = None
    max_rss_kb: int = 0
    extrinsic_hex: str = ""

    def start(self) -> NodeProcess:
        self.node = NodeProcess("--dev", "--tmp", "--seal", "instant", "--rpc-methods", "safe").start()
        return self.node

    def rss_kb(self) -> int:
        assert self.node is not None and self.node.proc is not None
        try:
            for line in Path(f"/proc/{self.node.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.max_rss_kb = max(self.max_rss_kb, int(line.split()[1]))
        except OSError:
            pass
        return self.max_rss_kb

    def body(self) -> bytes:
        seed = self.rng.choice(self.seeds)
        if self.rng.random() < 0.1:
            return seed_with_submit(self.rng, self.extrinsic_hex)
        return mutate_json(self.rng, seed)

    def alive(self) -> bool:
        assert self.node is not None and self.node.proc is not None
        if self.node.proc.poll() is None:
            return True
        self.tally.crashes += 1
        self.tally.examples.append(f"node exited with {self.node.proc.returncode}")
        self.node.close()
        self.start()
        return False

    def classify(self, where: str, status: int, answer: Any, body: bytes) -> None:
        """Count one answer."""
        self.tally.inputs += 1
        if status >= 500 and status != 503:
            self.tally.note_untyped(where, f"HTTP {status}", body)
            return
        if status in (408, 413, 503):
            self.tally.typed[f"HTTP {status}"] += 1
            return
        answers = answer if isinstance(answer, list) else [answer]
        if answer is None:  # notifications only: nothing to answer
            self.tally.ok += 1
            return
        mutants = mutant_submission_ids(body, self.extrinsic_hex)
        for item in answers:
            if not isinstance(item, dict):
                self.tally.note_untyped(where, "answer is not JSON-RPC", answer)
                return
            error = item.get("error")
            if error is not None and error.get("code") == -32603:
                self.tally.note_untyped(where, error.get("message", "internal"), body)
                return
            if error is None and _hashable(item.get("id")) in mutants:
                self.tally.accepted_invalid[f"{where}:author_submitExtrinsic"] += 1
                self.tally.examples.append(f"{where}: accepted {body[:300]!r}")
                return
        if any(isinstance(a, dict) and "error" in a for a in answers):
            codes = sorted({a["error"].get("code") for a in answers if isinstance(a, dict) and "error" in a})
            self.tally.typed[f"rpc {codes[0]}"] += 1
        else:
            self.tally.ok += 1

    def http(self, count: int) -> None:
        assert self.node is not None
        conn = self._connect()
        for i in range(count):
            body = self.body()
            try:
                conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = self._connect()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = self._connect()
                if self.alive():
                    self.tally.note_untyped("http", f"no answer: {type(exc).__name__}", body)
                    self.tally.inputs += 1
                continue
            self.classify("http", status, _json_or_none(raw), body)
            if i % 500 == 0:
                self.alive()
                self.rss_kb()
        conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        assert self.node is not None
        host, port = self.node.url.split("//")[1].rstrip("/").rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=30)

    def ws(self, count: int) -> None:
        asyncio.run(self._ws(count))

    async def _ws(self, count: int) -> None:
        assert self.node is not None
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(self.node.ws_url, max_msg_size=64 * 1024 * 1024)
            for i in range(count):
                text = self.body().decode("utf-8", "replace")  # a text frame carries valid UTF-8
                body = text.encode()
                expects = expects_answer(body)
                try:
                    await ws.send_str(text)
                    answer = await self._answer(ws, 10.0 if expects else 0.3)
                except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                    answer = exc
                if isinstance(answer, BaseException) or (answer is None and expects):
                    if self.alive():
                        self.tally.note_untyped("ws", f"no answer: {answer!r}", body)
                        self.tally.inputs += 1
                    await ws.close()
                    ws = await session.ws_connect(self.node.ws_url, max_msg_size=64 * 1024 * 1024)
                    continue
                self.classify("ws", 200, answer, body)
                if i % 500 == 0:
                    self.alive()
                    self.rss_kb()
            await ws.close()

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return None
            if message.type != aiohttp.WSMsgType.TEXT:
                return ConnectionError(f"WebSocket {message.type.name}")
            data = loads_bounded(message.data, max_bytes=None)
            if isinstance(data, dict) and "method" in data and "id" not in data:
                continue  # a subscription's notification
            return data


def seed_with_submit(rng: random.Random, extrinsic_hex: str) -> bytes:
    """author_submitExtrinsic of a mutated (so invalid) extrinsic."""
    raw = bytes.fromhex(extrinsic_hex[2:])
    mutated = raw
    while mutated == raw:
        mutated = mutate_msgpack(rng, raw)
    return json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "author_submitExtrinsic", "params": ["0x" + mutated.hex()]}
    ).encode()


def mutant_submission_ids(body: bytes, extrinsic_hex: str) -> set[Any]:
    """The (unique) ids of the requests in `body` that submit extrinsic bytes other than the valid seed."""
    try:
        parsed = loads_bounded(body, max_bytes=None)
    except ValueError:
        return set()
    requests = [r for r in (parsed if isinstance(parsed, list) else [parsed]) if isinstance(r, dict)]
    ids = collections.Counter(_hashable(r.get("id")) for r in requests)
    found = set()
    for request in requests:
        params = request.get("params")
        by_name = params.get("extrinsic") if isinstance(params, dict) else None
        submitted = params[0] if isinstance(params, list) and params else by_name
        if request.get("method") == "author_submitExtrinsic" and submitted != extrinsic_hex:
            key = _hashable(request.get("id"))
            if ids[key] == 1:
                found.add(key)
    return found


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True)


def expects_answer(body: bytes) -> bool:
    try:
        parsed = loads_bounded(body, max_bytes=None)
    except ValueError:
        return True
    if isinstance(parsed, dict):
        return "id" in parsed or parsed.get("jsonrpc") != "2.0" or not isinstance(parsed.get("method"), str)
    return True


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads_bounded(raw, max_bytes=None)
    except ValueError:
        return raw


def report(tally: Tally, max_rss_mb: int, seconds: float) -> None:
    print(f"ok={tally.ok} in {seconds:.0f} s")
    print("typed refusals by name:", ", ".join(f"{k}={v}" for k, v in tally.typed.most_common()))
    if tally.untyped:
        print("UNTYPED:", dict(tally.untyped))
    if tally.accepted_invalid:
        print("ACCEPTED INVALID:", dict(tally.accepted_invalid))
    for example in tally.examples:
        print("  e.g.", example)
    typed, untyped, accepted = (sum(c.values()) for c in (tally.typed, tally.untyped, tally.accepted_invalid))
    print(
        f"inputs={tally.inputs} typed={typed} untyped={untyped} crashes={tally.crashes} "
        f"accepted_invalid={accepted} max_rss_mb={max_rss_mb}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every target's input count")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cmu-fuzz-") as tmp:
        fx = build_fixture(Path(tmp) / "db")
        try:
            for target in in_process_targets(fx, args.scale):
                before = tally.inputs
                t0 = time.monotonic()
                run_target(target, rng, tally)
                print(
                    f"{target.name}: {tally.inputs - before} inputs in {time.monotonic() - t0:.1f} s",
                    flush=True,
                )
            seeds = _rpc_seeds(fx)
        finally:
            fx.chain.close()
    fuzz = NodeFuzz(rng, tally, seeds)
    node = fuzz.start()
    try:
        signer = Signer.for_node(node)
        fuzz.extrinsic_hex = (
            "0x" + signer.transfer(dev_keypair("bob"), dev_keypair("alice").account, 1, 0).hex()
        )
        t0 = time.monotonic()
        fuzz.http(max(1, int(8_000 * args.scale)))
        print(f"node over HTTP: done in {time.monotonic() - t0:.1f} s", flush=True)
        t0 = time.monotonic()
        fuzz.ws(max(1, int(4_000 * args.scale)))
        print(f"node over WebSocket: done in {time.monotonic() - t0:.1f} s", flush=True)
        fuzz.alive()
        max_rss_mb = fuzz.rss_kb() // 1024
    finally:
        if fuzz.node is not None:
            fuzz.node.close()
    report(tally, max_rss_mb, time.monotonic() - started)


if __name__ == "__main__":
    main()
