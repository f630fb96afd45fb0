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

from conftest import BROWSER_ARGS, CHROMIUM, LABELS, iris_weights_file, register_iris, tx  # noqa: E402
from node_harness import NodeProcess  # noqa: E402

from cmu.client.chain import Chain  # noqa: E402
from cmu.client.rpc import Client  # noqa: E402
from runtime.crypto import address, dev_keypair  # noqa: E402

OUT = ROOT / "docs" / "img"
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def q16(row: list[float]) -> list[int]:
    return [round(x * 65536) for x in row]


def build(node: NodeProcess) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        iris, root = register_iris(node, iris_weights_file(Path(tmp)), "iris")
    with Client(node.url, timeout=60) as client:
        chain = Chain(client)
        spec = {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * 65536, "max_nonzeros": 0}
        tx(
            chain,
            "alice",
            "ModelRegistry.register",
            name="vault",
            description="iris, for readers only",
            task="classification",
            kind="dense_perceptron",
            input_spec=spec,
            labels=LABELS,
            license="MIT",
            artifact=root,
        )
        tx(
            chain,
            "alice",
            "Training.set_config",
            model=iris,
            enabled=True,
            mechanism="Stake",
            refund_wait_s=3600,
            owner_claim_wait_s=864000,
            any_claim_wait_s=950400,
            cost_weight=1000,
            batch_limit=16,
        )
        tx(chain, "alice", "Access.set_policy", model=1, visibility="Permissioned", training="Open")
        for who, row, label in [("bob", ROWS[0], 0), ("charlie", ROWS[1], 2), ("bob", ROWS[2], 1)]:
            tx(chain, who, "Training.add_data", model=iris, features=q16(row), label=label)
            node.rpc("dev_warp", 600)
        tx(chain, "alice", "Versioning.set_channel", model=iris, channel="stable", version=2)
        tx(chain, "bob", "Versioning.pin", model=iris, version=1)
        node.rpc("dev_warp", 3600)
        tx(chain, "bob", "Training.add_data", model=iris, features=q16([5.0, 3.6, 1.4, 0.2]), label=2)
        tx(chain, "bob", "Training.refund", contribution=0, features=q16(ROWS[0]), label=0)
        tx(chain, "alice", "Versioning.rollback", model=iris, version=2, notes_hash=None)


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
