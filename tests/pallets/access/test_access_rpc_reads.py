"""The read path the RPC takes (cmu/node/model_api.py over pallets/access/query.py), in-process on a mock
runtime: who may predict per role x visibility with signed queries, what a refusal tells, what model_get
shows, by-root download checks and confidential models the node refuses to predict with."""

from __future__ import annotations

import pytest
from access_helpers import (
    ADMIN,
    MAINTAINER,
    OPEN,
    PERMISSIONED,
    PUBLIC,
    READER,
    ROW,
    TRAINER,
    access,
    confidential_model,
    grant_ok,
    model_api,
    permissioned_model,
    predict_auth,
    register_model,
    rpc_predict,
    set_policy,
    upload,
)

from cmu.node.rpc import RpcError
from cmu.node.rpc_views import access as access_query
from cmu.node.rpc_views.model_registry import QueryError

#: Who may predict over RPC, per visibility: the table the matrix is checked against.
PREDICT = {
    PUBLIC: {"owner", "admin", "maintainer", "trainer", "reader", "no role", "unsigned"},
    PERMISSIONED: {"owner", "admin", "maintainer", "trainer", "reader"},
}
CALLERS = {
    "owner": "alice",
    "admin": "bob",
    "maintainer": "charlie",
    "trainer": "dave",
    "reader": "eve",
    "no role": "ferdie",
    "unsigned": None,
}


@pytest.mark.parametrize("visibility", [PUBLIC, PERMISSIONED])
def test_predict_over_rpc_follows_the_matrix(rt, visibility):
    model = register_model(rt)
    for who, role in (("bob", ADMIN), ("charlie", MAINTAINER), ("dave", TRAINER), ("eve", READER)):
        grant_ok(rt, "alice", model, who, role)
    set_policy(rt, "alice", model, visibility, OPEN)
    api = model_api(rt)
    answers = {label: rpc_predict(api, rt, who, model) for label, who in CALLERS.items()}
    allowed = {label for label, answer in answers.items() if answer != "AccessDenied"}
    assert allowed == PREDICT[visibility]
    for label in allowed:  # a permissioned model's weights are encrypted: its readers predict locally
        if visibility is PUBLIC:
            assert isinstance(answers[label], dict)
        else:
            assert answers[label] == "ConfidentialModel"


def test_predict_over_rpc_refuses_the_unsigned_and_the_roleless_alike(rt):
    model = permissioned_model(rt)
    api = model_api(rt)
    errors = []
    for who in (None, "ferdie"):
        with pytest.raises(RpcError) as caught:
            auth = None if who is None else predict_auth(rt, who, model)
            api.model_predict(model, ROW, None, False, None, auth)
        errors.append((caught.value.code, caught.value.data))
    assert errors[0] == errors[1] and errors[0][0] == 4000 and errors[0][1]["error"] == "AccessDenied"


def test_predict_over_rpc_stops_at_the_grants_expiry_block(rt):
    model = permissioned_model(rt)
    expires = rt.block_number + 2
    grant_ok(rt, "alice", model, "bob", READER, expires)
    api = model_api(rt)
    rt.run_to_block(expires - 1)
    assert rpc_predict(api, rt, "bob", model) == "ConfidentialModel"  # a reader: predict locally
    rt.next_block()
    assert rpc_predict(api, rt, "bob", model) == "AccessDenied"


def test_model_get_hides_the_artifact_of_a_permissioned_model(rt):
    model = register_model(rt)
    api = model_api(rt)
    shown = api.model_get(model)
    assert shown["artifact"] is not None and shown["access"]["visibility"] == "Public"
    set_policy(rt, "alice", model, PERMISSIONED, OPEN)
    shown = api.model_get(model)
    assert shown["artifact"] is None
    key_id = "0x" + access(rt).confidential[model].key_id.hex()
    assert shown["access"] == {
        "visibility": "Permissioned",
        "training": "Open",
        "confidential": {"keyId": key_id, "rotationDue": False, "artifact": None},
        "pass": None,
    }
    listed = api.model_list()["models"]
    assert listed[0]["artifact"] is None


def test_download_by_root_answers_alike_for_unknown_and_unreadable_roots(rt):
    model = permissioned_model(rt)
    root = rt.pallet(access_query.Access).registry.model(model).artifact
    unknown = b"\x09" * 32
    messages = []
    for candidate in (root, unknown):
        with pytest.raises(QueryError) as caught:
            access_query.ensure_may_download_root(
                rt.runtime, rt.account("ferdie"), candidate, rt.block_number
            )
        assert caught.value.error == "UnknownArtifact"
        messages.append(str(caught.value).replace(candidate.hex(), "ROOT"))
    assert messages[0] == messages[1]
    access_query.ensure_may_download_root(rt.runtime, rt.account("alice"), root, rt.block_number)


def test_download_by_root_works_for_a_root_no_model_uses_and_for_public_models(rt):
    orphan = upload(rt, "bob", b"some bytes nobody uses")
    access_query.ensure_may_download_root(rt.runtime, None, orphan, rt.block_number)
    model = register_model(rt)
    root = rt.pallet(access_query.Access).registry.model(model).artifact
    access_query.ensure_may_download_root(rt.runtime, None, root, rt.block_number)
    assert access_query.models_using(rt.runtime, root) == [model]


def test_predict_over_rpc_refuses_a_confidential_model(rt):
    model = confidential_model(rt, b"\x03" * 32, holders=("bob",))
    api = model_api(rt)
    assert rpc_predict(api, rt, "bob", model) == "ConfidentialModel"
    assert rpc_predict(api, rt, "ferdie", model) == "AccessDenied"
    found = access_query.confidential(rt.runtime, model)
    assert access_query.download_root(rt.runtime, model) == found.artifact
    assert access_query.models_using(rt.runtime, found.artifact) == [model]
    shown = api.model_get(model)["access"]["confidential"]
    assert shown["keyId"] == "0x" + found.key_id.hex() and shown["artifact"] is None


def history_auth(rt, who: str, model: int):
    """The `auth` of model_history(model) signed by `who` now."""
    import time

    from cmu.formats.signed_query import named_params, sign_query
    from runtime.crypto import dev_keypair

    params = named_params("model_history", (model, 0, None, None))
    now = int(time.time() * 1000)
    return sign_query(dev_keypair(who), "model_history", params, model, rt.runtime.genesis_hash, now)


def test_history_over_rpc_of_a_permissioned_model_needs_a_readers_signed_query(runtime_with):
    from cmu.node.version_api import VersionApi

    rt = runtime_with("ModelRegistry", "Access", "Versioning")
    model = permissioned_model(rt)
    versions = VersionApi(model_api(rt))
    for auth in (None, history_auth(rt, "ferdie", model)):
        with pytest.raises(RpcError) as caught:
            versions.model_history(model, 0, None, None, auth)
        assert caught.value.data["error"] == "AccessDenied"
    grant_ok(rt, "alice", model, "bob", READER)
    rt.next_block()
    page = versions.model_history(model, 0, None, None, history_auth(rt, "bob", model))
    assert [v["version"] for v in page["versions"]] == [0]
    public = register_model(rt, "alice")
    assert versions.model_history(public)["versions"][0]["version"] == 0  # public: no signature needed


def test_provenance_export_of_a_permissioned_model_needs_a_readers_signed_query(rt):
    from cmu.node.chaindb import ChainDb
    from cmu.node.provenance_api import PROOF_REFUSED, ProvenanceApi

    model, public = permissioned_model(rt), register_model(rt, "alice")
    chaindb = ChainDb(rt.runtime.backend)
    chaindb.open(rt.runtime.head)
    provenance = ProvenanceApi(rt.runtime.spec, rt.runtime, chaindb, model_api(rt))
    with pytest.raises(RpcError) as refused:
        provenance.provenance_export_proof(model, 0)
    assert (refused.value.code, refused.value.data["error"]) == (4000, "AccessDenied")
    with pytest.raises(RpcError) as unprovable:  # public: past the check, then no certified block
        provenance.provenance_export_proof(public, 0)
    assert unprovable.value.code == PROOF_REFUSED
