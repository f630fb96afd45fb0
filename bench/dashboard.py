"""Dashboard page loads on a dev chain of 1,000 blocks and 100 models, measured in Debian's chromium
(Playwright): from navigation start to the page's content rendered (the `cmu-rendered` performance
mark the app sets after drawing the server-embedded data), the median of 10 loads per page.

Run: python bench/dashboard.py   (needs the built bundle and chromium: ./run.sh bench provides both)
Last line: overview_ms=.. models_ms=.. model_ms=.. block_ms=.. account_ms=.. blocks=.. models=..
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "node"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node_harness import NodeProcess

from cmu.client.chain import Chain, hex_of
from cmu.client.rpc import Client
from runtime.crypto import address, dev_keypair

BLOCKS = 1_000
MODELS = 100
LOADS = 10
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_chain(node: NodeProcess) -> None:
    """100 models registered by alice, 20 contributions to model 0 by bob, then empty blocks up to 1,000."""
    alice, bob = dev_keypair("alice"), dev_keypair("bob")
    with Client(node.url, timeout=120) as client:
        chain = Chain(client)
        spec = {"n_features": 4, "sparse": False, "min_value": 0, "max_value": 8 * 65536, "max_nonzeros": 0}
        nonce = int(client.request("system_accountNextIndex", [hex_of(alice.account)]))
        for n in range(MODELS):
            call = chain.compose(
                "ModelRegistry.register",
                {
                    "name": f"model-{n}",
                    "description": "",
                    "task": "classification",
                    "kind": "dense_perceptron",
                    "input_spec": spec,
                    "labels": ["a", "b", "c"],
                    "license": "MIT",
                    "artifact": None,
                },
            )
            chain.submit(chain.sign(alice, call, nonce=nonce + n))
            if n % 50 == 49:  # a sender may have 64 extrinsics in the pool
                client.request("engine_createBlock", [True, True])
        config = chain.compose(
            "Training.set_config",
            {
                "model": 0,
                "enabled": True,
                "mechanism": "Stake",
                "refund_wait_s": 3600,
                "owner_claim_wait_s": 864000,
                "any_claim_wait_s": 950400,
                "cost_weight": 1000,
                "batch_limit": 16,
            },
        )
        chain.submit(chain.sign(alice, config))
        client.request("engine_createBlock", [True, True])
        for i in range(20):
            call = chain.compose(
                "Training.add_data", {"model": 0, "features": [i * 1000, 2, 3, 4], "label": i % 3}
            )
            chain.submit(chain.sign(bob, call, nonce=i))
            client.request("engine_createBlock", [True, True])
        while int(client.request("chain_getHeader")["number"]) < BLOCKS:
            client.request("engine_createBlock", [True, True])


def measure(node: NodeProcess) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    base = node.url.rstrip("/")
    pages = {
        "overview": "/",
        "models": "/models",
        "model": "/models/0",
        "block": f"/blocks/{BLOCKS // 2}",
        "account": f"/accounts/{address(dev_keypair('bob').account)}",
    }
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS
        )
        page = context.new_page()
        for name, path in pages.items():
            times = []
            for _ in range(LOADS + 1):  # the first load warms the caches and is not counted
                page.goto(base + path)
                page.wait_for_selector("main[data-ready]")
                mark = page.evaluate("performance.getEntriesByName('cmu-rendered')[0].startTime")
                times.append(float(mark))
            figures[name] = statistics.median(times[1:])
        context.close()
    return figures


def main() -> None:
    node = NodeProcess("--dev", "--seal", "manual").start()
    try:
        build_chain(node)
        figures = measure(node)
    finally:
        node.stop()
        node.close()
    for name, ms in figures.items():
        print(f"{name:10s} {ms:7.1f} ms (median of {LOADS} loads, navigation start to content rendered)")
    print(" ".join(f"{k}_ms={v:.1f}" for k, v in figures.items()) + f" blocks={BLOCKS} models={MODELS}")


if __name__ == "__main__":
    main()
