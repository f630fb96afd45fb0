"""Signed queries, node side: checks the `auth` parameter of model_predict and model_download (format in
cmu/formats/signed_query.py) against this node's clock, the chain's genesis hash and a replay cache.

Not consensus code: the clock is the node's wall clock. A query is accepted when its timestamp is within
`window_s` seconds of the node's clock (either side), its ed25519 signature by `signer` verifies over the
canonical message, and the same signature was not accepted before. Accepted signatures are remembered
until their timestamp leaves the window (then a replay would be refused as expired anyway); the cache
holds at most `capacity` of them and refuses new signed queries while full (QueryCacheFull), so a replay
can never slip through an eviction.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from cmu.formats import signed_query
from cmu.node.rpc_views.model_registry import QueryError
from runtime.types import AccountId

DEFAULT_WINDOW_S = 60
DEFAULT_CAPACITY = 100_000


class QueryAuth:
    """Verifies signed queries for one chain; thread-safe."""

    def __init__(
        self,
        genesis_hash: bytes,
        *,
        window_s: int = DEFAULT_WINDOW_S,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window_s <= 0 or capacity <= 0:
            raise ValueError("the query window and the replay cache capacity must be positive")
        self.genesis_hash = genesis_hash
        self.window_ms = window_s * 1000
        self.capacity = capacity
        self._clock = clock
        self._seen: set[bytes] = set()
        self._expiry: list[tuple[int, bytes]] = []  # (forget after, signature), a min-heap
        self._lock = threading.Lock()

    def verify(
        self, method: str, params: Mapping[str, Any], model: int | None, auth: Any
    ) -> AccountId | None:
        """The account that signed the query, None when it is unsigned (`auth` null); QueryError with
        BadQuerySignature, QueryExpired, QueryReplayed or QueryCacheFull otherwise."""
        if auth is None:
            return None
        signer, timestamp, signature = _parse(auth)
        now = int(self._clock() * 1000)
        if abs(now - timestamp) > self.window_ms:
            raise QueryError(
                "QueryExpired",
                f"the query's timestamp is {(timestamp - now) / 1000:+.1f} s from the node's clock; "
                f"it must be within {self.window_ms // 1000} s",
            )
        try:
            message = signed_query.query_message(method, params, model, timestamp, self.genesis_hash)
            nacl.signing.VerifyKey(signer).verify(message, signature)
        except (signed_query.UnsignableParams, nacl.exceptions.BadSignatureError, ValueError) as exc:
            raise QueryError(
                "BadQuerySignature",
                "the signature does not verify for this signer, method, parameters, model and chain",
            ) from exc
        self._remember(signature, timestamp + self.window_ms, now)
        return AccountId(signer)

    def _remember(self, signature: bytes, forget_after: int, now: int) -> None:
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                self._seen.discard(heapq.heappop(self._expiry)[1])
            if signature in self._seen:
                raise QueryError("QueryReplayed", "this signed query was used already: sign a new one")
            if len(self._seen) >= self.capacity:
                raise QueryError("QueryCacheFull", "too many signed queries in the window: retry shortly")
            self._seen.add(signature)
            heapq.heappush(self._expiry, (forget_after, signature))

    def __len__(self) -> int:
        """Signatures remembered now (expired ones leave at the next accepted query)."""
        with self._lock:
            return len(self._seen)


def _parse(auth: Any) -> tuple[bytes, int, bytes]:
    """(signer, timestamp ms, signature) of an `auth` object, or BadQuerySignature naming the problem."""
    if not isinstance(auth, dict):
        raise _bad("auth must be an object {signer, timestamp, signature}")
    timestamp = auth.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp < 2**63:
        raise _bad("auth.timestamp must be milliseconds since 1970 (an integer)")
    return _hex(auth.get("signer"), 32, "signer"), timestamp, _hex(auth.get("signature"), 64, "signature")


def _hex(value: Any, size: int, what: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = b""
        if len(raw) == size:
            return raw
    raise _bad(f"auth.{what} must be 0x-hex of {size} bytes")


def _bad(message: str) -> QueryError:
    return QueryError("BadQuerySignature", message)
