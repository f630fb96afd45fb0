"""The dashboard in a real browser against a real dev node: models registered over the CLI appear on
the overview and their page, the predict form answers what model_predict does, bob contributes, and
after a dev time warp refunds from the page, charlie reports a bad deposit, a permissioned model's form
shows AccessDenied, and the node's refusals are named on the page. Tests run in file order on one chain."""

from __future__ import annotations

import json
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import BROWSER_ARGS, CHROMIUM, LABELS, tx
from node_harness import NodeProcess, run_cli

from cmu.client import models
from cmu.client.chain import Chain
from cmu.client.errors import RpcError
from runtime.crypto import address, dev_keypair

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
GOOD = [5.1, 3.5, 1.4, 0.2]  # setosa, label 0
BAD = [5.0, 3.6, 1.4, 0.2]  # a setosa flower labelled virginica
BOB, CHARLIE, DAVE = (address(dev_keypair(n).account) for n in ("bob", "charlie", "dave"))
Q16 = 65536
STATE: dict[str, Any] = {}


def base(node: NodeProcess) -> str:
    return node.url.rstrip("/")


def q16(row: list[float]) -> list[int]:
    return [round(x * Q16) for x in row]


def sign_as(page: Any, name: str) -> None:
    page.select_option("#signer", f"dev:{name}")


def held(node: NodeProcess, who: str) -> int:
    return int(node.rpc("dashboard_account", who)["held"])


def contributions(node: NodeProcess, model: int) -> dict[int, dict[str, Any]]:
    page = node.rpc("training_contributions", model)
    return {c["contribution"]: c for c in page["contributions"]}


def outcome(page: Any, where: str) -> Any:
    """Wait for the form's result: success, or fail the test with the error the page shows."""
    page.wait_for_selector(f"{where} [data-outcome], {where} .error", timeout=30_000)
    error = page.query_selector(f"{where} .error")
    assert error is None, error.inner_text()
    return page.query_selector(where)


def test_cli_model_on_overview_and_its_page(
    node: NodeProcess, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    page.goto(base(node) + "/")
    page.wait_for_selector("main[data-ready=overview]")
    names = page.locator("#models .model-name").all_inner_texts()
    assert names == ["iris", "vault"]
    assert page.locator("#recent-blocks tr[data-block]").count() >= 5
    page.click("#models .model-name >> text=iris")
    page.wait_for_selector("main[data-ready=model]")
    assert page.url.endswith(f"/models/{chain_models['iris']}")
    assert page.locator("#model-labels .label").all_inner_texts() == LABELS
    assert page.inner_text("#model-kind") == "dense_perceptron"


def test_predict_form_equals_model_predict(
    node: NodeProcess, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    model = chain_models["iris"]
    page.goto(f"{base(node)}/models/{model}")
    page.fill("#predict-rows", "\n".join(", ".join(map(str, r)) for r in ROWS))
    page.click("#predict-submit")
    page.wait_for_selector("#predictions tr.prediction")
    shown = [
        int(x)
        for x in page.locator("#predictions tr.prediction").evaluate_all(
            "rows => rows.map(r => r.dataset.label)"
        )
    ]
    expected = node.rpc("model_predict", model, ROWS)["predictions"]
    assert shown == [p["label"] for p in expected]
    assert page.locator("#predictions .prediction-name").all_inner_texts() == [p["name"] for p in expected]
    assert len(set(shown)) > 1  # the rows are of different species: the check could fail


def test_bob_contributes_from_the_page(
    node: NodeProcess, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    model = chain_models["iris"]
    before = held(node, BOB)
    page.goto(f"{base(node)}/models/{model}")
    sign_as(page, "bob")
    page.fill("#contribute-features", ", ".join(map(str, GOOD)))
    page.select_option("#contribute-label", "0")
    shown_deposit = int(page.get_attribute("#contribute-deposit [data-raw]", "data-raw") or 0)
    assert shown_deposit > 0
    page.click("#contribute-submit")
    result = outcome(page, "#contribute-result")
    assert result.query_selector("[data-event='Training.DataAdded']") is not None
    added = [c for c in contributions(node, model).values() if c["contributor"] == BOB]
    assert len(added) == 1 and added[0]["label"] == 0
    STATE["good"] = added[0]["contribution"]
    assert held(node, BOB) == before + added[0]["initialDeposit"]
    page.goto(f"{base(node)}/accounts/{BOB}")
    assert int(page.get_attribute("#held .balance", "data-raw") or 0) == before + added[0]["initialDeposit"]
    assert page.locator(f"#contributions tr[data-contribution='{STATE['good']}']").count() == 1


def test_refund_from_the_page_after_a_dev_time_warp(
    node: NodeProcess, chain: Chain, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    model = chain_models["iris"]
    tx(chain, "charlie", "Training.add_data", model=model, features=q16(GOOD), label=0)
    tx(chain, "bob", "Training.add_data", model=model, features=q16(BAD), label=2)
    ids = sorted(contributions(node, model))
    STATE["charlie"], STATE["bad"] = ids[-2], ids[-1]
    page.goto(f"{base(node)}/models/{model}")
    sign_as(page, "bob")
    page.click(f"#refund-{STATE['good']}")
    page.wait_for_selector("#claim-result .error")
    assert page.get_attribute("#claim-result .error", "data-error") == "TooEarly"
    node.rpc("dev_warp", 3700)
    page.goto(f"{base(node)}/models/{model}")
    before = held(node, BOB)
    page.click(f"#refund-{STATE['good']}")
    result = outcome(page, "#claim-result")
    assert result.query_selector("[data-event='Training.Refunded']") is not None
    assert contributions(node, model)[STATE["good"]]["status"] == "Refunded"
    assert held(node, BOB) < before


def test_report_by_another_account_takes_a_bad_deposit(
    node: NodeProcess, chain: Chain, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    model = chain_models["iris"]
    tx(chain, "charlie", "Training.refund", contribution=STATE["charlie"], features=q16(GOOD), label=0)
    answer = node.rpc("model_predict", model, [BAD])["predictions"][0]["label"]
    assert answer != 2  # the model disagrees with the bad label, so a report can take its deposit
    bad_before = contributions(node, model)[STATE["bad"]]["claimable"]
    page.goto(f"{base(node)}/models/{model}")
    sign_as(page, "charlie")
    page.click(f"#report-{STATE['bad']}")
    result = outcome(page, "#claim-result")
    assert result.query_selector("[data-event='Training.Taken']") is not None
    assert contributions(node, model)[STATE["bad"]]["claimable"] < bad_before


def test_permissioned_predict_without_a_grant_shows_access_denied(
    node: NodeProcess, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    page.goto(f"{base(node)}/models/{chain_models['vault']}")
    sign_as(page, "dave")
    assert page.is_checked("#predict-sign")
    page.fill("#predict-rows", "5.1, 3.5, 1.4, 0.2")
    for signed in (True, False):
        page.set_checked("#predict-sign", signed)
        page.click("#predict-submit")
        page.wait_for_selector("#predict-result .error")
        assert page.get_attribute("#predict-result .error", "data-error") == "AccessDenied"
        page.evaluate("document.getElementById('predict-result').replaceChildren()")


def test_a_reader_signs_predictions_and_history_in_the_page(
    node: NodeProcess, chain: Chain, chain_models: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    vault = chain_models["vault"]
    tx(chain, "alice", "Access.grant", model=vault, who="charlie", role="Reader", expires_at=None)
    page.goto(f"{base(node)}/models/{vault}")
    assert page.get_attribute("#versions-card .error", "data-error") == "AccessDenied"  # unsigned first paint
    sign_as(page, "charlie")
    page.fill("#predict-rows", "5.1, 3.5, 1.4, 0.2")
    page.click("#predict-submit")
    # A permissioned model's weights are encrypted: the node cannot predict for anyone, and tells a Reader
    # (whose signature it accepted, else AccessDenied) to predict on their own machine.
    page.wait_for_selector("#predict-result .error")
    assert page.get_attribute("#predict-result .error", "data-error") == "ConfidentialModel"
    with pytest.raises(RpcError) as refused:  # the page shows what the node answers the same signer
        models.predict(chain, vault, [[5.1, 3.5, 1.4, 0.2]], signer=dev_keypair("charlie"))
    assert refused.value.data["error"] == "ConfidentialModel"
    page.click("#history-signed")
    page.wait_for_selector("#lineage .node[data-version='0']")


def test_a_key_file_signs_in_the_page(
    node: NodeProcess, chain: Chain, chain_models: dict[str, int], browser_page: Any, tmp_path: Path
) -> None:
    key_file = tmp_path / "key.json"
    done = run_cli("key", "generate", "--output", str(key_file))
    assert done.returncode == 0, done.stderr
    account = json.loads(key_file.read_text())["publicKey"]
    vault = chain_models["vault"]
    tx(chain, "alice", "Access.grant", model=vault, who=account, role="Reader", expires_at=None)
    page = browser_page
    page.goto(f"{base(node)}/models/{vault}")
    page.set_input_files("#key-file", str(key_file))
    page.wait_for_selector("#signer option[value=seed]", state="attached")
    page.fill("#predict-rows", "5.1, 3.5, 1.4, 0.2")
    page.click("#predict-submit")
    page.wait_for_selector("#predict-result .error")  # a Reader's signature, else AccessDenied
    assert page.get_attribute("#predict-result .error", "data-error") == "ConfidentialModel"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"seed": "0x" + "11" * 32, "publicKey": account}))
    page.set_input_files("#key-file", str(bad))
    assert page.get_attribute("#wallet .error", "data-error") == "BadKeyFile"


@pytest.mark.parametrize(
    ("path", "error"), [("/blocks/999999", "UnknownBlock"), ("/models/999", "UnknownModel")]
)
def test_refusals_are_named_on_the_page(node: NodeProcess, browser_page: Any, path: str, error: str) -> None:
    browser_page.goto(base(node) + path)
    assert browser_page.get_attribute("main .error", "data-error") == error


def dump_dom(url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="cmu-dash-dump-") as profile:
        done = subprocess.run(
            [CHROMIUM, *BROWSER_ARGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_headless_dump_dom_lists_models_and_labels(node: NodeProcess, chain_models: dict[str, int]) -> None:
    overview = dump_dom(base(node) + "/")
    assert 'class="model-name">iris<' in overview and 'class="model-name">vault<' in overview
    model_page = dump_dom(f"{base(node)}/models/{chain_models['iris']}")
    for label in LABELS:
        assert f'class="label" data-index="{LABELS.index(label)}">{label}<' in model_page


def test_json_rpc_and_static_files_share_the_port(node: NodeProcess) -> None:
    assert node.rpc("system_name") == "cmu-node"
    with urllib.request.urlopen(base(node) + "/static/style.css") as answer:
        assert answer.status == 200 and b"font" in answer.read()


def test_overview_follows_new_heads_live(node: NodeProcess, chain: Chain, browser_page: Any) -> None:
    page = browser_page
    page.goto(base(node) + "/")
    page.wait_for_selector("main[data-ready=overview]")
    shown = int(page.inner_text("#stat-best").lstrip("#"))
    tx(chain, "eve", "System.remark", remark="0x00")
    newest = node.best_number()
    assert newest > shown
    page.wait_for_selector(f"#stat-best:text-is('#{newest}')")
    page.wait_for_selector(f"#recent-blocks tr[data-block='{newest}']")


def test_block_reads_come_in_pages_of_extrinsics(node: NodeProcess, chain_models: dict[str, int]) -> None:
    best = node.best_number()
    number = next(n for n in range(best, 0, -1) if node.rpc("dashboard_block", str(n))["extrinsicCount"] >= 2)
    whole = node.rpc("dashboard_block", number)
    rest = node.rpc("dashboard_block", str(number), 1)
    assert [x["index"] for x in rest["extrinsics"]] == list(range(1, whole["extrinsicCount"]))
    assert rest["extrinsics"] == whole["extrinsics"][1:]
    assert all(e["phase"] != 0 for e in rest["events"]) and any(e["phase"] == 0 for e in whole["events"])
