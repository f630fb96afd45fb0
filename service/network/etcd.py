"""A small asyncio client of etcd v3's JSON gateway (HTTP POST to /v3/kv/*, /v3/watch, /v3/lease/*).

Keys and values travel base64-encoded; a request that cannot reach one member is retried on the next
(the cluster's other members answer while one is down). Watches resume from the last seen revision.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

log = logging.getLogger("cmu.etcd")
#: Seconds one HTTP request may take before the next member is tried.
REQUEST_TIMEOUT_S = 5.0
#: Pause between rounds over all members when none answered.
RETRY_PAUSE_S = 0.2


class EtcdError(Exception):
    """No member answered in time, or one answered with an error."""


class Compacted(Exception):
    """A watch asked for revisions etcd has compacted away: the watcher must read the keys afresh."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with `prefix`."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


@dataclasses.dataclass(frozen=True, slots=True)
class KeyValue:
    """One key as etcd reports it."""

    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyValue:
        """Parse the gateway's kv object."""
        return cls(
            _unb64(data.get("key")),
            _unb64(data.get("value")),
            int(data.get("create_revision", 0)),
            int(data.get("mod_revision", 0)),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WatchEvent:
    """A put (`deleted` False) or a delete of one key, at `kv.mod_revision`."""

    kv: KeyValue
    deleted: bool


class EtcdClient:
    """Talks to any member of one etcd cluster."""

    def __init__(self, endpoints: Sequence[str], *, timeout: float = REQUEST_TIMEOUT_S) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoint given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout = timeout
        self._current = 0
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def call(self, path: str, body: dict[str, Any], *, rounds: int = 3) -> dict[str, Any]:
        """POST `body` to `path`, trying each member in turn for `rounds` rounds (EtcdError otherwise)."""
        errors: list[str] = []
        for attempt in range(rounds * len(self.endpoints)):
            endpoint = self.endpoints[self._current]
            try:
                async with self._http().post(
                    endpoint + path, json=body, timeout=aiohttp.ClientTimeout(total=self.timeout)
                ) as response:
                    answer: dict[str, Any] = await response.json(content_type=None)
                if response.status != 200:
                    raise EtcdError(f"{endpoint}{path}: HTTP {response.status}: {answer.get('message')}")
                return answer
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                errors.append(f"{endpoint}: {type(exc).__name__}: {exc}")
                self._current = (self._current + 1) % len(self.endpoints)
                if (attempt + 1) % len(self.endpoints) == 0:
                    await asyncio.sleep(RETRY_PAUSE_S)
        raise EtcdError(f"no etcd member answered {path}: " + "; ".join(errors[-len(self.endpoints) :]))

    # --- key-value ---------------------------------------------------------------------------------

    async def put(self, key: bytes, value: bytes, *, lease: int = 0) -> int:
        """Write a key; the new revision."""
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        answer = await self.call("/v3/kv/put", body)
        return int(answer["header"]["revision"])

    async def get(self, key: bytes) -> KeyValue | None:
        """One key, or None."""
        found, _revision = await self.range(key)
        return found[0] if found else None

    async def range(
        self, key: bytes, end: bytes | None = None, *, revision: int = 0, limit: int = 0
    ) -> tuple[list[KeyValue], int]:
        """Keys in [key, end) (just `key` when `end` is None) at `revision` (0: now); (kvs, revision)."""
        body: dict[str, Any] = {"key": _b64(key)}
        if end is not None:
            body["range_end"] = _b64(end)
        if revision:
            body["revision"] = str(revision)
        if limit:
            body["limit"] = str(limit)
        answer = await self.call("/v3/kv/range", body)
        kvs = [KeyValue.from_json(kv) for kv in answer.get("kvs", [])]
        return kvs, int(answer["header"]["revision"])

    async def prefix(self, prefix: bytes, *, revision: int = 0) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, in key order; (kvs, revision)."""
        return await self.range(prefix, prefix_end(prefix), revision=revision)

    async def create(self, key: bytes, value: bytes, *, lease: int = 0) -> tuple[bool, KeyValue | None]:
        """Put `key` only if it does not exist (a compare-and-swap on create_revision == 0).

        (True, the new key) when this call created it; (False, what is there) otherwise. Retrying after
        a timeout is safe: the retry finds the first attempt's value and the caller compares it with its own.
        """
        put: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        body = {
            "compare": [{"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": put}],
            "failure": [{"request_range": {"key": _b64(key)}}],
        }
        answer = await self.call("/v3/kv/txn", body)
        if answer.get("succeeded"):
            revision = int(answer["header"]["revision"])
            return True, KeyValue(key, value, revision, revision)
        kvs = answer["responses"][0]["response_range"].get("kvs", [])
        return False, KeyValue.from_json(kvs[0]) if kvs else None

    async def delete_if_revision(self, key: bytes, mod_revision: int) -> bool:
        """Delete `key` only while it is still at `mod_revision`; whether this call deleted it."""
        body = {
            "compare": [
                {"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}
            ],
            "success": [{"request_delete_range": {"key": _b64(key)}}],
        }
        answer = await self.call("/v3/kv/txn", body)
        return bool(answer.get("succeeded"))

    async def grant_lease(self, ttl_s: int) -> int:
        """A new lease of `ttl_s` seconds; its id."""
        answer = await self.call("/v3/lease/grant", {"TTL": str(ttl_s)})
        return int(answer["ID"])

    async def health(self, endpoint: str) -> bool:
        """Whether one member reports itself healthy."""
        try:
            async with self._http().get(
                endpoint.rstrip("/") + "/health", timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as response:
                data = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return False
        return bool(data.get("health") == "true")

    # --- watch -------------------------------------------------------------------------------------

    async def watch(self, prefix: bytes, start_revision: int) -> AsyncIterator[WatchEvent]:
        """Every change under `prefix` from `start_revision` on, for ever; reconnects to another member
        (from the revision after the last one seen) whenever a stream breaks. Compacted ends the watch
        when etcd no longer has the revisions it needs."""
        next_revision = start_revision
        while True:
            endpoint = self.endpoints[self._current]
            try:
                async for event in self._stream(endpoint, prefix, next_revision):
                    next_revision = event.kv.mod_revision + 1
                    yield event
                log.warning("etcd watch on %s ended; reconnecting", endpoint)
            except (TimeoutError, aiohttp.ClientError, ValueError, EtcdError) as exc:
                log.warning("etcd watch on %s broke (%s); trying the next member", endpoint, exc)
            self._current = (self._current + 1) % len(self.endpoints)
            await asyncio.sleep(RETRY_PAUSE_S)

    async def _stream(self, endpoint: str, prefix: bytes, start: int) -> AsyncIterator[WatchEvent]:
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start),
                "progress_notify": True,
            }
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=None)
        async with self._http().post(endpoint + "/v3/watch", json=body, timeout=timeout) as response:
            if response.status != 200:
                raise EtcdError(f"{endpoint}/v3/watch: HTTP {response.status}")
            buffer = bytearray()  # one JSON message per line; a line can be megabytes (big blocks)
            async for chunk in response.content.iter_any():
                buffer += chunk
                while (end := buffer.find(b"\n")) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    for event in _watch_events(line):
                        yield event


def _watch_events(line: bytes) -> list[WatchEvent]:
    """The events of one watch response line (EtcdError for an error or a canceled watch)."""
    if not line.strip():
        return []
    message = json.loads(line)
    if "error" in message:
        raise EtcdError(f"watch: {message['error']}")
    result = message.get("result", {})
    if result.get("canceled"):
        if int(result.get("compact_revision", 0)):
            raise Compacted(f"revisions up to {result['compact_revision']} were compacted")
        raise EtcdError(f"watch canceled: {result.get('cancel_reason', '')}")
    return [
        WatchEvent(KeyValue.from_json(raw["kv"]), raw.get("type") == "DELETE")
        for raw in result.get("events", [])
    ]
