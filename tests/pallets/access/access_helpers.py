"""Shared helpers of the Access tests: register a model, set its policy, grant roles, fund accounts and
read the pallet. Imported as `from access_helpers import ...`."""

from __future__ import annotations

import time
from typing import Any

from cmu import models
from cmu.client import confidential
from cmu.formats import artifact as art
from cmu.formats.signed_query import named_params, sign_query
from cmu.node.model_api import ModelApi
from cmu.node.rpc import RpcError
from pallets.access import Access
from pallets.access.types import Role, Training, Visibility
from pallets.model_registry import ModelRegistry
from pallets.model_registry.types import InputSpec
from runtime.crypto import dev_keypair
from runtime.testing import CallResult, MockRuntime, assert_ok

ROW = [0.5, -1.0, 2.0, 0.0]
_LAST_MS = [0]

PUBLIC, PERMISSIONED = Visibility.PUBLIC, Visibility.PERMISSIONED
OPEN, TRAINERS = Training.OPEN, Training.TRAINERS
ADMIN, MAINTAINER, TRAINER, READER = Role.ADMIN, Role.MAINTAINER, Role.TRAINER, Role.READER
SPEC = InputSpec(4, False, -8 * models.SCALE, 8 * models.SCALE)
ED = 1_000_000  # Balances.EXISTENTIAL_DEPOSIT
PRICE = 10 * ED


def register_model(rt: MockRuntime, who: str = "alice") -> int:
    """Register a dense perceptron owned by `who`; returns its id."""
    result = rt.call(
        who,
        "ModelRegistry.register",
        name="iris",
        description="a test model",
        task="classification",
        kind="dense_perceptron",
        input_spec=SPEC,
        labels=("cat", "dog", "eel"),
        license="MIT",
        artifact=None,
    )
    assert_ok(result)
    event = result.events[-1]
    assert isinstance(event, ModelRegistry.ModelRegistered)
    return int(event.model)


def permissioned_model(rt: MockRuntime, who: str = "alice", training: Training = OPEN) -> int:
    """A model of `who` made Permissioned (which needs a confidential version: one under a fresh key)."""
    model = register_model(rt, who)
    set_policy(rt, who, model, PERMISSIONED, training)
    return model


def set_policy(rt: MockRuntime, who: str, model: int, visibility: Visibility, training: Training) -> None:
    """Access.set_policy, asserted to succeed; Permissioned first gets a confidential version (published by
    `who`, under a fresh key) when the model has none, as the chain requires."""
    if visibility is PERMISSIONED and model not in access(rt).confidential:
        assert_ok(publish(rt, who, model, upload_sealed(rt, who, confidential.new_data_key())))
    assert_ok(rt.call(who, "Access.set_policy", model=model, visibility=visibility, training=training))


def grant(
    rt: MockRuntime, by: str, model: int, who: str, role: Role, expires_at: int | None = None
) -> CallResult:
    """Access.grant of `role` on `model` to the dev account `who`."""
    return rt.call(by, "Access.grant", model=model, who=rt.account(who), role=role, expires_at=expires_at)


def grant_ok(
    rt: MockRuntime, by: str, model: int, who: str, role: Role, expires_at: int | None = None
) -> None:
    """Access.grant, asserted to succeed."""
    assert_ok(grant(rt, by, model, who, role, expires_at))


def access(rt: MockRuntime) -> Access:
    """The runtime's Access pallet."""
    pallet: Access = rt.pallet(Access)
    return pallet


def can(rt: MockRuntime, who: str | None, model: int, action: str) -> bool | None:
    """Access.can for a dev name (None: anonymous)."""
    return access(rt).can(None if who is None else rt.account(who), model, action)


def fund(rt: MockRuntime, name: str, amount: int) -> None:
    """Give an account exactly `amount` free balance."""
    assert_ok(rt.call("root", "Balances.force_set_balance", who=rt.account(name), new_free=amount))


def sell_passes(
    rt: MockRuntime, model: int, *, price: int = PRICE, duration: int = 10, permill: int = 0
) -> None:
    """The owner (alice) sets pass terms."""
    args: dict[str, Any] = {"price": price, "duration_blocks": duration, "contributor_share_permill": permill}
    assert_ok(rt.call("alice", "Access.set_pass_terms", model=model, **args))


def held_revenue(rt: MockRuntime) -> int:
    """What the pallet account holds as unclaimed revenue."""
    return rt.balances.held_balance(Access.PALLET_ACCOUNT, "access/revenue")


def upload(rt: MockRuntime, who: str, data: bytes) -> bytes:
    """Upload bytes as an artifact (begin, every chunk, finish); returns the root."""
    root = art.artifact_root(data)
    begun = rt.call(who, "ModelRegistry.begin_upload", root=root, size=len(data))
    assert_ok(begun)
    upload_id = int(begun.events[-1].upload)
    for index, piece in enumerate(art.split_chunks(data)):
        assert_ok(rt.call(who, "ModelRegistry.upload_chunk", upload=upload_id, index=index, data=piece))
    assert_ok(rt.call(who, "ModelRegistry.finish_upload", upload=upload_id))
    return root


def upload_sealed(rt: MockRuntime, who: str, key: bytes, plaintext: bytes = b"secret weights") -> bytes:
    """Encrypt `plaintext` under `key` (a confidential artifact) and upload it as `who`; the root."""
    return upload(rt, who, confidential.seal_artifact(plaintext, key))


def publish(rt: MockRuntime, who: str, model: int, root: bytes) -> CallResult:
    """Access.publish_confidential."""
    return rt.call(who, "Access.publish_confidential", model=model, artifact=root)


def post_key(rt: MockRuntime, by: str, model: int, who: str, key: bytes) -> CallResult:
    """Access.post_key of `key` sealed to the dev account `who`."""
    sealed = confidential.wrap_key(key, rt.account(who))
    return rt.call(by, "Access.post_key", model=model, who=rt.account(who), sealed=sealed)


def confidential_model(rt: MockRuntime, key: bytes, holders: tuple[str, ...] = ()) -> int:
    """A permissioned model of alice published confidential under `key`, with Readers `holders` who got
    the key (and alice, the publisher)."""
    model = permissioned_model(rt)
    assert_ok(publish(rt, "alice", model, upload_sealed(rt, "alice", key)))
    for who in ("alice", *holders):
        if who != "alice":
            grant_ok(rt, "alice", model, who, Role.READER)
        assert_ok(post_key(rt, "alice", model, who, key))
    return model


def model_api(rt: MockRuntime) -> ModelApi:
    """The node's model_* RPC methods, in-process, over the mock runtime's state (head reads only)."""
    return ModelApi(rt.runtime.spec, rt.runtime, None, None)  # type: ignore[arg-type]


def predict_auth(rt: MockRuntime, who: str, model: int, row: list[float] = ROW) -> dict[str, Any]:
    """The `auth` of a model_predict of `row` signed by `who` now."""
    params = named_params("model_predict", (model, row, None, False, None))
    now = _LAST_MS[0] = max(int(time.time() * 1000), _LAST_MS[0] + 1)  # distinct even within one ms
    return sign_query(dev_keypair(who), "model_predict", params, model, rt.runtime.genesis_hash, now)


def rpc_predict(api: ModelApi, rt: MockRuntime, who: str | None, model: int) -> dict[str, Any] | str:
    """model_predict of one row as `who` (a signed query; None: unsigned): the answer, or the error name."""
    auth = None if who is None else predict_auth(rt, who, model)
    try:
        return api.model_predict(model, ROW, None, False, None, auth)
    except RpcError as exc:
        return str(exc.data["error"])


__all__ = [
    "ADMIN",
    "ED",
    "MAINTAINER",
    "OPEN",
    "PERMISSIONED",
    "PRICE",
    "PUBLIC",
    "READER",
    "ROW",
    "TRAINER",
    "TRAINERS",
    "access",
    "can",
    "confidential_model",
    "fund",
    "grant",
    "grant_ok",
    "held_revenue",
    "model_api",
    "permissioned_model",
    "post_key",
    "predict_auth",
    "publish",
    "register_model",
    "rpc_predict",
    "sell_passes",
    "set_policy",
    "upload",
    "upload_sealed",
]
