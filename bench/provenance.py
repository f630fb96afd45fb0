"""Benchmark of provenance proofs: export from a LevelDB chain database and offline verification.

Builds a consortium chain (4 dev validators) on a temporary LevelDB with --accounts funded accounts (a
deeper state trie) and one model with --versions versions, certifies the head with 3 of 4 validator
signatures, then times `export_proof` and `verify_proof_file` (the code behind `node.py export-proof` and
`verify-proof`) for every version, and one verification on py-ecc (the reference BLS backend). Last line:
``export_proof_ms=<median> verify_proof_ms=<median> verify_proof_pyecc_ms=<n> proof_bytes=<median>``.
Usage: ``python bench/provenance.py [--accounts N] [--versions N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "node"))

from consortium_chain import LocalChain, model_weights, publish_calls, register_calls

from cmu.node.provenance import export_proof, verify_proof_file
from runtime import bls
from runtime.crypto import dev_keypair
from runtime.genesis import ChainSpec, consortium_spec

TRANSFERS_PER_BLOCK = 500


def build(path: Path, accounts: int, versions: int) -> LocalChain:
    """The chain: funded accounts, a model, `versions` versions, the head certified."""
    chain = LocalChain(path, consortium_spec())
    for start in range(0, accounts, TRANSFERS_PER_BLOCK):
        count = min(TRANSFERS_PER_BLOCK, accounts - start)
        calls = [
            ("bob", "Balances.transfer", {"dest": dev_keypair(f"user{start + i}").account, "value": 10**12})
            for i in range(count)
        ]
        chain.block(*calls)
    chain.block(*register_calls())
    for version in range(versions):
        calls = publish_calls(0, version, model_weights(version % 3 + 1))
        chain.block(*(calls if version < 3 else calls[-1:]))  # later versions republish a stored artifact
    chain.certify(chain.runtime.head.number)
    return chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--versions", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cmu-bench-provenance-") as tmp:
        chain = build(Path(tmp) / "db", args.accounts, args.versions)
        spec = chain.spec
        exports, verifies, sizes = [], [], []
        proofs: list[dict[str, Any]] = []
        try:
            for version in range(args.versions + 1):
                start = time.perf_counter()
                proof = export_proof(spec, chain.runtime, chain.chaindb, 0, version)
                exports.append(time.perf_counter() - start)
                proofs.append(proof)
                sizes.append(len(json.dumps(proof)))
        finally:
            chain.close()
        verify_proof_file(proofs[0], spec)  # builds the genesis once (cached, as a verifier of many proofs)
        for proof in proofs:
            start = time.perf_counter()
            verify_proof_file(proof, spec)
            verifies.append(time.perf_counter() - start)
        backend = bls.default_backend().name
        pyecc = verify_on_reference(proofs[-1], spec)
    nodes = len(proofs[0]["stateProof"])
    print(f"backend={backend} proofs={len(proofs)} accounts={args.accounts} proof_nodes={nodes}")
    print(
        f"export_proof_ms={statistics.median(exports) * 1e3:.2f} "
        f"verify_proof_ms={statistics.median(verifies) * 1e3:.2f} "
        f"verify_proof_pyecc_ms={pyecc * 1e3:.0f} proof_bytes={int(statistics.median(sizes))}"
    )


def verify_on_reference(proof: dict[str, Any], spec: ChainSpec) -> float:
    """Seconds of one verify_proof_file with py-ecc as the process's BLS backend."""
    saved = os.environ.get(bls.BACKEND_ENV)
    os.environ[bls.BACKEND_ENV] = bls.PY_ECC
    bls.default_backend.cache_clear()
    try:
        start = time.perf_counter()
        verify_proof_file(proof, spec)
        return time.perf_counter() - start
    finally:
        if saved is None:
            del os.environ[bls.BACKEND_ENV]
        else:
            os.environ[bls.BACKEND_ENV] = saved
        bls.default_backend.cache_clear()


if __name__ == "__main__":
    main()
