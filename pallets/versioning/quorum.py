"""Quorum promotion helpers: the message Maintainers sign with BLS to move `stable`, the weights charged
for pairing checks, pending approvals and aggregate signers' keys.

Weights are charged as for py-ecc, the slower BLS backend, since the runtime cannot know which backend a
validator runs. The scale is 1 weight ~ 1 ns (a block's 2_000_000_000 limit ~ 2 s of work); one pairing
check costs about 0.5 s with py-ecc, and each signer's key adds a G1 decompression and addition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pallets.model_registry.types import ModelInfo
from pallets.versioning.types import STABLE
from runtime import bls
from runtime.pallet import fail
from runtime.types import AccountId

if TYPE_CHECKING:
    from pallets.versioning.pallet import Versioning

PROMOTE_DOMAIN = b"cmu-versioning/promote"
PAIRING_CHECK_WEIGHT = 500_000_000
"""One BLS pairing check (pop_verify, fast_aggregate_verify) with py-ecc: about 0.5 s."""
PER_SIGNER_WEIGHT = 5_000_000
"""Decoding and adding one signer's public key with py-ecc: about 5 ms."""


def promotion_message(model: int, version: int, artifact: bytes) -> bytes:
    """The bytes Maintainers sign to approve moving `stable` to (model, version, artifact root)."""
    return PROMOTE_DOMAIN + model.to_bytes(4, "big") + version.to_bytes(4, "big") + artifact


def aggregate_weight(signers: Sequence[bytes]) -> int:
    """The weight of promote_with_aggregate for this many signers."""
    return 100_000 + PAIRING_CHECK_WEIGHT + PER_SIGNER_WEIGHT * len(signers)


def aggregate_valid(keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """The aggregate signature of `keys` (each registered with a proof of possession) over `message`."""
    return bls.fast_aggregate_verify(list(keys), message, signature)


def approvers(pallet: Versioning, model: int, version: int, info: ModelInfo) -> list[AccountId]:
    """The accounts whose approvals of moving stable to `version` are pending and who are Maintainers
    still: an approval stops counting when its approver loses the role (revoked, renounced, expired)."""
    pending = [who for (number, who), _ in pallet.approvals.iter_prefix(model) if number == version]
    return [who for who in pending if pallet.may_maintain(who, model, info)]


def move_stable(pallet: Versioning, model: int, version: int) -> None:
    """Point stable at `version` and drop every pending approval of the model."""
    pallet.channels[model, STABLE] = version
    pallet.approvals.clear_prefix(model)


def signer_key(pallet: Versioning, who: AccountId, model: int, info: ModelInfo) -> bytes:
    """An aggregate signer's registered BLS key (NotMaintainer or NoBlsKey otherwise)."""
    pallet.ensure_maintainer(who, model, info, "publish_version")
    key = pallet.bls_keys.get(who)
    if key is None:
        fail(pallet.NoBlsKey, f"{who} has no BLS key")
    return key
