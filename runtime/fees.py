"""Transaction fees, behind one seam (FRAME's OnChargeTransaction): compute here, charge through hooks.

The way of a fee: fee_for (base + per_byte * length + per_weight * weight + tip) when an extrinsic is
checked; withdraw_fee before its call runs (the pallet that holds balances implements the
`withdraw_fee` hook: it answers the payer's record with the fee taken, or refuses with CannotPayFees,
keep-alive rules included, and writes nothing); the core stores that record with the nonce bump in one
write; after the call, settle() works out the refund of unused weight and the author's share, and
correct_and_deposit_fee pays both through the `correct_and_deposit_fee` hook. Pool validation and block
execution both ask the same withdraw_fee, so they cannot disagree on who can pay.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from runtime.errors import CannotPayFees
from runtime.frame_system import AccountInfo
from runtime.genesis import FeeConfig
from runtime.types import AccountId


@dataclasses.dataclass(frozen=True, slots=True)
class Settlement:
    """A charged fee after the call: what goes back to the payer and what the author gets."""

    refund: int
    fee: int
    author_share: int


def fee_for(config: FeeConfig, length: int, weight: int, tip: int) -> int:
    """base + per_byte * length + per_weight * weight + tip."""
    return config.base + config.per_byte * length + config.per_weight * weight + tip


def settle(config: FeeConfig, charged: int, declared_weight: int, actual_weight: int) -> Settlement:
    """Refund the unused weight's part of `charged`; the rest is the fee, all of it the author's."""
    refund = (declared_weight - actual_weight) * config.per_weight
    fee = charged - refund
    return Settlement(refund=refund, fee=fee, author_share=fee)


def withdraw_fee(hooks: Any, who: AccountId, account: AccountInfo, fee: int) -> AccountInfo:
    """`who`'s record with `fee` taken, as the charging pallet rules (CannotPayFees when it cannot be
    paid). Nothing is written: the caller stores the record (with the nonce bump, in one write)."""
    charged: AccountInfo | None = hooks.withdraw_fee(who=who, account=account, fee=fee)
    if charged is None:
        raise CannotPayFees("no pallet of this chain charges transaction fees")
    return charged


def correct_and_deposit_fee(hooks: Any, who: AccountId, author: AccountId, settlement: Settlement) -> None:
    """Pay the refund back to `who` and the author's share to `author` through the charging pallet."""
    hooks.correct_and_deposit_fee(
        who=who, refund=settlement.refund, author=author, author_share=settlement.author_share
    )
