"""The dashboard's HTTP side: GET / and the page paths answer the app's HTML with the page's data
embedded (the answer of its `dashboard_` read, so the first paint needs no second request), and
/static/ serves the stylesheet and the bundle built by esbuild (`npm run build` in this directory).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from cmu.node.fasthttp import HttpConnection
from cmu.node.rpc import Dispatcher

log = logging.getLogger("cmu.dashboard")
STATIC = Path(__file__).resolve().parent / "static"
BUNDLE = STATIC / "dist" / "app.js"
BUILD_HINT = (
    "The dashboard's JavaScript bundle was never built. Run ./run.sh dev (it builds it), or "
    "cd cmu/node/dashboard && npm ci && npm run build, then reload."
)
_PAGES: tuple[tuple[str, str], ...] = (
    ("/blocks/{ref}", "block"),
    ("/accounts/{who}", "account"),
    ("/models", "models"),
    ("/models/{model}", "model"),
)


def bundle_built() -> bool:
    """Whether static/dist/app.js exists."""
    return BUNDLE.is_file()


class Dashboard:
    """Serves the pages; reads go through the node's own JSON-RPC dispatcher."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._template = (STATIC / "index.html").read_text()
        if not bundle_built():
            log.warning(BUILD_HINT)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The page paths and /static/ (GET / is routed here by the RPC server when not a WebSocket)."""
        for path, page in _PAGES:
            router.add_get(path, self._page_handler(page))
        router.add_static("/static", STATIC, append_version=False)

    def _page_handler(self, page: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            return await self.page(request, page)

        return handle

    async def index(self, request: web.Request) -> web.Response:
        """GET /: the overview."""
        return await self.page(request, "overview")

    async def page(self, request: web.Request, page: str) -> web.Response:
        """The HTML of one page, its data embedded; a clear page when the bundle is missing."""
        if not bundle_built():
            return web.Response(status=503, text=_missing_bundle_html(), content_type="text/html")
        method, params = _read_of(page, request.match_info, request.query.get("start", "0"))
        request_text = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        answer = await self.dispatcher.handle(request_text, HttpConnection())
        head = json.dumps({"page": page, "params": params}, separators=(",", ":"))
        preload = head[:-1] + ',"answer":' + (answer or "null") + "}"  # the answer's JSON text as it is
        html = self._template.replace("{{PRELOAD}}", _script_safe(preload))
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


def _read_of(page: str, match: Any, start: str) -> tuple[str, list[Any]]:
    """The dashboard_ method and params a page shows (`start`: the ?start= of a paged one)."""
    if page == "block":
        return "dashboard_block", [match["ref"], start]
    if page == "account":
        return "dashboard_account", [match["who"]]
    if page == "model":
        return "dashboard_model", [match["model"]]
    if page == "models":
        return "dashboard_models", [start]
    return "dashboard_overview", []


def _script_safe(json_text: str) -> str:
    """JSON text safe inside a <script> element ("</" and "<!--" only occur inside strings, where "\\/"
    and "\\u003c" mean the same characters)."""
    return json_text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _missing_bundle_html() -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>cmu dashboard: not built</title></head>"
        f"<body><h1>Dashboard not built</h1><p>{BUILD_HINT}</p>"
        "<p>JSON-RPC is served on this port as usual (POST /, or a WebSocket).</p></body></html>"
    )
