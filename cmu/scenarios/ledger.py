"""What a client indexing the chain's Training events knows: every contribution with its data (the data is
in the DataAdded event, as the pallet keeps only its hash), who refunded or took what, and the totals.

Agents read it to decide what to refund, report or claim; the metrics read its counters. It is built only
from events of authored blocks, never from storage writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from runtime.pallet import Event
from runtime.types import AccountId

OPEN, REFUNDED, TAKEN = "open", "refunded", "taken"


@dataclasses.dataclass
class Contribution:
    """One contribution as its events tell it."""

    id: int
    model: int
    contributor: AccountId
    features: list[int]
    label: int
    deposit: int
    added_s: int
    remaining: int
    status: str = OPEN
    reporters: set[AccountId] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class Ledger:
    """Contributions by id and running totals: deposits held, contributions accepted, refunded, and taken
    (contributions with at least one take: a reporter's share may leave the rest open)."""

    contributions: dict[int, Contribution] = dataclasses.field(default_factory=dict)
    good: dict[AccountId, int] = dataclasses.field(default_factory=dict)
    accepted: int = 0
    refunded: int = 0
    taken: int = 0
    taken_amount: int = 0
    refunded_amount: int = 0

    @property
    def deposits_held(self) -> int:
        """The deposits of open contributions that are still held."""
        return sum(c.remaining for c in self.contributions.values() if c.status == OPEN)

    def open_contributions(self) -> Iterable[Contribution]:
        """Open contributions in id order."""
        return (c for _, c in sorted(self.contributions.items()) if c.status == OPEN)

    def observe(self, events: Iterable[Event], now_s: int) -> None:
        """Update from one block's events (in order)."""
        for event in events:
            if type(event).pallet != "Training":
                continue
            handler = _HANDLERS.get(type(event).__name__)
            if handler is not None:
                handler(self, event, now_s)

    def _added(self, event: Any, now_s: int) -> None:
        contribution = Contribution(
            id=int(event.contribution), model=int(event.model), contributor=event.contributor,
            features=[int(v) for v in event.features], label=int(event.label), deposit=int(event.deposit),
            added_s=now_s, remaining=int(event.deposit),
        )
        self.contributions[contribution.id] = contribution
        self.accepted += 1

    def _refunded(self, event: Any, _now_s: int) -> None:
        found = self.contributions.get(int(event.contribution))
        if found is None:
            return
        found.remaining = 0
        found.status = REFUNDED
        self.refunded += 1
        self.refunded_amount += int(event.amount)
        self.good[found.contributor] = self.good.get(found.contributor, 0) + 1

    def _taken(self, event: Any, _now_s: int) -> None:
        found = self.contributions.get(int(event.contribution))
        if found is None:
            return
        amount = int(event.amount)
        if not found.reporters:  # counted once, at its first take
            self.taken += 1
        found.remaining = int(event.remaining)
        found.reporters.add(event.taker)
        self.taken_amount += amount
        if found.remaining == 0:
            found.status = TAKEN


_HANDLERS = {
    "DataAdded": Ledger._added,
    "Refunded": Ledger._refunded,
    "Taken": Ledger._taken,
}
