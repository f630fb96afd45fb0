"""Transaction validation for the pool, in its own thread with its own read-only Runtime instance.

The validation runtime shares the LevelDB with the authoring one but never writes: it reads committed
state only, so checking a submission never races the block being built. Submissions are queued and
validated in chunks; each chunk's outcomes go back to the caller in one `deliver` call.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from cmu.node.pool import AlreadyImported, PoolError, TransactionPool
from runtime.block import Header
from runtime.crypto import blake2_256
from runtime.errors import InvalidExtrinsic
from runtime.executive import Runtime
from runtime.types import AccountId

log = logging.getLogger("cmu.txpool")
CHUNK = 256


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """A submission now in the pool."""

    hash: bytes
    status: str  # "ready" or "future"


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """A submission refused by the runtime (InvalidExtrinsic), the pool (PoolError) or a node bug."""

    hash: bytes
    error: Exception


Outcome = Accepted | Refused
Deliver = Callable[[list[tuple[Any, Outcome]]], None]


class Validator:
    """Validates queued submissions against the committed head and inserts them into the pool."""

    def __init__(self, runtime: Runtime, pool: TransactionPool, deliver: Deliver | None = None) -> None:
        self.runtime = runtime
        self.pool = pool
        self.deliver: Deliver = deliver or _nowhere
        self._queue: collections.deque[tuple[bytes, Any]] = collections.deque()
        self._cond = threading.Condition()
        self._new_head: Header | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="validator", daemon=True)

    def start(self) -> None:
        """Start the validation thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the chunk in progress; queued submissions are not answered."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def enqueue(self, data: bytes, token: Any) -> None:
        """Queue one submission; its outcome is delivered with `token`."""
        with self._cond:
            self._queue.append((data, token))
            self._cond.notify()

    def follow(self, header: Header) -> None:
        """Validate against `header` (the new best block) from the next chunk on."""
        with self._cond:
            self._new_head = header

    def account_nonce(self, who: AccountId) -> int:
        """The committed nonce of an account (a plain read; safe from any thread)."""
        nonce: int = self.runtime.system.account_info(who).nonce
        return nonce

    # --- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            chunk = self._next_chunk()
            if chunk is None:
                return
            outcomes = [(token, self.validate(data)) for data, token in chunk]
            try:
                self.deliver(outcomes)
            except RuntimeError:  # the event loop is closed: the node is stopping
                return

    def _next_chunk(self) -> list[tuple[bytes, Any]] | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            chunk = [self._queue.popleft() for _ in range(min(CHUNK, len(self._queue)))]
            head, self._new_head = self._new_head, None
        if head is not None:
            self.runtime.view(head)
        return chunk

    def validate(self, data: bytes) -> Outcome:
        """Check one submission and pool it."""
        tx_hash = blake2_256(data)
        if tx_hash in self.pool:
            return Refused(tx_hash, AlreadyImported(f"0x{tx_hash.hex()} is already in the pool"))
        epoch = self.pool.epoch
        try:
            checked = self.runtime.validate_transaction(data)
            status = self.pool.insert(tx_hash, checked, epoch=epoch, nonce_now=self.account_nonce)
        except (InvalidExtrinsic, PoolError) as exc:
            return Refused(tx_hash, exc)
        except Exception as exc:  # a bug must not stop validation: answer it and keep going
            log.exception("validating 0x%s failed unexpectedly", tx_hash.hex())
            return Refused(tx_hash, exc)
        return Accepted(tx_hash, status)


def _nowhere(outcomes: list[tuple[Any, Outcome]]) -> None:
    """The default `deliver`: outcomes are only in the pool."""
