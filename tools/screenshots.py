"""Screenshots of every dashboard page (docs/img/dashboard-*.png) from a dev node with an iris model,
a permissioned copy, contributions, a refund after a dev time warp and a version on the stable channel.

Run: python tools/screenshots.py   (needs the built bundle and Debian's chromium)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "node"))
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
sys.path.insert(0, str(ROOT))

from conftest import BROWSER_ARGS, CHROMIUM, cmu, iris_weights_file, register_iris  # noqa: E402
from node_harness import NodeProcess  # noqa: E402

from runtime.crypto import address, dev_keypair  # noqa: E402

OUT = ROOT / "docs" / "img"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def q16(row: list[float]) -> str:
    return "[" + ", ".join(str(round(x * 65536)) for x in row) + "]"


def build(node: NodeProcess) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        weights = iris_weights_file(Path(tmp))
        iris = register_iris(node, weights, "iris")
        vault = register_iris(node, weights, "vault")
    cmu(
        node,
        "--signer",
        "alice",
        "tx",
        "Training.set_config",
        f"model={iris}",
        "enabled=true",
        "mechanism=Stake",
        "refund_wait_s=3600",
        "owner_claim_wait_s=864000",
        "any_claim_wait_s=950400",
        "cost_weight=1000",
        "batch_limit=16",
    )
    cmu(
        node,
        "--signer",
        "alice",
        "tx",
        "Access.set_policy",
        f"model={vault}",
        "visibility=Permissioned",
        "training=Open",
    )
    for who, row, label in [("bob", ROWS[0], 0), ("charlie", ROWS[1], 2), ("bob", ROWS[2], 1)]:
        cmu(node, "--signer", who, "training", "add", str(iris), q16(row), str(label))
        node.rpc("dev_warp", 600)
    cmu(
        node,
        "--signer",
        "alice",
        "tx",
        "Versioning.set_channel",
        f"model={iris}",
        "channel=stable",
        "version=2",
    )
    node.rpc("dev_warp", 3600)
    cmu(node, "--signer", "bob", "training", "add", str(iris), q16([5.0, 3.6, 1.4, 0.2]), "2")
    cmu(node, "--signer", "bob", "training", "refund", "0", q16(ROWS[0]), "0")


def shoot(node: NodeProcess) -> None:
    from playwright.sync_api import sync_playwright

    base = node.url.rstrip("/")
    bob = address(dev_keypair("bob").account)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.goto(base + "/")
        page.select_option("#signer", "dev:bob")
        for name, path in [
            ("overview", "/"),
            ("models", "/models"),
            ("block", "/blocks/5"),
            ("account", f"/accounts/{bob}"),
        ]:
            page.goto(base + path)
            page.wait_for_selector("main[data-ready]")
            page.screenshot(path=str(OUT / f"dashboard-{name}.png"), full_page=True)
        page.goto(base + "/models/0")
        page.fill("#predict-rows", "\n".join(", ".join(map(str, r)) for r in ROWS))
        page.click("#predict-submit")
        page.wait_for_selector("#predictions")
        page.fill("#contribute-features", "6.3, 2.9, 5.6, 1.8")
        page.select_option("#contribute-label", "2")
        page.screenshot(path=str(OUT / "dashboard-model.png"), full_page=True)
        page.goto(base + "/models/1")
        page.select_option("#signer", "dev:dave")
        page.fill("#predict-rows", "5.1, 3.5, 1.4, 0.2")
        page.click("#predict-submit")
        page.wait_for_selector("#predict-result .error")
        page.screenshot(path=str(OUT / "dashboard-permissioned.png"), full_page=True)
        context.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    node = NodeProcess("--dev", "--seal", "instant").start()
    try:
        build(node)
        shoot(node)
    finally:
        node.stop()
        node.close()
    print(" ".join(sorted(p.name for p in OUT.glob("dashboard-*.png"))))


if __name__ == "__main__":
    main()
