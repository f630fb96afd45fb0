"""A consortium chain built in-process on a real LevelDB, as the node's pieces build it: signed extrinsics,
blocks sealed by the round-robin validator and committed with their chain-database records, and finality
certificates signed with the spec's (development) validator keys. Imported as `from consortium_chain import
...` by the finality and provenance tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmu import models
from cmu.formats import artifact as art
from cmu.node.finality import FinalityCertificate, FinalityTarget, aggregate, sign_vote, verify_certificate
from cmu.node.runner import OpenChain, open_chain
from pallets.model_registry.types import InputSpec
from runtime.block import Header
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import ChainSpec, consortium_spec
from runtime.validators import dev_validator_keys

KIND = "sparse_perceptron"
LABELS = ("cat", "dog", "eel")
SPEC = InputSpec(12, True, 0, 4 * models.SCALE, 6)
KSPEC = models.InputSpec(SPEC.n_features, SPEC.sparse, SPEC.min_value, SPEC.max_value, SPEC.max_nonzeros)
BLOCK_MS = 6_000


class LocalChain:
    """A chain database with its runtime, authored and certified block by block."""

    def __init__(self, path: Path, spec: ChainSpec | None = None) -> None:
        self.spec = spec or consortium_spec()
        self.opened: OpenChain = open_chain(self.spec, path)
        self.runtime = self.opened.runtime
        self.chaindb = self.opened.chaindb

    def close(self) -> None:
        """Close LevelDB."""
        self.opened.close()

    def extrinsic(self, who: str, call: str, nonce: int, kwargs: dict[str, Any]) -> bytes:
        """A signed extrinsic by dev account `who`."""
        rt = self.runtime
        return sign_extrinsic(
            dev_validator_keys(who).keypair,
            rt.make_call(call, **kwargs).to_wire(),
            nonce=nonce,
            genesis_hash=rt.genesis_hash,
            spec_version=rt.VERSION.spec_version,
        )

    def block(self, *calls: tuple[str, str, dict[str, Any]]) -> Header:
        """Author, seal and commit one block of (signer, call, arguments); every call must succeed."""
        rt = self.runtime
        number = rt.head.number + 1
        names = [v.name for v in self.spec.validators]
        author = dev_validator_keys(names[number % len(names)]).keypair
        builder = rt.new_block(rt.head.timestamp + BLOCK_MS, author.account)
        nonces: dict[str, int] = {}
        for who, name, kwargs in calls:
            account = dev_validator_keys(who).account
            nonce = nonces.get(who, rt.system.account_info(account).nonce)
            nonces[who] = nonce + 1
            result = builder.push(self.extrinsic(who, name, nonce, kwargs))
            if result.error is not None:
                raise AssertionError(f"{name} failed: {result.error} {result.message}")
        pending = builder.finish(author)
        rt.commit(pending, extra_puts=self.chaindb.block_records(pending, finalize=False))
        self.chaindb.advance(pending.header, finalize=False)
        return pending.header

    def target(self, number: int) -> FinalityTarget:
        """The finality target of best-chain block `number`."""
        block_hash = self.chaindb.hash_at(number)
        header = None if block_hash is None else self.chaindb.header(block_hash)
        if header is None:
            raise AssertionError(f"no block #{number}")
        return FinalityTarget.of_header(self.runtime.genesis_hash, header)

    def certificate(self, number: int, signers: tuple[int, ...] = (0, 1, 2)) -> FinalityCertificate:
        """A certificate of block `number` signed by the validators at `signers`."""
        target = self.target(number)
        names = [v.name for v in self.spec.validators]
        votes = [sign_vote(dev_validator_keys(names[i]), i, target) for i in signers]
        return aggregate(votes)

    def certify(self, number: int, signers: tuple[int, ...] = (0, 1, 2)) -> FinalityCertificate:
        """Certify block `number`, verify the certificate and store it (finalizing the block)."""
        cert = self.certificate(number, signers)
        verify_certificate(cert, self.spec.validators, self.runtime.genesis_hash)
        self.chaindb.finalize_with_certificate(cert)
        return cert


def model_weights(steps: int) -> bytes:
    """Canonical artifact bytes of the sparse perceptron after `steps` deterministic training steps."""
    kind = models.get_kind(KIND)
    weights = kind.init_weights(KSPEC, len(LABELS))
    one = models.SCALE
    rows = [([0, 1], [one, one]), ([4, 5], [one, 2 * one]), ([8, 9], [one, one])]
    for step in range(steps):
        weights = kind.update(weights, rows[step % len(rows)], (step + 1) % len(LABELS)).weights
    return bytes(kind.encode(weights))


def register_calls(who: str = "alice") -> list[tuple[str, str, dict[str, Any]]]:
    """Register model 0 (a sparse perceptron with its initial weights)."""
    return [
        (
            who,
            "ModelRegistry.register",
            {
                "name": "m",
                "description": "d",
                "task": "t",
                "kind": KIND,
                "input_spec": SPEC,
                "labels": LABELS,
                "license": "MIT",
                "artifact": None,
            },
        )
    ]


def publish_calls(
    model: int, upload_id: int, data: bytes, who: str = "alice", tag: str | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """Upload `data` (as upload `upload_id`) and publish it as the model's next version."""
    root = art.artifact_root(data)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (who, "ModelRegistry.begin_upload", {"root": root, "size": len(data)})
    ]
    for index, piece in enumerate(art.split_chunks(data)):
        chunk = {"upload": upload_id, "index": index, "data": piece}
        calls.append((who, "ModelRegistry.upload_chunk", chunk))
    calls.append((who, "ModelRegistry.finish_upload", {"upload": upload_id}))
    calls.append(
        (
            who,
            "Versioning.publish_version",
            {"model": model, "artifact": root, "tag": tag, "notes_hash": None, "metrics": []},
        )
    )
    return calls
