"""Transaction fees, behind one seam (FRAME's OnChargeTransaction): compute here, charge through hooks.

The way of a fee: fee_for (base + per_byte * length + per_weight * weight + tip) when an extrinsic is
checked; withdraw_fee before its call runs (the pallet that holds balances implements the
`withdraw_fee` hook and refuses with CannotPayFees, keep-alive rules included); after the call,
settle() works out the refund of unused weight and the author's share, and correct_and_deposit_fee
hands both back through the `correct_and_deposit_fee` hook. Pool validation and block execution both
charge through withdraw_fee (the pool in a storage layer it then rolls back), so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from runtime.errors import CannotPayFees
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


def withdraw_fee(hooks: Any, who: AccountId, fee: int) -> None:
    """Take `fee` from `who` through the charging pallet (CannotPayFees when it cannot be paid)."""
    if hooks.withdraw_fee(who=who, fee=fee) is None:
        raise CannotPayFees("no pallet of this chain charges transaction fees")


def correct_and_deposit_fee(hooks: Any, who: AccountId, author: AccountId, settlement: Settlement) -> None:
    """Pay the refund back to `who` and the author's share to `author` through the charging pallet."""
    hooks.correct_and_deposit_fee(
        who=who, refund=settlement.refund, author=author, author_share=settlement.author_share
    )
