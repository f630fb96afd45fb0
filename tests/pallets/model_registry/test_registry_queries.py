"""The registry's read-only queries (service.rpc_views.model_registry, behind the model_* RPC methods): model
info, paged listing, free predictions for every kind, and downloads with state proofs. Each test commits
its state with rt.next_block() first, as a node's read view would see it."""

from __future__ import annotations

import math

import pytest
from registry_helpers import (
    CHUNK,
    KIND_NAMES,
    LABELS,
    REG,
    SCALE,
    SPECS,
    kind_spec,
    random_bytes,
    register_ok,
    registry,
    trained_bytes,
    trained_weights,
    training_rows,
    upload,
)

from cmu import models
from cmu.formats import artifact as art
from cmu.node.rpc_views import model_registry as query
from runtime import codec
from runtime.crypto import blake2_256
from runtime.testing import assert_ok
from runtime.trie import ProofError, verify_proof


def hexs(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def query_error(call, *args, **kwargs) -> query.QueryError:
    with pytest.raises(query.QueryError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- model info and listing -----------------------------------------------------------------------


def test_model_json_works(rt):
    model = register_ok(
        rt, "alice", kind="sparse_perceptron", name="spam", description="filter", task="t", license="MIT"
    )
    assert_ok(rt.call("alice", f"{REG}.approve", model=model, operator=rt.account("bob")))
    rt.next_block()
    info = query.model_info(rt.runtime, model)
    spec = SPECS["sparse_perceptron"]
    assert query.model_json(model, info) == {
        "id": model,
        "owner": hexs(rt.account("alice")),
        "approved": hexs(rt.account("bob")),
        "name": "spam",
        "description": "filter",
        "task": "t",
        "license": "MIT",
        "kind": "sparse_perceptron",
        "inputSpec": {
            "nFeatures": spec.n_features,
            "sparse": True,
            "minValue": spec.min_value,
            "maxValue": spec.max_value,
            "maxNonzeros": spec.max_nonzeros,
        },
        "labels": list(LABELS),
        "artifact": hexs(info.artifact),
        "retired": False,
        "createdAt": 1,
    }


def test_model_info_fails_when_the_model_is_unknown(rt):
    rt.next_block()
    assert query_error(query.model_info, rt.runtime, 5).error == "UnknownModel"


def test_queries_fail_when_the_chain_has_no_registry():
    import dataclasses

    from runtime.genesis import dev_spec
    from runtime.testing import build_runtime

    bare = build_runtime(spec=dataclasses.replace(dev_spec(), pallets=("System", "Balances", "Sudo")))
    error = query_error(query.list_models, bare.runtime, None, 0, 10)
    assert error.error == "NoRegistry"


def test_list_models_works_in_pages(rt):
    owners = ["alice", "bob", "alice", "charlie", "alice"]
    for who in owners:
        register_ok(rt, who)
    rt.next_block()
    page = query.list_models(rt.runtime, None, 0, 2)
    assert [m["id"] for m in page["models"]] == [0, 1]
    assert page["next"] == 2
    page = query.list_models(rt.runtime, None, page["next"], 2)
    assert [m["id"] for m in page["models"]] == [2, 3]
    page = query.list_models(rt.runtime, None, page["next"], 2)
    assert [m["id"] for m in page["models"]] == [4]
    assert page["next"] is None
    everything = query.list_models(rt.runtime, None, 0, 100)
    assert [m["owner"] for m in everything["models"]] == [hexs(rt.account(w)) for w in owners]
    assert everything["next"] is None


def test_list_models_works_by_owner(rt):
    for who in ["alice", "bob", "alice", "charlie", "alice", "alice"]:
        register_ok(rt, who)
    assert_ok(rt.call("alice", f"{REG}.transfer", model=2, dest=rt.account("bob")))
    rt.next_block()
    alice = bytes(rt.account("alice"))
    page = query.list_models(rt.runtime, alice, 0, 2)
    assert [m["id"] for m in page["models"]] == [0, 4]
    assert page["next"] == 5
    page = query.list_models(rt.runtime, alice, page["next"], 2)
    assert [m["id"] for m in page["models"]] == [5]
    assert page["next"] is None
    bob = query.list_models(rt.runtime, bytes(rt.account("bob")), 0, 10)
    assert [m["id"] for m in bob["models"]] == [1, 2]
    nobody = query.list_models(rt.runtime, bytes(rt.account("ferdie")), 0, 10)
    assert nobody == {"models": [], "next": None}


def test_list_models_works_clamping_start_and_limit(rt):
    for _ in range(3):
        register_ok(rt, "alice")
    rt.next_block()
    assert [m["id"] for m in query.list_models(rt.runtime, None, -5, 2)["models"]] == [0, 1]
    page = query.list_models(rt.runtime, None, 0, 0)  # at least one per page
    assert ([m["id"] for m in page["models"]], page["next"]) == ([0], 1)
    assert query.list_models(rt.runtime, None, 10, 5) == {"models": [], "next": None}


# --- predictions ----------------------------------------------------------------------------------


def expected(kind_name, weights, rows):
    kind = models.get_kind(kind_name)
    labels, scores = kind.predict(weights, kind.quantize(rows, kind_spec(SPECS[kind_name])))
    return [
        {"label": int(label), "name": LABELS[int(label)], "scores": [int(s) for s in row],
         "scoresReal": [int(s) / 2**16 for s in row]}
        for label, row in zip(labels, scores, strict=True)
    ]


def trained_model(rt, kind):
    root = upload(rt, "alice", trained_bytes(kind))
    model = register_ok(rt, "alice", kind=kind, artifact=root)
    rt.next_block()
    return model, root


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_predict_works_for_each_kind_as_the_kind_itself(rt, kind):
    model, root = trained_model(rt, kind)
    rows, labels = training_rows(kind, n=9, seed=99)
    answer = query.predict(rt.runtime, model, rows)
    assert answer["model"] == model
    assert answer["artifact"] == hexs(root)
    assert answer["predictions"] == expected(kind, trained_weights(kind), rows)
    assert [p["label"] for p in answer["predictions"]] == labels  # the trained rule is learned


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_predict_works_for_one_row(rt, kind):
    model, _ = trained_model(rt, kind)
    rows, _ = training_rows(kind, n=1, seed=5)
    answer = query.predict(rt.runtime, model, rows[0])
    assert answer["predictions"] == expected(kind, trained_weights(kind), rows)


def test_predict_works_with_fixed_point_rows(rt):
    model, _ = trained_model(rt, "dense_perceptron")
    rows = [[1.5, -2.0, 0.25, 7.5], [0.0, 7.5, 0.0, 0.0]]
    fixed = [[int(v * SCALE) for v in row] for row in rows]
    answer = query.predict(rt.runtime, model, fixed, fixed=True)
    assert answer["predictions"] == query.predict(rt.runtime, model, rows)["predictions"]


def test_predict_works_with_sparse_mapping_rows(rt):
    model, _ = trained_model(rt, "sparse_perceptron")
    as_indices = query.predict(rt.runtime, model, [[8, 9], [0, 2, 2]])["predictions"]
    as_maps = query.predict(rt.runtime, model, [{"8": 1.0, "9": 1.0}, {"0": 1.0, "2": 2.0}])["predictions"]
    assert as_maps == as_indices


def test_predict_works_with_an_earlier_artifact_of_the_model(rt):
    model = register_ok(rt, "alice", kind="nearest_centroid")
    initial = registry(rt).models[model].artifact
    trained = upload(rt, "alice", trained_bytes("nearest_centroid"))
    assert_ok(rt.call("alice", f"{REG}.set_artifact", model=model, artifact=trained))
    rt.next_block()
    row = [7.5, 0.0, 1.0, 1.0]
    now = query.predict(rt.runtime, model, row)
    before = query.predict(rt.runtime, model, row, root=initial)
    assert now["predictions"] == expected("nearest_centroid", trained_weights("nearest_centroid"), [row])
    assert before["artifact"] == hexs(initial)
    assert before["predictions"] != now["predictions"]


def test_predict_works_on_a_retired_model(rt):
    model, _ = trained_model(rt, "naive_bayes")
    assert_ok(rt.call("alice", f"{REG}.retire", model=model))
    rt.next_block()
    rows, _ = training_rows("naive_bayes", n=3)
    assert query.predict(rt.runtime, model, rows)["predictions"] == expected(
        "naive_bayes", trained_weights("naive_bayes"), rows
    )


@pytest.mark.parametrize(
    ("kind", "rows", "error", "words"),
    [
        ("dense_perceptron", [1.0, 2.0, 3.0], "WrongFeatureCount", "3 features"),
        ("dense_perceptron", [[1.0, 2.0, 3.0, 4.0], [1.0]], "WrongFeatureCount", "different lengths"),
        ("dense_perceptron", [1.0, math.nan, 0.0, 0.0], "NotFinite", "nan"),
        ("dense_perceptron", [1.0, 0.0, math.inf, 0.0], "NotFinite", "inf"),
        ("nearest_centroid", [0.0, 0.0, 0.0, -math.inf], "NotFinite", "inf"),
        ("dense_perceptron", [0.0, 8.5, 0.0, 0.0], "OutOfRange", "8.5"),
        ("dense_perceptron", [[0.0] * 4, [0.0, 0.0, 0.0, -9.0]], "OutOfRange", "row 1"),
        ("naive_bayes", [0.0, 0.0, 11.0, 0.0, 0.0], "OutOfRange", "11.0"),
        ("naive_bayes", [0.0, -1.0, 0.0, 0.0, 0.0], "NegativeCount", "negative"),
        ("sparse_perceptron", [[0, 12]], "IndexOutOfRange", "feature index 12"),
        ("sparse_perceptron", [[3, -1]], "IndexOutOfRange", "feature index -1"),
        ("sparse_perceptron", [{"3": 1.0, "12": 1.0}], "IndexOutOfRange", "feature index 12"),
        ("sparse_perceptron", [{"3": 1.0, "-1": 1.0}], "WrongType", "feature indices"),
        ("sparse_perceptron", [list(range(7))], "TooManyNonZeros", "7 non-zero"),
        ("dense_perceptron", "1,2,3,4", "TextForNumericModel", "numeric rows, not text"),
        ("dense_perceptron", ["a great movie"], "TextForNumericModel", "numeric rows, not text"),
        ("dense_perceptron", {"rows": [[0.0] * 4]}, "BadRows", "non-empty list"),
        ("dense_perceptron", [], "BadRows", "non-empty list"),
        ("dense_perceptron", [[0.0] * 4] * (query.MAX_ROWS + 1), "TooManyRows", str(query.MAX_ROWS)),
    ],
)
def test_predict_fails_when_the_input_is_bad(rt, kind, rows, error, words):
    model, _ = trained_model(rt, kind)
    refused = query_error(query.predict, rt.runtime, model, rows)
    assert refused.error == error
    assert words in str(refused)


def test_predict_works_with_exactly_max_rows(rt):
    model, _ = trained_model(rt, "dense_perceptron")
    answer = query.predict(rt.runtime, model, [[0.0] * 4] * query.MAX_ROWS)
    assert len(answer["predictions"]) == query.MAX_ROWS


def test_predict_fails_when_fixed_rows_hold_floats(rt):
    model, _ = trained_model(rt, "dense_perceptron")
    assert query_error(query.predict, rt.runtime, model, [0.5, 0, 0, 0], fixed=True).error == "WrongType"


def test_predict_fails_when_the_model_is_unknown(rt):
    rt.next_block()
    refused = query_error(query.predict, rt.runtime, 42, [0.0] * 4)
    assert refused.error == "UnknownModel"
    assert "42" in str(refused)


def test_predict_fails_when_the_root_is_unknown(rt):
    model, _ = trained_model(rt, "dense_perceptron")
    missing = art.artifact_root(b"nothing stored")
    assert query_error(query.predict, rt.runtime, model, [0.0] * 4, root=missing).error == "UnknownArtifact"


def test_predict_fails_when_the_root_belongs_to_another_model(rt):
    model, _ = trained_model(rt, "dense_perceptron")
    _, other_root = trained_model(rt, "naive_bayes")
    refused = query_error(query.predict, rt.runtime, model, [0.0] * 4, root=other_root)
    assert refused.error == "MalformedWeights"


def test_predict_fails_when_the_root_is_a_cached_artifact_of_a_model_with_other_labels(rt):
    two = register_ok(rt, "alice", labels=("x", "y"))
    three, three_root = trained_model(rt, "dense_perceptron")
    row = [0.0, 0.0, 7.5, 0.0]
    assert query.predict(rt.runtime, three, row)["predictions"][0]["name"] == "eel"  # now decoded and cached
    refused = query_error(query.predict, rt.runtime, two, row, root=three_root)
    assert refused.error == "MalformedWeights"


# --- downloads with proofs ------------------------------------------------------------------------


def check_download(rt, answer, root):
    """Every chunk and the manifest are proven against the head's state root; the bytes hash right."""
    state_root = unhex(answer["stateRoot"])
    assert state_root == rt.runtime.head.state_root
    assert unhex(answer["at"]) == rt.runtime.head.hash()
    proof = [unhex(node) for node in answer["proof"]]
    reg = registry(rt)
    manifest_key = unhex(answer["manifestKey"])
    assert manifest_key == reg.artifacts.key(root)
    assert verify_proof(state_root, manifest_key, proof) == rt.runtime.read(manifest_key)
    chunks = [unhex(c) for c in answer["chunks"]]
    hashes = [unhex(h) for h in answer["chunkHashes"]]
    for key, chunk, digest in zip(
        (unhex(k) for k in answer["chunkKeys"]), chunks, hashes[answer["start"] :], strict=False
    ):
        assert key == reg.chunks.key(digest)
        proven = verify_proof(state_root, key, proof)
        assert proven is not None
        assert codec.unpack(proven) == chunk
        assert blake2_256(chunk) == digest
    return chunks


def test_download_works_with_a_proof_of_every_chunk(rt):
    data = random_bytes(3 * CHUNK + 100, seed=51)
    root = upload(rt, "alice", data)
    rt.next_block()
    answer = query.download(rt.runtime, root, 0, 10)
    assert answer["root"] == hexs(root)
    assert (answer["size"], answer["chunkCount"], answer["start"]) == (len(data), 4, 0)
    chunks = check_download(rt, answer, root)
    assert len(chunks) == 4
    assert art.verify_artifact(b"".join(chunks), root) == data


def test_download_works_in_pages(rt):
    data = random_bytes(3 * CHUNK + 100, seed=52)
    root = upload(rt, "bob", data)
    rt.next_block()
    collected: list[bytes] = []
    for start in (0, 2):
        answer = query.download(rt.runtime, root, start, 2)
        assert answer["start"] == start
        collected += check_download(rt, answer, root)
    assert art.verify_artifact(b"".join(collected), root) == data
    assert query.download(rt.runtime, root, 4, 2)["chunks"] == []


def test_download_works_for_a_model_artifact(rt):
    model, root = trained_model(rt, "sparse_perceptron")
    info = query.model_info(rt.runtime, model)
    answer = query.download(rt.runtime, info.artifact, 0, query.MAX_DOWNLOAD_CHUNKS)
    weights = b"".join(check_download(rt, answer, root))
    assert art.verify_artifact(weights, root) == trained_bytes("sparse_perceptron")
    kind = models.get_kind("sparse_perceptron")
    assert kind.decode(weights, kind_spec(SPECS["sparse_perceptron"]), len(LABELS)) == trained_weights(
        "sparse_perceptron"
    )


def test_download_fails_verification_when_a_chunk_byte_is_corrupted(rt):
    data = random_bytes(2 * CHUNK + 9, seed=53)
    root = upload(rt, "alice", data)
    rt.next_block()
    chunks = check_download(rt, query.download(rt.runtime, root, 0, 10), root)
    corrupted = bytearray(b"".join(chunks))
    corrupted[CHUNK + 5] ^= 0x01
    with pytest.raises(art.ArtifactMismatch):
        art.verify_artifact(bytes(corrupted), root)


def test_download_fails_verification_against_another_state_root(rt):
    root = upload(rt, "alice", random_bytes(100, seed=54))
    rt.next_block()
    answer = query.download(rt.runtime, root, 0, 1)
    proof = [unhex(node) for node in answer["proof"]]
    with pytest.raises(ProofError):
        verify_proof(b"\x42" * 32, unhex(answer["manifestKey"]), proof)


def test_download_fails_when_the_artifact_is_unknown(rt):
    rt.next_block()
    refused = query_error(query.download, rt.runtime, art.artifact_root(b"absent"), 0, 1)
    assert refused.error == "UnknownArtifact"
