"""Provenance proofs: one self-contained JSON file proving a model version's record on a finalized block,
made by a node (`export_proof`) and checked offline with only the chain spec (`verify_proof_file`).

The file holds the Versioning record's canonical bytes and storage key, the state proof of that key
against the block's state root, the block's header and the block's finality certificate. Verification
checks the certificate against the spec's validators (and the chain's genesis hash, rebuilt from the
spec), that the header is the certified block, then the Merkle proof, then the record itself. Every
decoded field in the file must equal what its bytes say, so no part of the file can change unnoticed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from cmu.node.chaindb import ChainDb
from cmu.node.finality import FinalityCertificate, FinalityError, signer_names, verify_certificate
from pallets.versioning import Versioning
from pallets.versioning.types import VersionRecord
from runtime import types
from runtime.block import Header
from runtime.boundedjson import JsonLimitError, loads_bounded
from runtime.crypto import address
from runtime.errors import CodecError, PalletError
from runtime.executive import TRIE_PREFIX, Runtime
from runtime.genesis import ChainSpec
from runtime.storage.backend import MemoryBackend
from runtime.trie import ProofError, StateTrie, verify_proof

FORMAT: Final = "cmu-provenance-proof/1"
"""The `format` field of a proof file; another value is refused."""
TOP_FIELDS: Final = ("format", "chain", "model", "version", "record", "stateProof", "block", "certificate")
"""The fields of a proof file (no others are allowed)."""
MAX_PROOF_NODES: Final = 128
"""Most nodes a state proof may hold (a path is at most 64 branches and one value)."""
PROOF_MAX_DEPTH: Final = 16
"""Deepest JSON nesting a proof file may have (a real one nests 4 levels)."""
PROOF_MAX_BYTES: Final = 8 * 1024 * 1024
"""Largest proof file read (a real one is a few KB plus its trie nodes)."""


class ProvenanceError(Exception):
    """A proof that cannot be exported or that does not verify, with the reason."""


def load_proof(text: str | bytes) -> Any:
    """The JSON of a proof file, size and depth bounded before parsing; ProvenanceError if it is not."""
    try:
        return loads_bounded(text, PROOF_MAX_DEPTH, PROOF_MAX_BYTES)
    except JsonLimitError as exc:
        raise ProvenanceError(f"proof file refused unparsed: {exc}") from exc
    except ValueError as exc:
        raise ProvenanceError(f"not JSON: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class Proven:
    """What a verified proof establishes."""

    chain: str
    genesis_hash: bytes
    record: VersionRecord
    block_number: int
    block_hash: bytes
    signers: tuple[str, ...]
    validators: int

    def summary(self) -> dict[str, Any]:
        """The facts, for printing."""
        return {
            "chain": self.chain,
            "genesisHash": _hex(self.genesis_hash),
            "model": self.record.model,
            "version": self.record.number,
            "artifactRoot": _hex(self.record.artifact),
            "author": None if self.record.author is None else address(self.record.author),
            "cause": self.record.cause.name,
            "parent": self.record.parent,
            "recordedAtBlock": self.record.block,
            "finalizedBlock": {"number": self.block_number, "hash": _hex(self.block_hash)},
            "signers": list(self.signers),
            "validators": self.validators,
        }


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def record_json(record: VersionRecord) -> dict[str, Any]:
    """A version record's fields as JSON (hex for bytes, the cause's name)."""
    return {
        "model": record.model,
        "number": record.number,
        "parent": record.parent,
        "artifact": _hex(record.artifact),
        "author": None if record.author is None else address(record.author),
        "block": record.block,
        "cause": record.cause.name,
        "notesHash": None if record.notes_hash is None else _hex(record.notes_hash),
        "metrics": [{"name": m.name, "value": m.value} for m in record.metrics],
        "tag": record.tag,
        "contributions": list(record.contributions),
        "depth": record.depth,
    }


def version_key(runtime: Runtime, model: int, version: int) -> bytes:
    """The state key of the Versioning record (model, version)."""
    if not runtime.has_pallet(Versioning.name):
        raise ProvenanceError("the chain does not run the Versioning pallet")
    if not (0 <= model <= 0xFFFFFFFF and 0 <= version <= 0xFFFFFFFF):
        raise ProvenanceError("model and version are 32-bit unsigned integers")
    return runtime.pallet(Versioning).versions.key(model, version)


# --- export (node side) ------------------------------------------------------------------------------


def certified_block(chaindb: ChainDb, at: int | bytes | None) -> tuple[Header, FinalityCertificate]:
    """The block to prove against: `at` (a number or hash) or the newest certified one, with its cert."""
    if at is None:
        cert = chaindb.latest_certificate()
        if cert is None:
            raise ProvenanceError("no block has a finality certificate yet")
    else:
        cert = chaindb.certificate_at(at) if isinstance(at, int) else chaindb.certificate_for(at)
        if cert is None:
            shown = f"#{at}" if isinstance(at, int) else _hex(at)
            raise ProvenanceError(f"block {shown} has no finality certificate")
    header = chaindb.header(cert.block_hash)
    if header is None:
        raise ProvenanceError(f"certified block {_hex(cert.block_hash)} is not stored")
    return header, cert


def export_proof(
    spec: ChainSpec,
    runtime: Runtime,
    chaindb: ChainDb,
    model: int,
    version: int,
    at: int | bytes | None = None,
) -> dict[str, Any]:
    """The proof file's JSON for version `version` of `model` at a certified block (default: the newest)."""
    header, cert = certified_block(chaindb, at)
    key = version_key(runtime, model, version)
    value = chaindb.state_at(key, header.number)
    if value is None:
        raise ProvenanceError(
            f"model {model} has no stored version {version} at block #{header.number} "
            "(version 0 is stored once the model's first version is published)"
        )
    trie = StateTrie(chaindb.backend, TRIE_PREFIX)
    proof = trie.prove([key], root=header.state_root, values=chaindb.state_getter(header.number))
    record: VersionRecord = types.decode(VersionRecord, value)
    return {
        "format": FORMAT,
        "chain": {"name": spec.name, "id": spec.id, "genesisHash": _hex(runtime.genesis_hash)},
        "model": model,
        "version": version,
        "record": {"key": _hex(key), "value": _hex(value), "fields": record_json(record)},
        "stateProof": [_hex(node) for node in proof],
        "block": {"header": _hex(header.encode()), "hash": _hex(cert.block_hash), "fields": header.to_json()},
        "certificate": {
            "encoded": _hex(cert.encode()),
            "fields": cert.to_json(),
            "signerNames": signer_names(cert, spec.validators),
        },
    }


# --- verification (offline) ----------------------------------------------------------------------------


_GENESIS: dict[bytes, Runtime] = {}
"""Genesis runtimes already built, by spec hash (a verifier checking many proofs builds each once)."""


def genesis_runtime(spec: ChainSpec) -> Runtime:
    """The spec's chain at genesis, built in memory (its genesis hash and storage layout)."""
    spec_hash = spec.spec_hash()
    found = _GENESIS.get(spec_hash)
    if found is not None:
        return found
    try:
        runtime = Runtime(spec, MemoryBackend())
    except (PalletError, ValueError) as exc:
        raise ProvenanceError(f"cannot build the spec's genesis: {exc}") from exc
    if len(_GENESIS) >= 4:
        _GENESIS.clear()
    _GENESIS[spec_hash] = runtime
    return runtime


def verify_proof_file(data: Any, spec: ChainSpec) -> Proven:
    """Check a proof file's JSON against a chain spec; ProvenanceError naming the first failed check."""
    if not spec.validators:
        raise ProvenanceError("the chain spec lists no validators: it cannot check a finality certificate")
    body = _fields(data, TOP_FIELDS, "proof file")
    if body["format"] != FORMAT:
        raise ProvenanceError(f"unknown proof format {body['format']!r} (expected {FORMAT!r})")
    runtime = genesis_runtime(spec)
    genesis = runtime.genesis_hash
    _check_chain(body["chain"], spec, genesis)
    cert = _checked_certificate(body["certificate"], spec, genesis)
    header = _checked_header(body["block"], cert)
    record = _checked_record(body, runtime, header)
    names = tuple(signer_names(cert, spec.validators))
    return Proven(spec.name, genesis, record, header.number, cert.block_hash, names, len(spec.validators))


def _fields(data: Any, names: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProvenanceError(f"{what}: expected a JSON object")
    if sorted(data) != sorted(names):
        raise ProvenanceError(f"{what}: expected exactly the fields {', '.join(names)}")
    return data


def _bytes(value: Any, what: str) -> bytes:
    """Strict 0x + lowercase hex (one text form per value)."""
    if not isinstance(value, str) or not value.startswith("0x") or value[2:] != value[2:].lower():
        raise ProvenanceError(f"{what}: expected 0x + lowercase hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ProvenanceError(f"{what}: not hex") from exc


def _check_chain(chain: Any, spec: ChainSpec, genesis: bytes) -> None:
    fields = _fields(chain, ("name", "id", "genesisHash"), "chain")
    if fields["name"] != spec.name or fields["id"] != spec.id:
        raise ProvenanceError(
            f"the proof is for chain {fields['name']!r} ({fields['id']!r}), "
            f"the spec is {spec.name!r} ({spec.id!r})"
        )
    if _bytes(fields["genesisHash"], "chain.genesisHash") != genesis:
        raise ProvenanceError("the proof's genesis hash is not the spec's genesis")


def _checked_certificate(part: Any, spec: ChainSpec, genesis: bytes) -> FinalityCertificate:
    fields = _fields(part, ("encoded", "fields", "signerNames"), "certificate")
    try:
        cert = FinalityCertificate.decode(_bytes(fields["encoded"], "certificate.encoded"))
        if cert.to_json() != fields["fields"]:
            raise ProvenanceError("certificate.fields do not match the certificate's bytes")
        verify_certificate(cert, spec.validators, genesis)
    except FinalityError as exc:
        raise ProvenanceError(f"finality certificate refused: {exc}") from exc
    if fields["signerNames"] != signer_names(cert, spec.validators):
        raise ProvenanceError("certificate.signerNames are not the certificate's signers")
    return cert


def _checked_header(part: Any, cert: FinalityCertificate) -> Header:
    fields = _fields(part, ("header", "hash", "fields"), "block")
    try:
        header = Header.decode(_bytes(fields["header"], "block.header"))
    except CodecError as exc:
        raise ProvenanceError(f"block.header does not decode: {exc}") from exc
    if header.hash() != cert.block_hash or _bytes(fields["hash"], "block.hash") != cert.block_hash:
        raise ProvenanceError("the header is not the certified block (hash differs)")
    if header.number != cert.number or header.state_root != cert.state_root:
        raise ProvenanceError("the header's number or state root differs from the certificate's")
    if header.to_json() != fields["fields"]:
        raise ProvenanceError("block.fields do not match the header's bytes")
    return header


def _checked_record(body: Mapping[str, Any], runtime: Runtime, header: Header) -> VersionRecord:
    model, version = body["model"], body["version"]
    if type(model) is not int or type(version) is not int:
        raise ProvenanceError("model and version must be integers")
    fields = _fields(body["record"], ("key", "value", "fields"), "record")
    key = version_key(runtime, model, version)
    if _bytes(fields["key"], "record.key") != key:
        raise ProvenanceError(f"record.key is not the storage key of model {model} version {version}")
    value = _bytes(fields["value"], "record.value")
    proven = _proven_value(body["stateProof"], header.state_root, key)
    if proven != value:
        raise ProvenanceError("record.value is not the value the state proof proves")
    try:
        record: VersionRecord = types.decode(VersionRecord, value)
    except CodecError as exc:
        raise ProvenanceError(f"record.value is not a version record: {exc}") from exc
    if (record.model, record.number) != (model, version):
        raise ProvenanceError(f"the record is model {record.model} version {record.number}")
    if record_json(record) != fields["fields"]:
        raise ProvenanceError("record.fields do not match the record's bytes")
    return record


def _proven_value(nodes: Any, state_root: bytes, key: bytes) -> bytes:
    if not isinstance(nodes, list) or not 0 < len(nodes) <= MAX_PROOF_NODES:
        raise ProvenanceError(f"stateProof: expected a list of 1 to {MAX_PROOF_NODES} hex nodes")
    proof = [_bytes(node, f"stateProof[{i}]") for i, node in enumerate(nodes)]
    if len(set(proof)) != len(proof):
        raise ProvenanceError("stateProof repeats a node")
    try:
        value = verify_proof(state_root, key, proof)
    except ProofError as exc:
        raise ProvenanceError(f"state proof refused: {exc}") from exc
    if value is None:
        raise ProvenanceError("the state proof shows the record absent at the certified block")
    return value


__all__ = [
    "FORMAT",
    "Proven",
    "ProvenanceError",
    "certified_block",
    "export_proof",
    "record_json",
    "verify_proof_file",
    "version_key",
]
