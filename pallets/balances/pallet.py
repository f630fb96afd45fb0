"""The Balances pallet. Invariant: total_issuance == sum over accounts of (free + held), and each
account's held == the sum of its holds. Amounts are u64 in the token's smallest unit; overflow is an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from runtime.crypto import parse_address
from runtime.errors import CannotPayFees, DispatchError, Overflow
from runtime.frame_system import AccountInfo, FrameSystem
from runtime.pallet import ROOT, Event, Origin, Pallet, call, ensure, fail, hookimpl
from runtime.storage.items import StorageDoubleMap, StorageValue
from runtime.types import U64_MAX, AccountId, Balance, bounded_str

HoldReason = bounded_str(32)


class Balances(Pallet):
    """The native token: free and held balances of every account."""

    name, index = "Balances", 1
    EXISTENTIAL_DEPOSIT = 1_000_000  # an account with less than this in total is removed (its dust burned)

    total_issuance: StorageValue[int] = StorageValue(
        Balance, default=0, doc="All tokens in existence (free + held)."
    )
    holds: StorageDoubleMap[AccountId, str, int] = StorageDoubleMap(
        AccountId, HoldReason, Balance, doc="Held amounts by account and reason."
    )

    @dataclasses.dataclass(frozen=True)
    class Endowed(Event):
        """An account was created with a balance."""

        who: AccountId
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class Transfer(Event):
        """Free balance moved from one account to another."""

        sender: AccountId
        dest: AccountId
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class BalanceSet(Event):
        """Root set an account's free balance."""

        who: AccountId
        free: Balance

    @dataclasses.dataclass(frozen=True)
    class DustLost(Event):
        """An account fell below the existential deposit; what it had left was burned."""

        who: AccountId
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class Held(Event):
        """Free balance was put on hold for a reason."""

        who: AccountId
        reason: str
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class Released(Event):
        """Held balance returned to free balance."""

        who: AccountId
        reason: str
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class Slashed(Event):
        """Held balance was burned."""

        who: AccountId
        reason: str
        amount: Balance

    @dataclasses.dataclass(frozen=True)
    class HeldTransferred(Event):
        """Held balance of one account was paid to another account's free balance."""

        sender: AccountId
        dest: AccountId
        reason: str
        amount: Balance

    class InsufficientBalance(DispatchError):
        """The free balance is too low for this amount."""

    class ExistentialDeposit(DispatchError):
        """The transfer would create an account with less than the existential deposit."""

    class KeepAlive(DispatchError):
        """The transfer would take the sender below the existential deposit."""

    class InsufficientHeld(DispatchError):
        """Less is held for this reason than the amount asked for."""

    class ZeroAmount(DispatchError):
        """The amount must be greater than zero."""

    @property
    def system(self) -> FrameSystem:
        """The framework's accounts (the System pallet), which store the account records."""
        return self.runtime.system

    # --- calls -----------------------------------------------------------------------------------

    @call(index=0, weight=40_000)
    def transfer(self, origin: Origin, dest: AccountId, value: Balance) -> None:
        """Move `value` of free balance to `dest`; the sender may drop below the existential deposit."""
        sender = origin.ensure_signed()
        self.do_transfer(sender, dest, value, keep_alive=False)

    @call(index=1, weight=40_000)
    def transfer_keep_alive(self, origin: Origin, dest: AccountId, value: Balance) -> None:
        """Like transfer, but fails rather than take the sender below the existential deposit."""
        sender = origin.ensure_signed()
        self.do_transfer(sender, dest, value, keep_alive=True)

    @call(index=2, weight=30_000, origin=ROOT)
    def force_set_balance(self, origin: Origin, who: AccountId, new_free: Balance) -> None:
        """Root sets an account's free balance, minting or burning the difference."""
        origin.ensure_root()
        info = self.system.account_info(who)
        if info.held == 0 and new_free < self.EXISTENTIAL_DEPOSIT:
            new_free = 0  # below the existential deposit the account is removed, as FRAME does
        issuance = self.total_issuance.get() - info.free + new_free
        ensure(issuance <= U64_MAX, Overflow)
        self.total_issuance.set(issuance)
        self._store(who, dataclasses.replace(info, free=new_free))
        self.deposit_event(self.BalanceSet(who=who, free=new_free))

    # --- the typed API other pallets and the executive use ----------------------------------------

    def free_balance(self, who: AccountId) -> int:
        """The account's free balance."""
        return self.system.account_info(who).free

    def held_balance(self, who: AccountId, reason: str | None = None) -> int:
        """What is held from the account, in total or for one reason."""
        if reason is None:
            return self.system.account_info(who).held
        return self.holds.get(who, reason, 0) or 0

    def do_transfer(self, sender: AccountId, dest: AccountId, value: int, *, keep_alive: bool) -> None:
        """Move free balance, verifying everything before the first write."""
        ensure(value > 0, self.ZeroAmount)
        source = self.system.account_info(sender)
        ensure(source.free >= value, self.InsufficientBalance)
        if sender == dest:
            self.deposit_event(self.Transfer(sender=sender, dest=dest, amount=value))
            return
        target = self.system.account_info(dest)
        ensure(target.total + value >= self.EXISTENTIAL_DEPOSIT, self.ExistentialDeposit)
        ensure(target.free + value <= U64_MAX, Overflow)
        remaining = source.total - value
        ensure(not keep_alive or remaining >= self.EXISTENTIAL_DEPOSIT, self.KeepAlive)
        self._store(sender, dataclasses.replace(source, free=source.free - value))
        self._store(dest, dataclasses.replace(target, free=target.free + value))
        self.deposit_event(self.Transfer(sender=sender, dest=dest, amount=value))

    def withdraw(self, who: AccountId, amount: int) -> bool:
        """Take `amount` from free balance (fees); False, with nothing changed, if it is not there."""
        info = self.system.account_info(who)
        if info.free < amount:
            return False
        self._store(who, dataclasses.replace(info, free=info.free - amount))
        return True

    def deposit(self, who: AccountId, amount: int) -> None:
        """Add `amount` to free balance, moved from elsewhere (fees): issuance is unchanged."""
        if amount == 0:
            return
        info = self.system.account_info(who)
        if info.free + amount > U64_MAX:
            raise Overflow(f"free balance of {who} would exceed u64")
        self.system.set_account_info(who, dataclasses.replace(info, free=info.free + amount))

    # --- transaction fees (runtime/fees.py computes them; this pallet charges them) -----------------

    @hookimpl
    def withdraw_fee(self, who: bytes, account: AccountInfo, fee: int) -> AccountInfo:
        """The payer's record with a transaction fee taken from its free balance (the core writes it).
        Keep-alive, as FRAME's fee payment: a fee may not leave the account below the existential
        deposit."""
        if account.free < fee:
            raise CannotPayFees(f"fee {fee} exceeds the free balance {account.free}")
        if account.total - fee < self.EXISTENTIAL_DEPOSIT:
            raise CannotPayFees(f"fee {fee} would leave the account below the existential deposit")
        return dataclasses.replace(account, free=account.free - fee)

    @hookimpl
    def correct_and_deposit_fee(self, who: bytes, refund: int, author: bytes, author_share: int) -> bool:
        """Give back the unused weight's refund, then pay the block author its share."""
        if refund:
            self.deposit(AccountId(who), refund)
        self.deposit(AccountId(author), author_share)
        return True

    def burn(self, amount: int) -> None:
        """Reduce total issuance by tokens already taken from an account."""
        self.total_issuance.set(self.total_issuance.get() - amount)

    def hold(self, who: AccountId, reason: str, amount: int) -> None:
        """Move `amount` from free to held under `reason` (InsufficientBalance otherwise)."""
        ensure(amount > 0, self.ZeroAmount)
        info = self.system.account_info(who)
        ensure(info.free >= amount, self.InsufficientBalance)
        current = self.holds.get(who, reason, 0) or 0
        self.holds[who, reason] = current + amount
        self.system.set_account_info(
            who, dataclasses.replace(info, free=info.free - amount, held=info.held + amount)
        )
        self.deposit_event(self.Held(who=who, reason=reason, amount=amount))

    def release(self, who: AccountId, reason: str, amount: int) -> None:
        """Return `amount` held under `reason` to free balance."""
        current = self._held_at_least(who, reason, amount)
        info = self.system.account_info(who)
        self._set_hold(who, reason, current - amount)
        # Through _store, like slash_held and transfer_held: the last release may leave dust to burn.
        self._store(who, dataclasses.replace(info, free=info.free + amount, held=info.held - amount))
        self.deposit_event(self.Released(who=who, reason=reason, amount=amount))

    def slash_held(self, who: AccountId, reason: str, amount: int) -> None:
        """Burn `amount` held under `reason` (total issuance goes down by the same)."""
        current = self._held_at_least(who, reason, amount)
        info = self.system.account_info(who)
        self._set_hold(who, reason, current - amount)
        self._store(who, dataclasses.replace(info, held=info.held - amount))
        self.burn(amount)
        self.deposit_event(self.Slashed(who=who, reason=reason, amount=amount))

    def transfer_held(self, who: AccountId, reason: str, dest: AccountId, amount: int) -> None:
        """Pay `amount` held from `who` under `reason` into `dest`'s free balance."""
        current = self._held_at_least(who, reason, amount)
        info = self.system.account_info(who)
        target = info if dest == who else self.system.account_info(dest)
        ensure(target.free + amount <= U64_MAX, Overflow)
        ensure(dest == who or target.total + amount >= self.EXISTENTIAL_DEPOSIT, self.ExistentialDeposit)
        self._set_hold(who, reason, current - amount)
        if dest == who:
            self._store(who, dataclasses.replace(info, free=info.free + amount, held=info.held - amount))
        else:
            self._store(who, dataclasses.replace(info, held=info.held - amount))
            self._store(dest, dataclasses.replace(target, free=target.free + amount))
        self.deposit_event(self.HeldTransferred(sender=who, dest=dest, reason=reason, amount=amount))

    # --- internals -------------------------------------------------------------------------------

    def _held_at_least(self, who: AccountId, reason: str, amount: int) -> int:
        ensure(amount > 0, self.ZeroAmount)
        current = self.holds.get(who, reason, 0) or 0
        if current < amount:
            fail(self.InsufficientHeld, f"{amount} asked, {current} held for {reason!r}")
        return current

    def _set_hold(self, who: AccountId, reason: str, amount: int) -> None:
        if amount:
            self.holds[who, reason] = amount
        else:
            del self.holds[who, reason]

    def _store(self, who: AccountId, info: AccountInfo) -> None:
        """Store a record, burning the dust of an account left below the existential deposit."""
        if 0 < info.total < self.EXISTENTIAL_DEPOSIT and info.held == 0:
            self.burn(info.free)
            self.deposit_event(self.DustLost(who=who, amount=info.free))
            info = dataclasses.replace(info, free=0)
        self.system.set_account_info(who, info)

    # --- genesis ---------------------------------------------------------------------------------

    @hookimpl
    def build_genesis(self, genesis: Mapping[str, Any]) -> None:
        total = 0
        for who_text, amount in genesis.get(self.name, {}).get("balances", []):
            who, value = parse_address(who_text), int(amount)
            if value < self.EXISTENTIAL_DEPOSIT:
                raise ValueError(f"genesis balance of {who_text} is below the existential deposit")
            info = self.system.account_info(who)
            self.system.set_account_info(who, dataclasses.replace(info, free=info.free + value))
            total += value
        if total > U64_MAX:
            raise ValueError("genesis balances exceed u64")
        self.total_issuance.set(total)
