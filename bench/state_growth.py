"""Benchmark: the cost of the state root plus the commit of the same 1,000-transfer block on a state of
10^4 and of 10^6 accounts (LevelDB backend, the executive's real finish + commit path).

The accounts are written in bulk (through the runtime's storage items and the trie, committed in
chunks) before timing, by the same runtime, so its trie cache is warm as in a running node; the timed
part is BlockBuilder.finish (on_finalize, events, extrinsics root, state root) plus Runtime.commit (one
LevelDB batch).
Last line: root_commit_ms_small=<n> root_commit_ms_large=<n> ratio=<large/small>
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pallets.balances import Balances
from pallets.system import AccountInfo
from runtime.crypto import Keypair, blake2_256, dev_keypair
from runtime.executive import META_HEAD, Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import TOKEN, dev_spec
from runtime.storage.backend import LevelDBBackend
from runtime.types import AccountId

CHUNK = 100_000
SIGNERS = 8_000  # funded senders with real keys; the rest of the state is other accounts


def populate(runtime: Runtime, accounts: int) -> list[Keypair]:
    """Fund `accounts` accounts (the first SIGNERS with real keys) and commit them in chunks."""
    signers = [Keypair.from_seed(blake2_256(b"growth-%d" % i)) for i in range(SIGNERS)]
    ids = [k.account for k in signers] + [
        AccountId(blake2_256(b"filler-%d" % i)) for i in range(accounts - SIGNERS)
    ]
    for start in range(0, len(ids), CHUNK):
        for who in ids[start : start + CHUNK]:
            runtime.system.set_account_info(who, AccountInfo(0, TOKEN, 0))
        total = runtime.pallet(Balances).total_issuance.get() + TOKEN * len(ids[start : start + CHUNK])
        runtime.pallet(Balances).total_issuance.set(total)
        state_root, nodes = runtime.trie.update(runtime.overlay.changes())
        puts, deletes = runtime.overlay.backend_ops()
        runtime.backend.write(puts + nodes, deletes)
        runtime.overlay.discard()
    # The populated state becomes the head's state (a setup shortcut; the timed blocks are real).
    runtime.head = dataclasses.replace(runtime.head, state_root=state_root)
    runtime.backend.write([(META_HEAD, runtime.head.encode())])
    if isinstance(runtime.backend, LevelDBBackend):
        runtime.backend.compact()  # let the bulk load settle, as a running node's database has
    return signers


def time_block(runtime: Runtime, signers: list[Keypair], round_: int, transfers: int) -> float:
    """Build one block of `transfers` transfers and time finish (roots) + commit, in milliseconds."""
    alice = dev_keypair("alice")
    spec = runtime.pallet_by_name("Balances").call_specs["transfer"]
    builder = runtime.new_block(runtime.head.timestamp + 6_000, alice.account)
    offset = round_ * transfers
    for i in range(transfers):
        sender = signers[(offset + i) % len(signers)]
        dest = AccountId(blake2_256(b"dest-%d-%d" % (round_, i)))
        call = [spec.pallet_index, spec.index, [bytes(dest), TOKEN // 10]]
        nonce = runtime.system.next_nonce(sender.account)
        xt = sign_extrinsic(
            sender,
            call,
            nonce=nonce,
            genesis_hash=runtime.genesis_hash,
            spec_version=runtime.VERSION.spec_version,
        )
        builder.push(xt)
    started = time.perf_counter()
    pending = builder.finish(alice)
    runtime.commit(pending)
    return (time.perf_counter() - started) * 1000


def measure(accounts: int, rounds: int, transfers: int) -> float:
    """Median root+commit milliseconds on a state of `accounts` accounts."""
    with tempfile.TemporaryDirectory() as tmp:
        backend = LevelDBBackend(os.path.join(tmp, "db"))
        runtime = Runtime(dev_spec(), backend, autoload=False)
        signers = populate(runtime, accounts)  # the trie cache stays warm, as in a running node
        samples = [time_block(runtime, signers, r, transfers) for r in range(rounds)]
        backend.close()
    return statistics.median(samples[1:] if len(samples) > 2 else samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--transfers", type=int, default=1_000)
    args = parser.parse_args()
    small = measure(args.small, args.rounds, args.transfers)
    large = measure(args.large, args.rounds, args.transfers)
    print(f"root_commit_ms_small={small:.1f} root_commit_ms_large={large:.1f} ratio={large / small:.2f}")


if __name__ == "__main__":
    main()
