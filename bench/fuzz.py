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
import dataclasses
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "node"))

from consortium_chain import KIND, KSPEC, LABELS, LocalChain, model_weights, publish_calls, register_calls
from fuzzing.core import (
    Tally,
    Target,
    dumps_odd,
    json_odd,
    mutate_bytes,
    mutate_json,
    mutate_json_text,
    mutate_json_value,
    mutate_msgpack,
    run_target,
)
from fuzzing.node import NodeFuzz
from node_harness import Signer

from cmu import models
from cmu.client.convert import to_wire
from cmu.client.metadata import Metadata
from cmu.node.provenance import export_proof, load_proof, verify_proof_file
from cmu.node.rpc import parse_json
from runtime import codec
from runtime.block import Block
from runtime.boundedjson import loads_bounded
from runtime.crypto import dev_keypair
from runtime.executive import Runtime
from runtime.genesis import ChainSpec, consortium_spec
from runtime.metadata import build_metadata
from runtime.storage.backend import MemoryBackend


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
