"""The dashboard's HTTP side in process (aiohttp's test server): the page embeds its dashboard_ answer,
a missing bundle gives a page saying how to build it (the node keeps serving JSON-RPC), `--no-dashboard`
keeps GET / at 405, and only the node's own origin on an IP or localhost host passes without --rpc-cors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

import node as node_cli
from cmu.node.dashboard import web
from cmu.node.metrics import Metrics
from cmu.node.rpc import Dispatcher, collect_methods, method
from cmu.node.server import RpcServer
from cmu.node.subscriptions import Hub


class FakeReads:
    """The reads a page asks for (the test is about the page server, not the reads)."""

    @method("dashboard_overview")
    def overview(self) -> dict[str, Any]:
        return {"models": [{"id": 0, "name": "</script><!--<b>iris"}], "bestNumber": 3}

    @method("system_name")
    def name(self) -> str:
        return "cmu-node"


def serve(dashboard: bool, check: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def run() -> None:
        dispatcher = Dispatcher(collect_methods(FakeReads()), allow_unsafe=False, metrics=Metrics())
        pages = web.Dashboard(dispatcher) if dashboard else None
        server = RpcServer(dispatcher, Hub(), Metrics(), dashboard=pages)
        async with TestClient(TestServer(server.app())) as client:
            await check(client)

    asyncio.run(run())


def test_the_page_embeds_its_answer_safely() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        answer = await client.get("/")
        text = await answer.text()
        assert answer.status == 200 and answer.content_type == "text/html"
        assert (
            "</script><!--" not in text and "<!--<b>" not in text
        )  # a model's name cannot close the data element
        start = text.index('type="application/json">') + len('type="application/json">')
        preload = json.loads(text[start : text.index("</script>", start)])
        assert preload["page"] == "overview"
        assert preload["answer"]["result"]["models"][0]["name"] == "</script><!--<b>iris"

    if not web.bundle_built():
        pytest.skip("the dashboard bundle is not built (./run.sh test builds it)")
    serve(True, check)


def test_a_missing_bundle_is_said_plainly_and_rpc_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web, "BUNDLE", tmp_path / "never-built.js")

    async def check(client: TestClient[Any, Any]) -> None:
        page = await client.get("/models/3")
        assert page.status == 503
        assert "npm run build" in await page.text()
        rpc = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "system_name"})
        assert (await rpc.json())["result"] == "cmu-node"

    serve(True, check)


def test_no_dashboard_keeps_get_at_405() -> None:
    args = node_cli.build_parser().parse_args(["--dev", "--no-dashboard"])
    assert node_cli.node_config(args).dashboard is False
    assert node_cli.node_config(node_cli.build_parser().parse_args(["--dev"])).dashboard is True

    async def check(client: TestClient[Any, Any]) -> None:
        assert (await client.get("/")).status == 405
        assert (await client.get("/models/1")).status == 404

    serve(False, check)


@pytest.mark.parametrize(
    ("host", "origin", "status"),
    [
        ("127.0.0.1:9944", "http://127.0.0.1:9944", 200),
        ("localhost:9944", "http://localhost:9944", 200),
        ("127.0.0.1:9944", "http://evil.example", 403),
        ("rebound.example:9944", "http://rebound.example:9944", 403),  # DNS rebinding: needs --rpc-cors
    ],
)
def test_only_the_nodes_own_origin_passes(host: str, origin: str, status: int) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        body = {"jsonrpc": "2.0", "id": 1, "method": "system_name"}
        answer = await client.post("/", json=body, headers={"Host": host, "Origin": origin})
        assert answer.status == status

    serve(True, check)
