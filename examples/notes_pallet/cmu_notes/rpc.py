"""The Notes pallet's RPC view (node side): the `notes_get` read, served by any node whose chain has
Notes. Found through the `cmu.rpc` entry point in pyproject.toml; the pallet module never imports this.

    notes_get(who, at=None) -> {"who": 0x-address, "note": 0x-hex | null, "count": notes on chain}
"""

from __future__ import annotations

from typing import Any

from cmu.node.extensions import RpcContext, answer, method, parse_account
from cmu_notes import Notes
from runtime.crypto import address


class NotesRpc:
    """The notes_* methods over the node's read runtimes."""

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    @method("notes_get")
    def notes_get(self, who: Any, at: Any = None) -> dict[str, Any]:
        """An account's note (null when it has none) and how many notes the chain holds."""
        account = parse_account(who)

        def run() -> dict[str, Any]:
            notes = self.ctx.runtime_at(at).pallet(Notes)
            note = notes.notes.get(account)
            return {
                "who": address(account),
                "note": None if note is None else "0x" + note.hex(),
                "count": notes.count.get(),
            }

        return answer(run)
