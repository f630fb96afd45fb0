"""The framework's accounts and block bookkeeping, as FRAME's frame_system: the account record type, nonce
handling, and the interface the core reaches the chain's System pallet through (by name, without
importing it).

The System pallet declares the storage (so its keys and encodings are the System pallet's, as they
always were) and implements FrameSystem; the core calls only what is listed here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from runtime.types import U32, AccountId, Balance

if TYPE_CHECKING:
    from runtime.pallet import CallSpec, Event
    from runtime.storage.items import BoundMap, BoundValue

SYSTEM_PALLET = "System"


@dataclasses.dataclass(frozen=True, slots=True)
class AccountInfo:
    """One account's record: its next nonce and its balances (free, and held for stakes and deposits).

    The balances live here, as in FRAME's AccountInfo.data, so that a transfer touches one record per side.
    """

    nonce: U32
    free: Balance
    held: Balance

    @property
    def total(self) -> int:
        """free + held."""
        return self.free + self.held


EMPTY_ACCOUNT = AccountInfo(0, 0, 0)


def is_empty(info: AccountInfo) -> bool:
    """An all-zero record: the account does not exist (its storage entry is removed)."""
    return info.nonce == 0 and info.free == 0 and info.held == 0


class FrameSystem(Protocol):
    """What the core needs of the chain's System pallet (found by the name SYSTEM_PALLET)."""

    MAX_EVENTS: ClassVar[int]
    call_specs: ClassVar[dict[str, CallSpec]]
    ExtrinsicSuccess: Callable[..., Event]
    ExtrinsicFailed: Callable[..., Event]

    @property
    def account(self) -> BoundMap[AccountId, AccountInfo]:
        """Account records by account id."""

    @property
    def block_hash(self) -> BoundMap[int, bytes]:
        """Recent block hashes by number."""

    @property
    def block_weight(self) -> BoundValue[int]:
        """Weight used so far in the current block."""

    @property
    def timestamp(self) -> BoundValue[int]:
        """The current block's timestamp (ms)."""

    @property
    def chain_spec(self) -> BoundValue[bytes]:
        """The chain spec's hash."""

    @property
    def events(self) -> BoundValue[bytes]:
        """The current block's encoded event records."""

    @property
    def authorities(self) -> BoundValue[list[AccountId]]:
        """Accounts allowed to author blocks."""

    def initialize_block(self, number: int, parent_hash: bytes, author: AccountId) -> None:
        """Block bookkeeping before any hook or extrinsic."""

    def finalize_block(self, encoded_events: bytes, count: int) -> None:
        """Store the block's events after every on_finalize."""

    def check_author(self, author: AccountId) -> None:
        """InvalidBlock unless `author` may author blocks."""

    def account_info(self, who: AccountId) -> AccountInfo:
        """The account's record (EMPTY_ACCOUNT when absent)."""

    def set_account_info(self, who: AccountId, info: AccountInfo) -> None:
        """Store a record; an empty one removes the account."""

    def next_nonce(self, who: AccountId) -> int:
        """The nonce the account's next extrinsic must carry."""


def with_next_nonce(info: AccountInfo) -> AccountInfo:
    """The record after one more extrinsic of its account (FRAME's CheckNonce, at apply time)."""
    return dataclasses.replace(info, nonce=info.nonce + 1)


def as_frame_system(pallet: Any) -> FrameSystem:
    """The System pallet seen through the framework's interface."""
    system: FrameSystem = pallet
    return system
