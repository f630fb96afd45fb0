"""Training's RPC view: the read-only queries behind the `training_*` RPC methods (contributions of a
model, optionally one contributor's; what an account can still get back; the deposit a contribution
would hold at a time). They run on a runtime with no block in progress (a node's read view) and never
write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack

from cmu.node.rpc_views.model_registry import QueryError
from pallets.training.pallet import Training
from pallets.training.types import Contribution, Status
from runtime.crypto import address
from runtime.errors import DispatchError
from runtime.types import AccountId

if TYPE_CHECKING:
    from runtime.executive import Runtime

MAX_PAGE = 100
MS = 1_000


def training(rt: Runtime) -> Training:
    """The Training pallet of a read runtime (NoTraining if the chain has none)."""
    if not rt.has_pallet(Training.name):
        raise QueryError("NoTraining", "this chain has no Training pallet")
    return rt.pallet(Training)


def contribution_json(contribution: int, record: Contribution) -> dict[str, Any]:
    """One contribution record as JSON (time in ms; hash as 0x-hex)."""
    return {
        "contribution": contribution,
        "model": record.model,
        "contributor": address(record.contributor),
        "dataHash": "0x" + record.data_hash.hex(),
        "label": record.label,
        "initialDeposit": record.initial_deposit,
        "claimable": record.claimable,
        "time": record.time,
        "version": record.version,
        "status": record.status.value,
        "terms": record.terms,
    }


def contributions(rt: Runtime, model: int, who: AccountId | None, start: int, limit: int) -> dict[str, Any]:
    """A model's contributions in id order from `start` (all, or `who`'s), paged:
    {"contributions": [...], "next": id | null}."""
    pallet = training(rt)
    _known_model(pallet, model)
    count = min(max(limit, 1), MAX_PAGE)
    prefix = pallet.by_model.prefix_of(model) if who is None else pallet.by_contributor.prefix_of(who)
    found: list[dict[str, Any]] = []
    for cid in _ids_from(rt, prefix, start):
        record = pallet.contributions[cid]
        if record.model != model:
            continue
        if len(found) == count:
            return {"contributions": found, "next": cid}
        found.append(contribution_json(cid, record))
    return {"contributions": found, "next": None}


def claimable(rt: Runtime, who: AccountId) -> dict[str, Any]:
    """`who`'s open contributions that still hold a deposit, with the time each can first be refunded
    (ms): {"total": n, "contributions": [...]}. Whether the model agrees is only known at refund time."""
    pallet = training(rt)
    found, total = [], 0
    for cid in _ids_from(rt, pallet.by_contributor.prefix_of(who), 0):
        record = pallet.contributions[cid]
        if record.status is not Status.OPEN or record.claimable == 0:
            continue
        entry = contribution_json(cid, record)
        entry["refundableAt"] = record.time + pallet.terms_of(record).refund_wait_s * MS
        found.append(entry)
        total += record.claimable
    return {"total": total, "contributions": found}


def deposit_for(rt: Runtime, model: int, at_ms: int | None) -> dict[str, Any]:
    """The deposit one contribution to `model` would hold at block time `at_ms` (default: the head's)."""
    pallet = training(rt)
    now = rt.head.timestamp if at_ms is None else at_ms
    try:
        config = pallet.config(model)
        deposit = pallet.deposit_at(model, now)
    except DispatchError as exc:
        raise QueryError(exc.error_name().split(".")[-1], str(exc)) from exc
    last = pallet.last_update.get(model)
    return {
        "model": model,
        "at": now,
        "deposit": deposit,
        "mechanism": config.mechanism.value,
        "costWeight": config.cost_weight,
        "enabled": config.enabled,
        "lastUpdate": last,
        "secondsSinceLastUpdate": None if last is None else max(0, now - last) // MS,
    }


def _known_model(pallet: Training, model: int) -> None:
    try:
        pallet.registry.model(model)
    except DispatchError as exc:
        raise QueryError("UnknownModel", f"no model {model}") from exc


def _ids_from(rt: Runtime, prefix: bytes, start: int) -> Any:
    """Contribution ids stored under `prefix` (an index's first key), from id `start`, in id order."""
    begin = prefix + msgpack.packb(start) if start else None
    for raw_key, _ in rt.overlay.iterate(prefix, begin):
        yield msgpack.unpackb(raw_key[len(prefix):])
