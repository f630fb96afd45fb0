"""Benchmark: import blocks of signed balance transfers through the full state-transition function.

A producer runtime builds blocks of transfers from 10,000 distinct funded senders; a second runtime on a
fresh LevelDB imports them (decode, signature, nonce, fee, dispatch, events, state root, one write batch
per block), which is the path every node takes. The same run measures bare PyNaCl ed25519 verification.
Last line: transfers_per_s=<n> verify_per_s=<n> ratio=<transfers/verify>
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runtime.crypto import Keypair, address, blake2_256, dev_keypair, verify
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import TOKEN, dev_spec
from runtime.storage.backend import LevelDBBackend, MemoryBackend
from runtime.types import AccountId


def funded_spec(keys: list[Keypair]):  # type: ignore[no-untyped-def]
    """The dev spec with every benchmark account funded."""
    spec = dev_spec()
    balances = list(spec.genesis["Balances"]["balances"]) + [
        [address(k.account), 1_000 * TOKEN] for k in keys
    ]
    return spec.with_pallets(genesis={"Balances": {"balances": balances}})


def make_keys(count: int) -> list[Keypair]:
    """Deterministic sender keys."""
    return [Keypair.from_seed(blake2_256(b"bench-sender-%d" % i)) for i in range(count)]


def produce_blocks(spec, keys: list[Keypair], per_block: int) -> list:  # type: ignore[no-untyped-def]
    """Blocks of one transfer per sender, each to the next account, built by a producer runtime."""
    producer = Runtime(spec, MemoryBackend(), autoload=False)
    alice = dev_keypair("alice")
    blocks = []
    call_spec = producer.pallet_by_name("Balances").call_specs["transfer"]
    for start in range(0, len(keys), per_block):
        builder = producer.new_block(producer.head.timestamp + 2_000, alice.account)
        for i in range(start, min(start + per_block, len(keys))):
            dest = keys[(i + 1) % len(keys)].account
            call_wire = [call_spec.pallet_index, call_spec.index, [bytes(dest), 1_000_000 + i]]
            xt = sign_extrinsic(
                keys[i],
                call_wire,
                nonce=0,
                genesis_hash=producer.genesis_hash,
                spec_version=producer.VERSION.spec_version,
            )
            result = builder.push(xt)
            if result.error:
                raise SystemExit(f"transfer failed while producing: {result.error}")
        pending = builder.finish(alice)
        producer.commit(pending)
        blocks.append(pending.block)
    return blocks


def import_rate(spec, blocks: list, path: str) -> float:  # type: ignore[no-untyped-def]
    """Transfers per second imported by a fresh LevelDB-backed runtime (commit included)."""
    backend = LevelDBBackend(path)
    importer = Runtime(spec, backend, autoload=False)
    transfers = 0
    started = time.perf_counter()
    for block in blocks:
        pending = importer.import_block(block)
        importer.commit(pending)
        transfers += len(block.extrinsics) - 1
    elapsed = time.perf_counter() - started
    backend.close()
    return transfers / elapsed


def verify_rate(count: int = 20_000) -> float:
    """Bare PyNaCl verifications per second on the same machine."""
    key = Keypair.from_seed(blake2_256(b"verify-bench"))
    message = os.urandom(120)
    signature = key.sign(message)
    account = AccountId(bytes(key.account))
    started = time.perf_counter()
    for _ in range(count):
        verify(account, message, signature)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--per-block", type=int, default=2_000)
    args = parser.parse_args()
    keys = make_keys(args.accounts)
    spec = funded_spec(keys)
    blocks = produce_blocks(spec, keys, args.per_block)
    with tempfile.TemporaryDirectory() as tmp:
        transfers_per_s = import_rate(spec, blocks, os.path.join(tmp, "db"))
    verify_per_s = verify_rate()
    print(f"imported {len(blocks)} blocks of {args.per_block} transfers from {args.accounts} senders")
    print(
        f"transfers_per_s={transfers_per_s:.0f} verify_per_s={verify_per_s:.0f} "
        f"ratio={transfers_per_s / verify_per_s:.3f}"
    )


if __name__ == "__main__":
    main()
