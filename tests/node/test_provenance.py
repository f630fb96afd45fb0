"""Provenance proofs on a consortium chain built on LevelDB: a model with versions, certificates signed with
the spec's validator keys; the exported proof verifies offline (in-process and through `node.py
verify-proof`), and is refused when any byte of the record, the state proof, the header or the certificate
changes, or when the spec's validator set or chain differs."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from consortium_chain import LocalChain, model_weights, publish_calls, register_calls
from node_harness import NodeProcess, RpcCallError, run_cli

from cmu.formats import artifact as art
from cmu.node.config import database_path
from cmu.node.provenance import ProvenanceError, export_proof, verify_proof_file
from pallets.versioning.types import Cause
from runtime.crypto import dev_keypair
from runtime.genesis import consortium_spec
from runtime.validators import dev_validator

SPEC = consortium_spec()


class Built:
    """The chain's files and what the tests compare against."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.spec_file = base / "spec.json"
        self.spec_file.write_text(json.dumps(SPEC.to_json(), indent=2))
        self.proof: dict[str, Any] = {}
        self.block_hashes: dict[int, bytes] = {}

    def export(self, model: int, version: int, at: int | bytes | None = None) -> dict[str, Any]:
        chain = LocalChain(database_path(self.base, SPEC), SPEC)
        try:
            return export_proof(SPEC, chain.runtime, chain.chaindb, model, version, at)
        finally:
            chain.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Blocks: #1 register model 0; #2 publish v1; #3 publish v2 (certified); #4 publish v3 (not)."""
    result = Built(tmp_path_factory.mktemp("provenance"))
    chain = LocalChain(database_path(result.base, SPEC), SPEC)
    try:
        chain.block(*register_calls())
        chain.block(*publish_calls(0, 0, model_weights(1)))
        chain.block(*publish_calls(0, 1, model_weights(2), tag="v2"))
        chain.certify(3, (0, 1, 3))
        chain.block(*publish_calls(0, 2, model_weights(3)))
        result.block_hashes = {n: chain.target(n).block_hash for n in range(5)}
        result.proof = export_proof(SPEC, chain.runtime, chain.chaindb, 0, 1)
    finally:
        chain.close()
    return result


def test_export_proof_and_verify_offline_works(built):
    proven = verify_proof_file(copy.deepcopy(built.proof), SPEC)
    record = proven.record
    assert (record.model, record.number, record.parent) == (0, 1, 0)
    assert record.artifact == art.artifact_root(model_weights(1))
    assert record.author == dev_keypair("alice").account and record.cause is Cause.UPLOAD
    assert record.block == 2
    assert (proven.block_number, proven.block_hash) == (3, built.block_hashes[3])
    assert proven.signers == ("alice", "bob", "dave") and proven.validators == 4


def test_other_versions_are_provable(built):
    v0 = verify_proof_file(built.export(0, 0), SPEC).record
    v2 = verify_proof_file(built.export(0, 2), SPEC).record
    assert (v0.number, v0.parent, v0.author, v0.block) == (0, None, dev_keypair("alice").account, 1)
    assert v0.artifact == art.artifact_root(model_weights(0))  # the registered initial weights
    assert (v2.number, v2.tag, v2.artifact) == (2, "v2", art.artifact_root(model_weights(2)))


def test_export_fails_when_the_version_is_not_yet_finalized(built):
    with pytest.raises(ProvenanceError, match="no stored version 3 at block #3"):
        built.export(0, 3)
    with pytest.raises(ProvenanceError, match="block #4 has no finality certificate"):
        built.export(0, 3, at=4)
    with pytest.raises(ProvenanceError, match="has no finality certificate"):
        built.export(0, 1, at=built.block_hashes[2])


def test_export_at_a_certified_block_by_hash_works(built):
    proof = built.export(0, 2, at=built.block_hashes[3])
    assert proof == built.export(0, 2)


# --- tampering -------------------------------------------------------------------------------------


def _fields_of(proof: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """Every hex field carrying bytes the proof rests on: (label, path into the JSON)."""
    paths: list[tuple[str, list[Any]]] = [
        ("record.value", ["record", "value"]),
        ("record.key", ["record", "key"]),
        ("block.header", ["block", "header"]),
        ("certificate", ["certificate", "encoded"]),
    ]
    paths += [(f"stateProof[{i}]", ["stateProof", i]) for i in range(len(proof["stateProof"]))]
    return paths


def _get(proof: Any, path: list[Any]) -> Any:
    for step in path:
        proof = proof[step]
    return proof


def _set(proof: Any, path: list[Any], value: Any) -> None:
    for step in path[:-1]:
        proof = proof[step]
    proof[path[-1]] = value


def test_every_flipped_byte_of_record_proof_header_and_certificate_is_refused(built):
    """One bit of every byte, in every part: each of these thousands of variants is refused."""
    checked = 0
    for label, path in _fields_of(built.proof):
        original = bytes.fromhex(_get(built.proof, path)[2:])
        for position in range(len(original)):
            tampered = bytearray(original)
            tampered[position] ^= 0x01
            proof = copy.deepcopy(built.proof)
            _set(proof, path, "0x" + tampered.hex())
            with pytest.raises(ProvenanceError):
                verify_proof_file(proof, SPEC)
            checked += 1
        assert len(original) > 0, label
    assert checked > 1_000


@pytest.mark.parametrize("mask", [0x80, 0xFF])
def test_other_flips_of_every_byte_are_refused(built, mask):
    """Other changes of each byte (high bit, all bits) in the record, header and certificate."""
    for _label, path in _fields_of(built.proof)[:4]:
        original = bytes.fromhex(_get(built.proof, path)[2:])
        for position in range(len(original)):
            tampered = bytearray(original)
            tampered[position] ^= mask
            proof = copy.deepcopy(built.proof)
            _set(proof, path, "0x" + tampered.hex())
            with pytest.raises(ProvenanceError):
                verify_proof_file(proof, SPEC)


def test_flipped_bytes_of_the_file_are_refused(built):
    """The file as written: every third byte's low bit flipped is bad JSON or a refused proof."""
    text = json.dumps(built.proof).encode()
    positions = range(0, len(text), 3)
    refused = 0
    for position in positions:
        tampered = bytearray(text)
        tampered[position] ^= 0x01
        try:
            data = json.loads(bytes(tampered))
        except ValueError:
            refused += 1
            continue
        with pytest.raises(ProvenanceError):
            verify_proof_file(data, SPEC)
        refused += 1
    assert refused == len(positions) > 1_000


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["record", "fields", "cause"], "TRAINING", "record.fields"),
        (["record", "fields", "artifact"], "0x" + "00" * 32, "record.fields"),
        (["block", "fields", "number"], 4, "block.fields"),
        (["certificate", "signerNames"], ["alice", "bob", "charlie"], "signerNames"),
        (["model"], 1, "record.key"),
        (["version"], 2, "record.key"),
        (["chain", "name"], "Other", "chain"),
        (["format"], "cmu-provenance-proof/0", "format"),
    ],
)
def test_changed_decoded_fields_are_refused(built, path, value, message):
    proof = copy.deepcopy(built.proof)
    _set(proof, path, value)
    with pytest.raises(ProvenanceError, match=message):
        verify_proof_file(proof, SPEC)


def test_record_of_another_version_with_its_own_key_is_refused(built):
    """A genuine proof of version 2 relabelled as version 1 fails: the key binds model and version."""
    other = built.export(0, 2)
    proof = copy.deepcopy(built.proof)
    proof["record"] = other["record"]
    with pytest.raises(ProvenanceError, match=r"record\.key"):
        verify_proof_file(proof, SPEC)
    proof = copy.deepcopy(built.proof)
    proof["stateProof"] = other["stateProof"]
    with pytest.raises(ProvenanceError, match="state proof"):
        verify_proof_file(proof, SPEC)


def test_proof_is_refused_against_another_validator_set_or_chain(built):
    others = consortium_spec(("alice", "bob", "charlie", "eve"))  # the validators are part of genesis
    with pytest.raises(ProvenanceError, match="genesis"):
        verify_proof_file(copy.deepcopy(built.proof), others)
    renamed = consortium_spec(chain_id="other-consortium")
    with pytest.raises(ProvenanceError, match="chain"):
        verify_proof_file(copy.deepcopy(built.proof), renamed)
    no_validators = consortium_spec().with_validators([])
    with pytest.raises(ProvenanceError, match="no validators"):
        verify_proof_file(copy.deepcopy(built.proof), no_validators)


def test_certificate_of_too_few_signers_is_refused(tmp_path):
    chain = LocalChain(tmp_path / "db", SPEC)
    try:
        chain.block(*register_calls())
        chain.block(*publish_calls(0, 0, model_weights(1)))
        weak = chain.certificate(2, (1, 2))
        chain.chaindb.finalize_with_certificate(weak)  # stored unverified, as a faulty node might
        proof = export_proof(SPEC, chain.runtime, chain.chaindb, 0, 1)
    finally:
        chain.close()
    with pytest.raises(ProvenanceError, match="2 of 4 validators signed"):
        verify_proof_file(proof, SPEC)


# --- the command line --------------------------------------------------------------------------------


def test_cli_export_and_verify_proof_work(built, tmp_path, monkeypatch):
    """Exported by `node.py export-proof`, verified by `node.py verify-proof` on py-ecc (the reference)."""
    out = tmp_path / "proof.json"
    exported = run_cli(
        "export-proof", "--chain", str(built.spec_file), "--base-path", str(built.base),
        "--model", "0", "--version", "1", "--out", str(out),
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text()) == built.proof
    monkeypatch.setenv("CMU_BLS_BACKEND", "py_ecc")
    checked = run_cli("verify-proof", str(out), "--chain-spec", str(built.spec_file))
    assert checked.returncode == 0, checked.stderr
    shown = json.loads(checked.stdout)
    assert shown["verified"] is True and (shown["model"], shown["version"]) == (0, 1)
    assert shown["artifactRoot"] == "0x" + art.artifact_root(model_weights(1)).hex()
    assert shown["author"] == "0x" + bytes(dev_keypair("alice").account).hex()
    assert shown["cause"] == "UPLOAD"
    assert shown["finalizedBlock"] == {"number": 3, "hash": "0x" + built.block_hashes[3].hex()}


def test_cli_verify_proof_refuses_a_tampered_file(built, tmp_path):
    proof = copy.deepcopy(built.proof)
    value = bytearray(bytes.fromhex(proof["record"]["value"][2:]))
    value[-1] ^= 0x01
    proof["record"]["value"] = "0x" + value.hex()
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(proof))
    checked = run_cli("verify-proof", str(path), "--chain-spec", str(built.spec_file))
    assert checked.returncode == 1
    assert "proof refused" in checked.stderr and "record.value" in checked.stderr
    other = tmp_path / "other-spec.json"
    other.write_text(json.dumps(consortium_spec(("alice", "bob", "charlie", "eve")).to_json()))
    wrong_set = run_cli("verify-proof", str(tmp_path / "tampered.json"), "--chain-spec", str(other))
    assert wrong_set.returncode == 1 and "proof refused" in wrong_set.stderr


def test_cli_export_proof_fails_clearly(built, tmp_path):
    missing = run_cli(
        "export-proof", "--chain", str(built.spec_file), "--base-path", str(built.base),
        "--model", "0", "--version", "9", "--out", str(tmp_path / "p.json"),
    )
    assert missing.returncode == 1 and "no stored version 9" in missing.stderr
    assert not (tmp_path / "p.json").exists()
    bad_at = run_cli(
        "export-proof", "--chain", str(built.spec_file), "--base-path", str(built.base),
        "--model", "0", "--version", "1", "--at", "yesterday", "--out", str(tmp_path / "p.json"),
    )
    assert bad_at.returncode == 2 and "--at" in bad_at.stderr


def test_validator_names_in_the_proof_come_from_the_spec(built):
    assert built.proof["certificate"]["signerNames"] == ["alice", "bob", "dave"]
    assert SPEC.validators[3] == dev_validator("dave")


# --- the RPC of a running node -----------------------------------------------------------------------


def test_rpc_export_proof_works_on_a_running_node(built, tmp_path):
    base = tmp_path / "node"
    shutil.copytree(built.base, base)
    node = NodeProcess("--chain", str(built.spec_file), "--base-path", str(base)).start()
    try:
        proof = node.rpc("provenance_exportProof", 0, 1)
        assert proof == built.proof
        assert node.rpc("provenance_exportProof", 0, 1, 3) == proof
        by_hash = node.rpc("provenance_exportProof", 0, 2, "0x" + built.block_hashes[3].hex())
        assert by_hash == built.export(0, 2)
        with pytest.raises(RpcCallError) as refused:
            node.rpc("provenance_exportProof", 0, 9)
        assert refused.value.error["code"] == 4010
        assert refused.value.error["data"]["error"] == "ProvenanceError"
        with pytest.raises(RpcCallError) as no_cert:
            node.rpc("provenance_exportProof", 0, 1, 4)
        assert "no finality certificate" in no_cert.value.error["message"]
        with pytest.raises(RpcCallError) as bad:
            node.rpc("provenance_exportProof", "zero", 1)
        assert bad.value.error["code"] == -32602
    finally:
        node.stop()
        node.close()
    assert verify_proof_file(proof, SPEC).record.number == 1
