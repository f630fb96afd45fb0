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
from collections.abc import Callable
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


class FeeHooks:
    """The two fee hooks, resolved once when the runtime is assembled, called in pluggy's firstresult
    order (the first implementation that answers, in declared pallet order) without pluggy's per-call
    machinery: they run twice per extrinsic. Hook wrappers (tracing only) do not see them."""

    def __init__(self, hooks: Any) -> None:
        self.withdraw = _resolved(hooks.withdraw_fee)
        self.deposit = _resolved(hooks.correct_and_deposit_fee)


Impl = tuple[Callable[..., Any], tuple[str, ...]]


def _resolved(caller: Any) -> list[Impl]:
    impls = [i for i in caller.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    return [(i.function, tuple(i.argnames)) for i in reversed(impls)]


def _first_result(impls: list[Impl], kwargs: dict[str, Any]) -> Any:
    for function, argnames in impls:
        result = function(*[kwargs[name] for name in argnames])
        if result is not None:
            return result
    return None


def withdraw_fee(hooks: FeeHooks, who: AccountId, account: AccountInfo, fee: int) -> AccountInfo:
    """`who`'s record with `fee` taken, as the charging pallet rules (CannotPayFees when it cannot be
    paid). Nothing is written: the caller stores the record (with the nonce bump, in one write)."""
    charged: AccountInfo | None = _first_result(hooks.withdraw, {"who": who, "account": account, "fee": fee})
    if charged is None:
        raise CannotPayFees("no pallet of this chain charges transaction fees")
    return charged


def correct_and_deposit_fee(
    hooks: FeeHooks, who: AccountId, author: AccountId, settlement: Settlement
) -> None:
    """Pay the refund back to `who` and the author's share to `author` through the charging pallet."""
    kwargs = {"who": who, "refund": settlement.refund, "author": author}
    _first_result(hooks.deposit, {**kwargs, "author_share": settlement.author_share})
