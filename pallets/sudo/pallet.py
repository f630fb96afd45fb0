"""The Sudo pallet: root calls made by the root key, for development and chain administration."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from runtime.crypto import parse_address
from runtime.errors import DispatchError
from runtime.pallet import ROOT_ORIGIN, Call, Event, Origin, Pallet, call, ensure, hookimpl
from runtime.storage.items import StorageValue
from runtime.types import AccountId


def _inner_weight(call: Call) -> int:
    return 10_000 + call.weight()


class Sudo(Pallet):
    """The root key: dispatches calls as root."""

    name, index = "Sudo", 2

    key: StorageValue[AccountId] = StorageValue(AccountId, doc="The account that may make root calls.")

    @dataclasses.dataclass(frozen=True)
    class Sudid(Event):
        """The root key dispatched a call; `error` is empty on success, else the pallet error's name."""

        call: str
        error: str

    @dataclasses.dataclass(frozen=True)
    class KeyChanged(Event):
        """The root key moved to another account."""

        old: AccountId
        new: AccountId

    class RequireSudo(DispatchError):
        """The sender is not the root key."""

    @call(index=0, weight=_inner_weight)
    def sudo(self, origin: Origin, call: Call) -> None:
        """Dispatch `call` with the root origin. Its failure is reported in Sudid, not raised."""
        who = origin.ensure_signed()
        ensure(who == self.key.get(), self.RequireSudo)
        error = self.runtime.dispatch_nested(call, ROOT_ORIGIN)
        self.deposit_event(self.Sudid(call=call.spec.full_name, error=error))

    @call(index=1, weight=10_000)
    def set_key(self, origin: Origin, new: AccountId) -> None:
        """Hand the root key to `new`."""
        who = origin.ensure_signed()
        ensure(who == self.key.get(), self.RequireSudo)
        self.key.set(new)
        self.deposit_event(self.KeyChanged(old=who, new=new))

    @hookimpl
    def build_genesis(self, genesis: Mapping[str, Any]) -> None:
        key = genesis.get(self.name, {}).get("key")
        if key is not None:
            self.key.set(parse_address(key))
