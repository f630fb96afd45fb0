"""The `model_` JSON-RPC namespace: model info and listing, free predictions and verifiable downloads.

Queries run on a read-only Runtime over committed state (the node's validation runtime for the head,
or a view over the history index for an older block given as `at`). They never write and cost no fee.
Predictions and downloads pass the Access check (cmu/node/rpc_views/access.py) for the caller named by a
signed query (`auth`, checked by cmu/node/query_auth.py), at the best block and at `at`; public models
need no signature. A refused query is JSON-RPC error 4000 with data {"error": <name>, "message": ...}.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from cmu.formats.signed_query import named_params
from cmu.node import version_api
from cmu.node.chaindb import ChainDb
from cmu.node.query_auth import QueryAuth
from cmu.node.rpc import RpcError, bad_params, method
from cmu.node.rpc_api import parse_account, parse_hex, parse_number
from cmu.node.rpc_views import access as access_query
from cmu.node.rpc_views import model_registry as query
from runtime.block import Header
from runtime.executive import META_HEAD, Runtime
from runtime.genesis import ChainSpec
from runtime.storage.backend import Backend
from runtime.storage.overlay import STATE_PREFIX

QUERY_REFUSED = 4000
_VIEWS = 8


class ReadOnlyStore(Exception):
    """A write was attempted through a historic view."""


class HistoricBackend:
    """The store as it was after one block: state keys from the history index, the rest unchanged."""

    def __init__(self, backend: Backend, chaindb: ChainDb, header: Header) -> None:
        self._backend = backend
        self._chaindb = chaindb
        self._header = header
        self._head_bytes = header.encode()

    def get(self, key: bytes) -> bytes | None:
        if key.startswith(STATE_PREFIX):
            return self._chaindb.state_at(key[len(STATE_PREFIX) :], self._header.number)
        if key == META_HEAD:
            return self._head_bytes
        return self._backend.get(key)

    def iterate(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        if prefix.startswith(STATE_PREFIX) or STATE_PREFIX.startswith(prefix):
            raise query.QueryError("HistoricIteration", "listing is only served at the best block")
        return self._backend.iterate(prefix, start)

    def put(self, key: bytes, value: bytes) -> None:
        raise ReadOnlyStore("historic views are read-only")

    def delete(self, key: bytes) -> None:
        raise ReadOnlyStore("historic views are read-only")

    def write(self, puts: Any, deletes: Any = ()) -> None:
        raise ReadOnlyStore("historic views are read-only")

    def close(self) -> None:
        """Nothing to release: the live store is owned by the node."""


class ModelApi:
    """The model_* methods."""

    def __init__(
        self,
        spec: ChainSpec,
        head_runtime: Runtime,
        chaindb: ChainDb,
        header_at: Callable[[Any], tuple[bytes, Header]],
        auth: QueryAuth | None = None,
    ) -> None:
        self.spec = spec
        self.head_runtime = head_runtime
        self.chaindb = chaindb
        self._header_at = header_at
        self.auth = auth or QueryAuth(head_runtime.genesis_hash)
        self._views: OrderedDict[bytes, Runtime] = OrderedDict()
        self._lock = threading.Lock()

    def runtime_at(self, at: Any) -> Runtime:
        """The read runtime for plain reads: the head's, or a view pinned to block `at`."""
        return self.head_runtime if at is None else self._view(at)

    def _view(self, at: Any) -> Runtime:
        """A runtime pinned to one block (default: the best block) through the history index.

        Proofs come from here: reads and the state root always belong to the same block, even while
        newer blocks are being committed (the head runtime's root can lag its backend by a moment).
        """
        block_hash, header = self._header_at(at)
        with self._lock:
            view = self._views.get(block_hash)
            if view is None:
                backend = HistoricBackend(self.head_runtime.backend, self.chaindb, header)
                pallets = [type(p) for p in self.head_runtime.pallets]  # the head runtime's, also added ones
                view = Runtime(self.spec, backend, extra_pallets=pallets)
                self._views[block_hash] = view
                while len(self._views) > _VIEWS:
                    self._views.popitem(last=False)
            self._views.move_to_end(block_hash)
            return view

    @method("model_get")
    def model_get(self, model: Any, at: Any = None) -> dict[str, Any]:
        """A model's public description (a permissioned model's artifact root is null) and access policy."""
        model_id = parse_number(model, "model")

        def run() -> dict[str, Any]:
            rt = self.runtime_at(at)
            shown = access_query.public_model_json(rt, model_id, query.model_info(rt, model_id))
            extra = version_api.model_json_extra(rt, model_id)
            if shown["artifact"] is None:  # permissioned: no root, it names the weights' bytes
                extra.pop("artifact", None)
            return {**shown, **extra}

        return answer(run)

    @method("model_list")
    def model_list(self, owner: Any = None, start: Any = 0, limit: Any = 50) -> dict[str, Any]:
        """Models in id order (all, or one owner's), paged: {"models": [...], "next": id|null}."""
        who = None if owner is None else bytes(parse_account(owner))
        first, count = parse_number(start, "start"), parse_number(limit, "limit")

        def run() -> dict[str, Any]:
            rt = self.head_runtime
            page = query.list_models(rt, who, first, count)
            page["models"] = [
                access_query.public_model_json(rt, m["id"], query.model_info(rt, m["id"]))
                for m in page["models"]
            ]
            return page

        return answer(run)

    @method("model_predict")
    def model_predict(
        self,
        model: Any,
        rows: Any,
        at: Any = None,
        fixed: Any = False,
        version: Any = None,
        auth: Any = None,
    ) -> dict[str, Any]:
        """Labels and Q.16 scores for one row or a batch (real values, or Q.16 ints with fixed=true), at a
        version (number or channel; default stable when set, else latest) on a chain with Versioning;
        a permissioned model needs `auth`, a query signed by a Reader (or higher) of the model."""
        model_id, selector = parse_number(model, "model"), version_api.parse_selector(version)
        if not isinstance(fixed, bool):
            raise bad_params("fixed must be a boolean")
        params = named_params("model_predict", (model, rows, at, fixed, version))

        def run() -> dict[str, Any]:
            caller = self.auth.verify("model_predict", params, model_id, auth)
            rt = self.checked_runtime(caller, model_id, "predict", at, self.runtime_at)
            access_query.ensure_predictable(rt, model_id)
            return version_api.predict(rt, model_id, rows, fixed, selector, caller)

        return answer(run)

    @method("model_download")
    def model_download(
        self,
        artifact: Any,
        start: Any = 0,
        count: Any = 16,
        at: Any = None,
        version: Any = None,
        auth: Any = None,
    ) -> dict[str, Any]:
        """Chunks of an artifact (a 0x root, or a model id for its confidential version if it has one, else
        `version` or the default one) with a read proof; permissioned models need `auth` as model_predict."""
        first, many = parse_number(start, "start"), parse_number(count, "count")
        selector = version_api.parse_selector(version)
        by_id = isinstance(artifact, int) and not isinstance(artifact, bool)
        root = None if by_id else parse_hex(artifact, "artifact root", 32)
        params = named_params("model_download", (artifact, start, count, at, version))

        def run() -> dict[str, Any]:
            caller = self.auth.verify("model_download", params, artifact if by_id else None, auth)
            if root is None:
                rt = self.checked_runtime(caller, artifact, "download", at, self._view)
                secret = access_query.confidential(rt, artifact)
                if secret is not None and selector is None:
                    return query.download(rt, secret.artifact, first, many)
                return version_api.download(rt, artifact, first, many, selector, caller)
            access_query.ensure_may_download_root(self.head_runtime, caller, root, self._reading_block())
            return version_api.download(self._view(at), artifact, first, many, selector)

        return answer(run)

    def checked_runtime(
        self, caller: Any, model: int, action: str, at: Any, runtime_at: Callable[[Any], Runtime]
    ) -> Runtime:
        """The runtime to answer from, once the caller may `action` the model now and at `at`."""
        access_query.ensure_may_read(self.head_runtime, caller, model, action, self._reading_block())
        rt = runtime_at(at)
        if rt is not self.head_runtime:
            access_query.ensure_may_read(rt, caller, model, action, rt.head.number + 1)
        return rt

    def _reading_block(self) -> int:
        """The block reads of the best state are judged in: the next one (the head runtime's own header
        may lag the best block by a moment, the chain database's does not)."""
        best = self.chaindb.head.best.number if self.chaindb is not None else self.head_runtime.head.number
        return best + 1


def answer(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a query; a QueryError becomes JSON-RPC error 4000 with {"error", "message"}."""
    try:
        return run()
    except query.QueryError as exc:
        raise RpcError(
            QUERY_REFUSED, f"{exc.error}: {exc}", {"error": exc.error, "message": str(exc)}
        ) from exc
