"""The node's version reads (cmu/node/version_api.py) over a real LevelDB chain: model_history, model_verify,
model_diff, and model_predict / model_download / model_get at a version or channel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from versioning_chain import Chain, contribute, register_args, upload_extrinsics
from versioning_helpers import KSPEC, SCALE, encode, initial_weights, kind, trained, training_step

from cmu.client.chain import Chain as ClientChain
from cmu.client.models import DownloadRefused, download_artifact
from cmu.formats import artifact as art
from cmu.node.rpc import RpcError
from cmu.node.rpc_api import header_json
from cmu.node.version_api import VersionApi
from runtime.crypto import dev_keypair

ROW = [[0, 1], [SCALE, SCALE]]


def hexed(data: bytes) -> str:
    return "0x" + data.hex()


def build(chain: Chain) -> dict[str, Any]:
    """Model 0 with versions 1 (training), 2 (published, tag v2) and 3 (rollback to 1)."""
    assert chain.one("alice", "ModelRegistry.register", **register_args()).error is None
    step = training_step(initial_weights(), 0)
    chain.block(contribute(chain, "bob", 0, step.indices, step.values))
    published = encode(trained(5))
    chain.block(*upload_extrinsics(chain, "alice", published, 0))
    root = art.artifact_root(published)
    publish = chain.sign("alice", "Versioning.publish_version", model=0, artifact=root, tag="v2",
                         notes_hash=None, metrics=[])
    rollback = chain.sign("alice", "Versioning.rollback", model=0, version=1, notes_hash=None)
    assert [r.error for r in chain.block(publish, rollback)] == [None, None]
    return {"v1": step.weights, "v2": trained(5), "root2": root}


def test_model_history_works(chain):
    build(chain)
    page = chain.versions.model_history(0)
    assert (page["latest"], page["stable"], page["next"]) == (3, None, None)
    causes = [(v["version"], v["parent"], v["cause"]) for v in page["versions"]]
    assert causes == [(0, None, "upload"), (1, 0, "training"), (2, 1, "upload"), (3, 1, "rollback")]
    v1, v2, v3 = page["versions"][1:]
    assert (v1["block"], v1["extrinsic"], v1["author"], v1["contributions"]) == (2, None, None, [0])
    assert (v2["block"], v2["extrinsic"], v2["tag"]) == (4, 1, "v2")
    assert (v3["block"], v3["extrinsic"], v3["artifact"]) == (4, 2, v1["artifact"])
    assert v2["author"] == hexed(bytes(dev_keypair("alice").account))


def test_model_history_works_paged(chain, monkeypatch):
    from cmu.node.rpc_views import versioning as query

    build(chain)
    page = chain.versions.model_history(0, 1, 2)
    assert [v["version"] for v in page["versions"]] == [1, 2] and page["next"] is None
    monkeypatch.setattr(query, "MAX_HISTORY", 2)
    first = chain.versions.model_history(0)
    assert [v["version"] for v in first["versions"]] == [0, 1] and first["next"] == 2
    assert [v["version"] for v in chain.versions.model_history(0, first["next"])["versions"]] == [2, 3]
    assert chain.versions.model_history(0, 3)["next"] is None
    assert chain.versions.model_history(0, 9)["versions"] == []


def test_model_history_fails_when_the_model_is_unknown(chain):
    with pytest.raises(RpcError) as raised:
        chain.versions.model_history(4)
    assert raised.value.data["error"] == "UnknownModel"


def test_model_verify_works(chain):
    made = build(chain)
    delta_root = art.artifact_root(encode(made["v1"]))
    for version, root in ((1, delta_root), (2, made["root2"]), (3, delta_root)):
        answer = chain.versions.model_verify(0, version, hexed(root))
        assert answer["valid"] and answer["rebuilt"] == answer["recorded"] == hexed(root)
    wrong = chain.versions.model_verify(0, 2, hexed(delta_root))
    assert not wrong["valid"] and wrong["recorded"] == hexed(made["root2"])


def test_model_verify_fails_when_the_version_is_unknown(chain):
    build(chain)
    with pytest.raises(RpcError) as raised:
        chain.versions.model_verify(0, 8, hexed(b"\0" * 32))
    assert raised.value.data["error"] == "UnknownVersion"


def test_model_diff_works(chain):
    build(chain)
    assert chain.versions.model_diff(0, 1, 3)["changed"] == []
    answer = chain.versions.model_diff(0, 0, 2)
    assert answer["changed"] == [0] and answer["chunks"] == [1, 1]


def test_model_predict_works_at_a_version_a_channel_and_by_default(chain):
    made = build(chain)
    rows = kind().prepare_rows([ROW], KSPEC)

    def expected(weights: Any) -> list[Any]:
        _labels, scores = kind().predict(weights, rows)
        return [[int(v) for v in row] for row in scores]

    def scores(**extra: Any) -> tuple[int, list[Any]]:
        answer = chain.models.model_predict(0, [ROW], fixed=True, **extra)
        return answer["version"], [p["scores"] for p in answer["predictions"]]

    assert scores() == (3, expected(made["v1"]))  # no stable: latest, the rollback to version 1
    assert scores(version=2) == (2, expected(made["v2"]))
    assert scores(version="latest") == (3, expected(made["v1"]))
    assert scores(version=0) == (0, expected(initial_weights()))
    chain.one("alice", "Versioning.set_channel", model=0, channel="stable", version=2)
    assert scores() == (2, expected(made["v2"]))  # stable once it is set


def test_model_predict_fails_when_the_version_or_channel_is_unknown(chain):
    build(chain)
    for selector, error in ((7, "UnknownVersion"), ("beta", "UnknownChannel")):
        with pytest.raises(RpcError) as raised:
            chain.models.model_predict(0, [ROW], fixed=True, version=selector)
        assert raised.value.data["error"] == error
    with pytest.raises(RpcError) as bad:
        chain.models.model_predict(0, [ROW], fixed=True, version=-1)
    assert bad.value.code == -32602


def test_model_get_works_showing_the_latest_version(chain):
    made = build(chain)
    info = chain.models.model_get(0)
    assert info["artifact"] == hexed(art.artifact_root(encode(made["v1"])))
    assert (info["latestVersion"], info["stableVersion"]) == (3, None)


class LocalClient:
    """The node's RPC methods called in process (what client.models needs of a Client)."""

    def __init__(self, chain: Chain, tamper: Any = None) -> None:
        self.chain, self.tamper = chain, tamper

    def request(self, method: str, params: list[Any] | None = None) -> Any:
        if method == "state_getMetadata":  # through JSON, as the node sends it
            return json.loads(json.dumps(self.chain.models.head_runtime.metadata()))
        if method == "chain_getHeader":
            return header_json(self.chain.chaindb.header(bytes.fromhex(params[0][2:])))
        answer = self.chain.models.model_download(*params)
        return self.tamper(answer) if self.tamper else answer


def test_model_download_works_for_a_delta_version_and_a_stored_one(chain):
    made = build(chain)
    client = ClientChain(LocalClient(chain))  # type: ignore[arg-type]
    got = download_artifact(client, 0, version=1)
    assert got.data == encode(made["v1"])
    assert download_artifact(client, 0, version="latest").data == encode(made["v1"])
    assert download_artifact(client, 0, version=2).data == encode(made["v2"])
    assert download_artifact(client, 0, version=0).data == encode(initial_weights())


def test_model_download_fails_when_a_rebuilt_version_is_tampered_with(chain):
    build(chain)

    def flip(answer: dict[str, Any]) -> dict[str, Any]:
        chunk = bytearray(bytes.fromhex(answer["chunks"][0][2:]))
        chunk[-1] ^= 1
        return {**answer, "chunks": [hexed(bytes(chunk))]}

    with pytest.raises(DownloadRefused):
        download_artifact(ClientChain(LocalClient(chain, flip)), 0, version=1)  # type: ignore[arg-type]


def test_model_download_fails_when_a_version_comes_with_an_artifact_root(chain):
    made = build(chain)
    with pytest.raises(RpcError) as raised:
        chain.models.model_download(hexed(made["root2"]), 0, 16, None, 2)
    assert raised.value.code == -32602


def test_version_api_registers_its_methods():
    from cmu.node.rpc import collect_methods

    names = set(collect_methods(VersionApi(None)))  # type: ignore[arg-type]
    assert names == {"model_history", "model_verify", "model_diff"}


def test_model_predict_works_as_before_on_a_chain_without_versioning():
    import dataclasses

    from versioning_helpers import register

    from cmu.node.model_api import ModelApi
    from runtime.executive import Runtime
    from runtime.genesis import dev_spec
    from runtime.storage.backend import MemoryBackend
    from runtime.testing import MockRuntime

    spec = dataclasses.replace(dev_spec(), pallets=("System", "Balances", "Sudo", "ModelRegistry"))
    mock = MockRuntime(Runtime(spec, MemoryBackend()))
    register(mock)
    mock.next_block()
    api = ModelApi(spec, mock.runtime, None, None)  # type: ignore[arg-type]
    answer = api.model_predict(0, [ROW], fixed=True)
    assert "version" not in answer
    assert answer["artifact"] == hexed(art.artifact_root(encode(initial_weights())))
    with pytest.raises(RpcError) as raised:
        api.model_predict(0, [ROW], fixed=True, version="stable")
    assert raised.value.data["error"] == "NoVersioning"


def test_model_predict_follows_the_pin_of_a_signed_caller(chain):
    import time

    from cmu.formats.signed_query import named_params, sign_query

    build(chain)
    assert chain.one("bob", "Versioning.pin", model=0, version=2).error is None

    def predicted(who: str | None) -> int:
        params = named_params("model_predict", (0, [ROW], None, True, None))
        now = int(time.time() * 1000) + len(str(who))  # distinct signatures, never a replay
        auth = None if who is None else sign_query(
            dev_keypair(who), "model_predict", params, 0, chain.runtime.genesis_hash, now
        )
        return int(chain.models.model_predict(0, [ROW], None, True, None, auth)["version"])

    assert predicted("bob") == 2  # bob's pin, though latest is 3
    assert predicted("charlie") == 3  # no pin: the default
    assert predicted(None) == 3  # unsigned: nobody's pin
    answer = chain.models.model_predict(0, [ROW], None, True, 1, None)
    assert answer["version"] == 1  # an explicit version wins over any pin
