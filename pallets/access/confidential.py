"""Confidential models, chain side: the logic behind Access.publish_confidential and Access.post_key, and
the key rotation that revokes, renounces, expiries and transfers make due.

The chain never sees a data key: it stores the encrypted artifact (its header names the key by id), one
wrapped (sealed) key per holder, and whether the key must change. A key must change at the next
publication once anyone who could have it (the publisher, or a holder of a wrapped key) lost access to
the model, or once a role on the model was revoked or renounced; until then the old key id is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmu.formats import envelope
from pallets.access.types import RANK, Confidential, Role, WrappedKey
from runtime.pallet import ensure, fail
from runtime.types import AccountId

if TYPE_CHECKING:
    from pallets.access.pallet import Access
    from pallets.model_registry.types import ModelInfo


def do_publish(pallet: Access, who: AccountId, model: int, artifact: bytes) -> None:
    """Make `artifact` (an uploaded confidential envelope) the model's current confidential version."""
    info = pallet.registry.live_model(model)
    ensure(pallet.rank(model, who, info) >= RANK[Role.MAINTAINER], pallet.NotAllowed)
    pallet.registry.ensure_claimed_by(artifact, who)
    key_id = _envelope_key_id(pallet, artifact)
    current = pallet.confidential.get(model)
    if current is not None and current.key_id == key_id:
        ensure(not rotation_due(pallet, model, current, info), pallet.KeyRotationPending)
    pallet.registry.reference_artifact(artifact)
    if current is not None:
        pallet.registry.release_artifact(current.artifact)
    if current is None or current.key_id != key_id:
        pallet.wrapped_keys.clear_prefix(model)
        del pallet.key_holders[model]
    pallet.confidential[model] = Confidential(artifact, key_id, who, False)
    published = pallet.ConfidentialPublished(model=model, artifact=artifact, key_id=key_id, by=who)
    pallet.deposit_event(published)


def do_post_key(pallet: Access, by: AccountId, model: int, who: AccountId, sealed: bytes) -> None:
    """Store the data key of the model's current version, sealed to `who` (who holds a live role)."""
    info = pallet.registry.model(model)
    ensure(pallet.rank(model, by, info) >= RANK[Role.MAINTAINER], pallet.NotAllowed)
    current = pallet.confidential.get(model)
    if current is None:
        fail(pallet.NotConfidential)
    ensure(len(sealed) == envelope.WRAPPED_KEY_SIZE, pallet.BadWrappedKey)
    ensure(pallet.rank(model, who, info) >= RANK[Role.READER], pallet.NoReadRole)
    holders = pallet.key_holders[model]
    new = (model, who) not in pallet.wrapped_keys
    ensure(not new or holders < pallet.MAX_KEY_HOLDERS, pallet.TooManyKeyHolders)
    if new:
        pallet.key_holders[model] = holders + 1
    pallet.wrapped_keys[model, who] = WrappedKey(current.key_id, sealed)
    pallet.deposit_event(pallet.KeyPosted(model=model, who=who, key_id=current.key_id, by=by))


def key_lost(pallet: Access, model: int, who: AccountId) -> bool:
    """`who` lost its role on `model`: drop its wrapped key and make the key's rotation due.

    Returns whether the model is confidential (the caller then emits KeyRotationDue after its event).
    """
    current = pallet.confidential.get(model)
    if current is None:
        return False
    if (model, who) in pallet.wrapped_keys:
        del pallet.wrapped_keys[model, who]
        pallet.key_holders[model] = pallet.key_holders[model] - 1
    pallet.confidential[model] = Confidential(current.artifact, current.key_id, current.publisher, True)
    return True


def rotation_due(pallet: Access, model: int, current: Confidential, info: ModelInfo) -> bool:
    """Whether the next version needs a new key: marked by a revoke or renounce, or someone who could
    hold the key (its publisher, a holder of a wrapped key) has no live role now (expiry, transfer)."""
    if current.rotation_pending or pallet.rank(model, current.publisher, info) < RANK[Role.READER]:
        return True
    return any(
        pallet.rank(model, holder, info) < RANK[Role.READER]
        for holder, _ in pallet.wrapped_keys.iter_prefix(model)
    )


def _envelope_key_id(pallet: Access, artifact: bytes) -> bytes:
    size, head = pallet.registry.artifact_head(artifact)
    try:
        return envelope.parse_key_id(head, size)
    except envelope.BadEnvelope as exc:
        fail(pallet.NotSealed, str(exc))
