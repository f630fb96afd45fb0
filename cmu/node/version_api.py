"""The versioning side of the `model_` namespace: `model_history`, `model_verify` and `model_diff`, and the
version-aware parts of `model_predict`, `model_download` and `model_get` (cmu/node/model_api.py).

On a chain with Versioning a model's weights are its versions': predictions and downloads read the version
asked for (a number or a channel), by default `stable` when set, else `latest` (the newest). On a chain
without it they read the registry's artifact, as before, and a version parameter is refused (NoVersioning).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cmu.formats import artifact as art
from cmu.formats.signed_query import named_params
from cmu.node.rpc import bad_params, method
from cmu.node.rpc_api import parse_hex, parse_number
from cmu.node.rpc_views import model_registry as query
from cmu.node.rpc_views import versioning as versions
from pallets.versioning.types import STABLE, VersionRecord
from runtime.crypto import blake2_256
from runtime.executive import Runtime

if TYPE_CHECKING:
    from cmu.node.model_api import ModelApi

MAX_CHANNEL = 32


def parse_selector(value: Any) -> versions.Selector:
    """A version parameter: null, a version number, or a channel name (-32602 otherwise)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and 0 < len(value) <= MAX_CHANNEL:
        return value
    raise bad_params("version must be a version number, a channel name (e.g. \"stable\") or null")


def caller_selector(rt: Runtime, model: int, who: Any, selector: versions.Selector) -> versions.Selector:
    """`selector`, or when none is given the pin of the caller of a signed query (its fixed version or
    followed channel), so a consumer that pinned a version keeps getting it; None otherwise."""
    pallet = versions.versioning(rt)
    if selector is not None or who is None or pallet is None:
        return selector
    pin = pallet.pins.get(model, who)
    if pin is None:
        return None
    return pin.version if pin.version is not None else pin.channel


def predict(
    rt: Runtime, model: int, rows: Any, fixed: bool, selector: versions.Selector, who: Any = None
) -> dict[str, Any]:
    """model_predict: at the selected version (or the pin of `who`, the signed caller) when the chain has
    Versioning, else as the registry says."""
    if versions.versioning(rt) is None:
        _refuse_selector(selector)
        return query.predict(rt, model, rows, fixed=fixed)
    info, spec = query.model_entry(rt, model)  # UnknownModel before anything else
    record = versions.resolve_known(rt, model, info, caller_selector(rt, model, who, selector))
    weights = query.registry(rt).weights.get(record.artifact, info.kind, spec, len(info.labels))
    if weights is None:
        weights = versions.weights(rt, model, record)
    answer = query.predict(rt, model, rows, root=record.artifact, fixed=fixed, weights=weights)
    answer["version"] = record.number
    return answer


def download(
    rt: Runtime, artifact: Any, start: int, count: int, selector: versions.Selector, who: Any = None
) -> dict[str, Any]:
    """model_download of a root, or of a model's version (the selected one, the pin of `who`, the signed
    caller, or the default)."""
    if not isinstance(artifact, int) or isinstance(artifact, bool):
        if selector is not None:
            raise bad_params("version goes with a model id, not with an artifact root")
        return query.download(rt, parse_hex(artifact, "artifact root", 32), start, count)
    if versions.versioning(rt) is None:
        _refuse_selector(selector)
        return query.download(rt, query.model_info(rt, artifact).artifact, start, count)
    query.model_info(rt, artifact)
    chosen = caller_selector(rt, artifact, who, selector)
    return download_version(rt, artifact, versions.resolve(rt, artifact, chosen), start, count)


def download_version(
    rt: Runtime, model: int, record: VersionRecord, start: int, count: int
) -> dict[str, Any]:
    """Chunks of a version's full artifact, with one read proof covering the version record and, for a
    stored artifact, its manifest and the chunks; a delta version's bytes are rebuilt (`rebuilt`: true)
    and the client checks them against the proven record's artifact root."""
    pallet = versions.required(rt)
    version_key = pallet.versions.key(model, record.number)
    if record.full and record.artifact in pallet.registry.artifacts:
        answer = query.download(rt, record.artifact, start, count)
        keys = [version_key, bytes.fromhex(answer["manifestKey"][2:])]
        keys += [bytes.fromhex(k[2:]) for k in answer["chunkKeys"]]
        answer["proof"] = ["0x" + node.hex() for node in rt.prove(keys)]
        return {**answer, "version": record.number, "versionKey": _hex(version_key), "rebuilt": False}
    data = versions.full_bytes(rt, model, record)
    pieces = art.split_chunks(data)
    start, count = max(0, start), max(0, min(count, query.MAX_DOWNLOAD_CHUNKS))
    return {
        "root": _hex(record.artifact),
        "size": len(data),
        "chunkCount": len(pieces),
        "chunkHashes": [_hex(blake2_256(p)) for p in pieces],
        "start": start,
        "chunks": [_hex(p) for p in pieces[start : start + count]],
        "at": _hex(rt.head.hash()),
        "stateRoot": _hex(rt.head.state_root),
        "manifestKey": None,
        "chunkKeys": [],
        "proof": ["0x" + node.hex() for node in rt.prove([version_key])],
        "version": record.number,
        "versionKey": _hex(version_key),
        "rebuilt": True,
    }


def model_json_extra(rt: Runtime, model: int) -> dict[str, Any]:
    """What model_get adds on a chain with Versioning: the latest version's artifact root (the model's
    current weights), the latest version's number and the stable channel's (null when unset)."""
    pallet = versions.versioning(rt)
    if pallet is None:
        return {}
    latest = versions.resolve(rt, model, "latest")
    return {
        "artifact": _hex(latest.artifact),
        "latestVersion": latest.number,
        "stableVersion": pallet.channels.get(model, STABLE),
    }


def _refuse_selector(selector: versions.Selector) -> None:
    if selector is not None:
        raise query.QueryError("NoVersioning", "this chain has no Versioning pallet: no versions to select")


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


class VersionApi:
    """model_history, model_verify and model_diff over the ModelApi's read runtimes (head, or `at`)."""

    def __init__(self, models: ModelApi) -> None:
        self.models = models

    @method("model_history")
    def model_history(
        self, model: Any, start: Any = 0, end: Any = None, at: Any = None, auth: Any = None
    ) -> dict[str, Any]:
        """Versions start..end (inclusive; at most 100 per page, `next` continues), oldest first."""
        model_id, first = parse_number(model, "model"), parse_number(start, "from")
        last = None if end is None else parse_number(end, "to")
        params = named_params("model_history", (model, start, end, at))
        return self._answer(
            ("model_history", params, model_id, auth, at),
            lambda rt: versions.history(rt, model_id, first, last),
        )

    @method("model_verify")
    def model_verify(
        self, model: Any, version: Any, artifact_root: Any, at: Any = None, auth: Any = None
    ) -> dict[str, Any]:
        """Whether a version has this artifact root, as recorded and as rebuilt from the state."""
        model_id, number = parse_number(model, "model"), parse_number(version, "version")
        root = parse_hex(artifact_root, "artifact root", 32)
        params = named_params("model_verify", (model, version, artifact_root, at))
        return self._answer(
            ("model_verify", params, model_id, auth, at),
            lambda rt: versions.verify(rt, model_id, number, root),
        )

    @method("model_diff")
    def model_diff(self, model: Any, v1: Any, v2: Any, at: Any = None, auth: Any = None) -> dict[str, Any]:
        """Which chunks of the full artifacts differ between two versions."""
        model_id = parse_number(model, "model")
        first, second = parse_number(v1, "v1"), parse_number(v2, "v2")
        params = named_params("model_diff", (model, v1, v2, at))
        return self._answer(
            ("model_diff", params, model_id, auth, at),
            lambda rt: versions.diff(rt, model_id, first, second),
        )

    def _answer(
        self, query_of: tuple[str, dict[str, Any], int, Any, Any], run: Callable[[Runtime], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run a history query once the caller may read the model (a version's root names its weights,
        so a permissioned model's history needs a signed query as model_download does)."""
        from cmu.node.model_api import answer

        name, params, model, auth, at = query_of

        def checked() -> dict[str, Any]:
            caller = self.models.auth.verify(name, params, model, auth)
            rt = self.models.checked_runtime(caller, model, "download", at, self.models.runtime_at)
            return run(rt)

        return answer(checked)
