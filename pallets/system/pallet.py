"""The System pallet: the runtime's own bookkeeping, read by every other pallet through its methods.

It implements runtime.frame_system.FrameSystem (the framework's accounts, nonces and block bookkeeping),
through which the core reaches it; AccountInfo is the framework's record type, re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from runtime.crypto import parse_address
from runtime.errors import DispatchError, InvalidBlock
from runtime.frame_system import EMPTY_ACCOUNT, AccountInfo, is_empty
from runtime.pallet import NONE, Event, Origin, Pallet, call, ensure, hookimpl
from runtime.storage.items import StorageMap, StorageValue
from runtime.types import H256, U32, U64, AccountId, Balance, BlockNumber, Moment, bounded_bytes

MAX_REMARK = 64 * 1024




class System(Pallet):
    """Accounts, block bookkeeping, events and authorities."""

    name, index = "System", 0
    BLOCK_HASH_COUNT = 2400  # recent block hashes kept for mortal eras
    MAX_EVENTS = 100_000

    account: StorageMap[AccountId, AccountInfo] = StorageMap(
        AccountId, AccountInfo, default=EMPTY_ACCOUNT, doc="Nonce and balances of accounts."
    )
    number: StorageValue[int] = StorageValue(BlockNumber, default=0, doc="The number of the current block.")
    parent_hash: StorageValue[bytes] = StorageValue(
        H256, default=bytes(32), doc="The hash of the parent block."
    )
    timestamp: StorageValue[int] = StorageValue(
        Moment, default=0, doc="The current block's timestamp in milliseconds."
    )
    block_hash: StorageMap[int, bytes] = StorageMap(
        BlockNumber, H256, doc="Hashes of the last BLOCK_HASH_COUNT blocks."
    )
    events: StorageValue[bytes] = StorageValue(
        bytes, default=b"", doc="The encoded event records of the current block."
    )
    event_count: StorageValue[int] = StorageValue(
        U32, default=0, doc="How many events the current block emitted."
    )
    authorities: StorageValue[list[AccountId]] = StorageValue(
        list[AccountId], default=[], doc="Accounts allowed to author blocks."
    )
    author: StorageValue[AccountId] = StorageValue(AccountId, doc="The author of the current block.")
    block_weight: StorageValue[int] = StorageValue(
        U64, default=0, doc="Weight consumed so far in the current block."
    )
    chain_spec: StorageValue[bytes] = StorageValue(
        H256, doc="Hash of the chain spec, so every consensus parameter is part of the genesis hash."
    )

    @dataclasses.dataclass(frozen=True)
    class ExtrinsicSuccess(Event):
        """An extrinsic ran to completion."""

        weight: U64
        fee: Balance

    @dataclasses.dataclass(frozen=True)
    class ExtrinsicFailed(Event):
        """An extrinsic's call failed: its writes were rolled back, its fee and nonce kept."""

        error: str
        message: str
        weight: U64
        fee: Balance

    @dataclasses.dataclass(frozen=True)
    class Remarked(Event):
        """An account made an on-chain remark (only its hash is kept in the event)."""

        sender: AccountId
        hash: H256

    class TimestampNotIncreasing(DispatchError):
        """A block's timestamp must be later than its parent's."""

    @call(index=0, weight=lambda remark: 10_000 + len(remark))
    def remark(self, origin: Origin, remark: bounded_bytes(MAX_REMARK)) -> None:  # type: ignore[valid-type]
        """Record a note in the block; only its blake2b-256 hash appears in the event."""
        from runtime.crypto import blake2_256

        who = origin.ensure_signed()
        self.deposit_event(self.Remarked(sender=who, hash=blake2_256(remark)))

    @call(index=1, weight=5_000, origin=NONE)
    def set_timestamp(self, origin: Origin, now: Moment) -> None:
        """The block author's timestamp inherent (milliseconds); must increase block on block."""
        origin.ensure_none()
        ensure(now > self.timestamp.get() or self.number.get() == 0, self.TimestampNotIncreasing)
        self.timestamp.set(now)

    # --- genesis and block bookkeeping -----------------------------------------------------------

    @hookimpl
    def build_genesis(self, genesis: Mapping[str, Any]) -> None:
        config = genesis.get(self.name, {})
        self.authorities.set([parse_address(a) for a in config.get("authorities", [])])
        self.timestamp.set(int(config.get("timestamp", 0)))

    def initialize_block(self, number: int, parent_hash: bytes, author: AccountId) -> None:
        """Start block `number`: bookkeeping the executive does before any hook or extrinsic."""
        self.number.set(number)
        self.parent_hash.set(parent_hash)
        self.block_hash[number - 1] = parent_hash
        if number - 1 >= self.BLOCK_HASH_COUNT:
            del self.block_hash[number - 1 - self.BLOCK_HASH_COUNT]
        self.events.kill()
        self.event_count.kill()
        self.block_weight.kill()
        self.author.set(author)

    def finalize_block(self, encoded_events: bytes, count: int) -> None:
        """Store the block's events; the executive calls this after every pallet's on_finalize."""
        self.events.set(encoded_events)
        self.event_count.set(count)

    def check_author(self, author: AccountId) -> None:
        """InvalidBlock unless `author` is one of the authorities (any author when none are set)."""
        authorities = self.authorities.get()
        if authorities and author not in authorities:
            raise InvalidBlock(f"author 0x{bytes(author).hex()} is not an authority")

    # --- the typed API other pallets use ---------------------------------------------------------

    def account_info(self, who: AccountId) -> AccountInfo:
        """The account's record (all zero when it does not exist)."""
        info: AccountInfo = self.account[who]
        return info

    def set_account_info(self, who: AccountId, info: AccountInfo) -> None:
        """Store an account's record; an all-zero record removes the account."""
        if is_empty(info):
            del self.account[who]
        else:
            self.account[who] = info

    def next_nonce(self, who: AccountId) -> int:
        """The nonce the account's next extrinsic must carry."""
        info: AccountInfo = self.account[who]
        return info.nonce
