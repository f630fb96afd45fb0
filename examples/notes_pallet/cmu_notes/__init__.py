"""Notes: a third-party pallet, installed as an ordinary package and found through its entry point."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import DispatchError
from runtime.pallet import Event, Origin, Pallet, call, ensure
from runtime.storage.items import StorageMap, StorageValue
from runtime.types import AccountId


class Notes(Pallet):
    """Lets an account pin a short note to itself."""

    name, index = "Notes", 40
    MAX_LEN = 256  # a constant, visible in the metadata

    notes: StorageMap[AccountId, bytes] = StorageMap(AccountId, bytes, doc="Each account's note.")
    count: StorageValue[int] = StorageValue(int, default=0, doc="How many notes exist.")

    @dataclass(frozen=True)
    class NoteSet(Event):
        """An account set its note."""

        who: AccountId
        length: int

    @dataclass(frozen=True)
    class NoteCleared(Event):
        """An account removed its note."""

        who: AccountId

    class TooLong(DispatchError):
        """The note is longer than MAX_LEN."""

    class NoNote(DispatchError):
        """The account has no note to clear."""

    @call(index=0, weight=lambda text: 10_000 + 10 * len(text))
    def set_note(self, origin: Origin, text: bytes) -> None:
        """Pin `text` to the sender, replacing any earlier note."""
        who = origin.ensure_signed()
        ensure(len(text) <= self.MAX_LEN, self.TooLong)  # verify ...
        if who not in self.notes:
            self.count.mutate(lambda n: n + 1)  # ... then mutate
        self.notes[who] = text
        self.deposit_event(self.NoteSet(who=who, length=len(text)))  # event last

    @call(index=1, weight=10_000)
    def clear_note(self, origin: Origin) -> None:
        """Remove the sender's note."""
        who = origin.ensure_signed()
        ensure(who in self.notes, self.NoNote)
        del self.notes[who]
        self.count.mutate(lambda n: n - 1)
        self.deposit_event(self.NoteCleared(who=who))
