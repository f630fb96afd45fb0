"""The `dashboard_` JSON-RPC namespace: one read per dashboard page (overview, block, account, models,
model), each an aggregate of the node's public reads, with extrinsics and events decoded for people.

Read-only and free like the `model_` methods; refusals are the same errors (4000 with `data.error`).
The page server (`cmu/node/dashboard/web.py`) embeds these answers in the HTML it serves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from cmu.node.chaindb import ChainDb
from cmu.node.events import events_json
from cmu.node.model_api import ModelApi
from cmu.node.rpc import RpcError, bad_params, method
from cmu.node.rpc_api import NodeApi, hexed, parse_account, parse_hex, parse_number
from cmu.node.rpc_views import training as training_query
from cmu.node.subscriptions import header_json
from cmu.node.training_api import TrainingApi
from cmu.node.version_api import VersionApi
from runtime import codec
from runtime.block import Block, Header
from runtime.crypto import address
from runtime.dispatch import decode_extrinsic
from runtime.errors import RuntimeFailure
from runtime.executive import Runtime
from runtime.extrinsic import extrinsic_hash
from runtime.storage.items import jsonable
from runtime.types import AccountId

#: Blocks the overview lists; models a list page shows; contributions a page lists; extrinsics a block
#: page decodes (a block may hold 10,000: pages of them keep every answer small); per block on the overview.
RECENT_BLOCKS = 10
MAX_RECENT = 50
MODELS_PAGE = 100
CONTRIBUTIONS_PAGE = 100
EXTRINSICS_PAGE = 500
MAX_VERSIONS = 100  # the newest versions a model page draws
OVERVIEW_EXTRINSICS = 20


class DashboardApi:
    """The dashboard_* methods (aggregated reads)."""

    def __init__(
        self, node: NodeApi, models: ModelApi, versions: VersionApi, training: TrainingApi, dev: bool
    ) -> None:
        self.node = node
        self.models = models
        self.versions = versions
        self.training = training
        self.dev = dev

    @property
    def chaindb(self) -> ChainDb:
        """The chain database."""
        return self.node.chaindb

    @property
    def runtime(self) -> Runtime:
        """The node's read runtime (metadata, event and call types)."""
        return self.node.runtime

    # --- pages -----------------------------------------------------------------------------------

    @method("dashboard_overview")
    def dashboard_overview(self, count: Any = RECENT_BLOCKS) -> dict[str, Any]:
        """Chain name, best and finalized headers, the newest blocks (decoded) and the models."""
        many = min(max(parse_number(count, "count"), 1), MAX_RECENT)
        head = self.chaindb.head
        first = max(0, head.best.number - many + 1)
        blocks = [self._block_at_number(n) for n in range(head.best.number, first - 1, -1)]
        return {
            **self._chain_json(),
            "best": header_json(head.best, head.best_hash),
            "finalized": header_json(head.final, head.final_hash),
            "blocks": [b for b in blocks if b is not None],
            "models": self._all_models(),
        }

    @method("dashboard_block")
    def dashboard_block(self, block: Any, start: Any = 0) -> dict[str, Any]:
        """One block by number or 0x hash: header, decoded extrinsics `start`.. (a page of them) with their
        outcome, and their events (plus those of block initialization and finalization)."""
        first = _number_text(start, "start")
        if isinstance(block, str) and block.startswith("0x"):
            block_hash = parse_hex(block, "block hash", 32)
        else:
            number = _number_text(block, "block")
            found = self.chaindb.hash_at(number)
            if found is None:
                raise _refused("UnknownBlock", f"no block {number} on the best chain")
            block_hash = found
        answer = self._block_json(block_hash, first, EXTRINSICS_PAGE)
        if answer is None:
            raise _refused("UnknownBlock", f"no block {block}")
        return {**self._chain_json(), **answer}

    @method("dashboard_account")
    def dashboard_account(self, who: Any) -> dict[str, Any]:
        """An account: nonce, free and held balance, models owned, contributions and what is claimable."""
        account = parse_account(who)
        info = self.runtime.system.account_info(account)
        text = address(account)
        owned = self.models.model_list(owner=text, start=0, limit=MODELS_PAGE)["models"]
        return {
            **self._chain_json(),
            "account": text,
            "nonce": info.nonce,
            "free": info.free,
            "held": info.held,
            "models": owned,
            "contributions": self._contributions_of(account),
            "claimable": _or_error(lambda: self.training.training_claimable(text)),
            "now": self.chaindb.head.best.timestamp,
        }

    @method("dashboard_models")
    def dashboard_models(self, start: Any = 0) -> dict[str, Any]:
        """A page of models from id `start` with their public cards, and where the next page starts."""
        page = self.models.model_list(None, _number_text(start, "start"), MODELS_PAGE)
        return {**self._chain_json(), "models": page["models"], "next": page["next"]}

    @method("dashboard_model")
    def dashboard_model(self, model: Any) -> dict[str, Any]:
        """A model's card, versions (or the error that hides them), contributions with the data of open
        ones (from their DataAdded events), and the deposit a contribution would hold now."""
        model_id = _number_text(model, "model")
        card = self.models.model_get(model_id)
        latest = card.get("latestVersion")
        first_version = max(0, latest - MAX_VERSIONS + 1) if isinstance(latest, int) else 0
        contributions = _or_error(
            lambda: self.training.training_contributions(model_id, None, 0, CONTRIBUTIONS_PAGE)
        )
        for entry in contributions.get("contributions", []):
            if entry["status"] == "Open" and entry["claimable"] > 0:
                entry["data"] = self._contribution_data(entry["contribution"], entry["time"])
        return {
            **self._chain_json(),
            "model": card,
            "history": _or_error(lambda: self.versions.model_history(model_id, first_version, None)),
            "contributions": contributions,
            "deposit": _or_error(lambda: self.training.training_deposit_for(model_id)),
            "channels": self._named(model_id, "channels"),
            "pins": self._named(model_id, "pins"),
            "now": self.chaindb.head.best.timestamp,
        }

    # --- parts -----------------------------------------------------------------------------------

    def _chain_json(self) -> dict[str, Any]:
        head = self.chaindb.head
        return {
            "chain": self.node.spec.name,
            "dev": self.dev,
            "bestNumber": head.best.number,
            "finalizedNumber": head.final.number,
            "properties": dict(self.node.spec.properties),
        }

    def _all_models(self) -> list[dict[str, Any]]:
        return list(self.models.model_list(None, 0, MODELS_PAGE)["models"])

    def _block_at_number(self, number: int) -> dict[str, Any] | None:
        block_hash = self.chaindb.hash_at(number)
        return None if block_hash is None else self._block_json(block_hash, 0, OVERVIEW_EXTRINSICS)

    def _block_json(self, block_hash: bytes, first: int, count: int) -> dict[str, Any] | None:
        """A block with extrinsics first..first+count-1 decoded and their events (and the block's own)."""
        block = self.chaindb.block(block_hash)
        if block is None:
            return None
        raw_events = self.chaindb.state_at(self.runtime.system.events.storage_key, block.header.number)
        events = events_json(self.runtime, raw_events)
        shown = [e for e in events if e["phase"] < 0 or first <= e["phase"] < first + count]
        return {
            "header": header_json(block.header, block_hash),
            "extrinsicCount": len(block.extrinsics),
            "eventCount": len(events),
            "start": first,
            "extrinsics": self._extrinsics_json(block, shown, first, count),
            "events": shown,
        }

    def _extrinsics_json(
        self, block: Block, events: list[dict[str, Any]], first: int, count: int
    ) -> list[dict[str, Any]]:
        outcome: dict[int, dict[str, Any]] = {}
        for event in events:
            if event["pallet"] == "System" and event["event"] in ("ExtrinsicSuccess", "ExtrinsicFailed"):
                outcome[event["phase"]] = event
        return [
            {"index": i, **extrinsic_json(self.runtime, block.extrinsics[i]), **_outcome_json(outcome.get(i))}
            for i in range(first, min(first + count, len(block.extrinsics)))
        ]

    def _named(self, model: int, item: str) -> dict[str, Any]:
        """A model's channels (name -> version) or pins (account -> [version, channel]) from Versioning's
        storage, by prefix; empty on a chain without the pallet."""
        rt = self.runtime
        if not rt.has_pallet("Versioning"):
            return {}
        pallet = next(p for p in rt.pallets if p.name == "Versioning")
        prefix = getattr(pallet, item).prefix_of(model)
        found: dict[str, Any] = {}
        for raw_key, raw_value in rt.overlay.iterate(prefix):
            name = codec.unpack(raw_key[len(prefix) :])
            found[name if isinstance(name, str) else str(jsonable(name))] = jsonable(codec.unpack(raw_value))
        return found

    def _contributions_of(self, who: AccountId) -> list[dict[str, Any]]:
        """The account's newest contributions to any model (at most a page), through the Training pallet's
        by-contributor index: one prefix scan, whatever the number of models."""
        rt = self.runtime
        if not rt.has_pallet("Training"):
            return []
        pallet = training_query.training(rt)
        prefix = pallet.by_contributor.prefix_of(who)
        newest = deque(
            (codec.unpack(raw_key[len(prefix) :]) for raw_key, _ in rt.overlay.iterate(prefix)),
            maxlen=CONTRIBUTIONS_PAGE,
        )
        return [training_query.contribution_json(cid, pallet.contributions[cid]) for cid in newest]

    def _contribution_data(self, contribution: int, time_ms: int) -> dict[str, Any] | None:
        """The features (or, for a text model, the document) and label of a contribution, from the
        DataAdded (TextAdded) event of the block at its time."""
        number = self._block_number_at_time(time_ms)
        if number is None:
            return None
        raw = self.chaindb.state_at(self.runtime.system.events.storage_key, number)
        for event in events_json(self.runtime, raw):
            fields = event["fields"]
            if fields.get("contribution") != contribution or event["pallet"] != "Training":
                continue
            if event["event"] == "DataAdded":
                return {"features": fields["features"], "label": fields["label"], "block": number}
            if event["event"] == "TextAdded":  # a text model's contribution keeps its document
                return {"text": fields["text"], "label": fields["label"], "block": number}
        return None

    def _block_number_at_time(self, time_ms: int) -> int | None:
        """The best-chain block with timestamp `time_ms` (block times strictly increase), by bisection."""
        low, high = 0, self.chaindb.head.best.number
        while low <= high:
            middle = (low + high) // 2
            header = self._header_at_number(middle)
            if header is None:
                return None
            if header.timestamp == time_ms:
                return middle
            if header.timestamp < time_ms:
                low = middle + 1
            else:
                high = middle - 1
        return None

    def _header_at_number(self, number: int) -> Header | None:
        block_hash = self.chaindb.hash_at(number)
        return None if block_hash is None else self.chaindb.header(block_hash)


def extrinsic_json(rt: Runtime, data: bytes) -> dict[str, Any]:
    """An extrinsic for people: its hash, signer, nonce and call with named arguments."""
    shown: dict[str, Any] = {"hash": hexed(extrinsic_hash(data)), "length": len(data)}
    try:
        xt = decode_extrinsic(rt, data)
    except RuntimeFailure as exc:
        return {**shown, "call": None, "decodeError": type(exc).__name__}
    spec = xt.call.spec
    args = dict(zip(spec.arg_names, jsonable(xt.call_wire[2]), strict=True))
    signer = None if xt.signer is None else address(xt.signer)
    return {**shown, "call": spec.full_name, "args": args, "signer": signer, "nonce": xt.nonce, "tip": xt.tip}


def _outcome_json(event: dict[str, Any] | None) -> dict[str, Any]:
    if event is None:
        return {"success": None}
    fields = event["fields"]
    if event["event"] == "ExtrinsicSuccess":
        return {"success": True, "fee": fields.get("fee")}
    return {"success": False, "fee": fields.get("fee"), "error": fields.get("error")}


def _number_text(value: Any, what: str) -> int:
    """A non-negative integer given as a JSON number or as decimal text (from a page's path)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    if isinstance(value, str):
        raise bad_params(f"{what} must be a number or a 0x hash, got {value[:40]!r}")
    return parse_number(value, what)


def _refused(error: str, message: str) -> RpcError:
    return RpcError(4000, f"{error}: {message}", {"error": error, "message": message})


def _or_error(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A read's answer, or {"error": {"error", "message"}} when the node refuses it (the page shows
    the refusal by name next to what it could read)."""
    try:
        return read()
    except RpcError as exc:
        data = exc.data if isinstance(exc.data, dict) else {"error": "RpcError", "message": exc.message}
        return {"error": data}
