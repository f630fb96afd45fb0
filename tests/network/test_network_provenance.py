"""End to end on a 4-validator network: a model version published through one node, finalized by the
validators' BLS certificate, exported by another node (provenance_exportProof) and verified offline by
`node.py verify-proof` with nothing but the chain spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from consortium_chain import LocalChain, model_weights, publish_calls, register_calls
from etcd_cluster import EtcdCluster
from network_harness import Network, failed
from node_harness import RpcCallError, poll_until, run_cli

from cmu.formats import artifact as art
from runtime.crypto import dev_keypair
from runtime.genesis import consortium_spec


@pytest.fixture
def network(etcd_cluster: EtcdCluster, request: pytest.FixtureRequest) -> Iterator[Network]:
    net = Network(etcd_cluster)
    try:
        yield net
    finally:
        if failed(request):
            net.print_logs()
        net.close()


def test_a_version_finalized_by_the_network_is_proven_offline(network: Network, tmp_path: Path) -> None:
    nodes = network.start_all()
    signing = LocalChain(tmp_path / "signing-db")  # the same spec, used only to encode and sign calls
    try:
        calls = register_calls() + publish_calls(0, 0, model_weights(1))
        extrinsics = [signing.extrinsic(who, call, n, kw) for n, (who, call, kw) in enumerate(calls)]
    finally:
        signing.close()
    for data in extrinsics:
        nodes[1].rpc("author_submitExtrinsic", "0x" + data.hex())

    def exported() -> dict[str, object] | None:
        try:
            proof: dict[str, object] = nodes[3].rpc("provenance_exportProof", 0, 1)
            return proof
        except RpcCallError:
            return None  # not yet published, or not yet finalized

    proof = poll_until(exported, timeout=120, interval=0.5)
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(consortium_spec().to_json()))
    checked = run_cli("verify-proof", str(proof_file), "--chain-spec", str(spec_file))
    assert checked.returncode == 0, checked.stderr
    shown = json.loads(checked.stdout)
    assert shown["verified"] is True and (shown["model"], shown["version"]) == (0, 1)
    assert shown["artifactRoot"] == "0x" + art.artifact_root(model_weights(1)).hex()
    assert shown["author"] == "0x" + bytes(dev_keypair("alice").account).hex()
    assert len(shown["signers"]) >= 3 and shown["validators"] == 4
    block = shown["finalizedBlock"]
    assert nodes[0].rpc("chain_getBlockHash", block["number"]) == block["hash"]  # the network's block
