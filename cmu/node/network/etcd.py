"""A small asyncio client of etcd v3's JSON gateway (HTTP POST to /v3/kv/*, /v3/watch, /v3/lease/*).

Keys and values travel base64-encoded. The client talks to one member at a time and watches that
member's health: every PROBE_INTERVAL_S a linearizable read (it needs the member to be alive, to see a
leader and to reach a quorum) must answer within PROBE_TIMEOUT_S. When it does not (a frozen, dead or
partitioned member, which may keep its TCP connections open and silent for ever), the client logs a
WARNING naming the member, switches to the next one, abandons whatever was in flight on the old one
(requests are retried, watches resume from the revision after the last one seen) and goes on probing
the new one. A request that fails outright also moves to the next member. Every answer is read with a
size bound and decoded into a typed EtcdError when it is not what the gateway sends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

import aiohttp

log = logging.getLogger("cmu.etcd")
T = TypeVar("T")
#: Seconds one HTTP request may take before the next member is tried (a large block takes a while).
REQUEST_TIMEOUT_S = 5.0
#: Pause between rounds over all members when none answered.
RETRY_PAUSE_S = 0.2
#: Seconds between health probes of the member in use.
PROBE_INTERVAL_S = 0.25
#: Seconds a probe may take before the member counts as stalled and the client switches away from it.
PROBE_TIMEOUT_S = 1.0
#: Longest answer (and watch line) read from etcd: the largest block (8 MiB) as base64 JSON, with room.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: Deepest JSON accepted from etcd (its answers nest about 5 deep).
MAX_JSON_DEPTH = 32
_QUOTE = ord('"')
_OPEN = b"[{"
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')
#: The key the probes read (it need not exist: the read still needs the leader and a quorum).
PROBE_KEY = b"/cmu-health-probe"


class EtcdError(Exception):
    """No member answered in time, or one answered with an error."""


class EtcdRefused(EtcdError):
    """A member understood the request and answered with an error (another member would too)."""


class MemberStalled(EtcdError):
    """The member a request or watch was using was found stalled and left; retry on the current one."""


class Compacted(Exception):
    """A watch asked for revisions etcd has compacted away: the watcher must read the keys afresh."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes:
    if not text:
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise EtcdError(f"etcd sent a value that is not base64: {exc}") from exc


def _check_depth(raw: bytes) -> None:
    """EtcdError when JSON nests deeper than MAX_JSON_DEPTH (the C decoder can crash on deep input).
    Only quotes and brackets are scanned (escaped quotes and backslashes removed first, at C speed)."""
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    depth = 0
    in_string = False
    for char in structure:
        if char == _QUOTE:
            in_string = not in_string
        elif in_string:
            continue
        elif char in _OPEN:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise EtcdError(f"etcd answered JSON nested deeper than {MAX_JSON_DEPTH}")
        else:
            depth -= 1


def decode_answer(raw: bytes) -> dict[str, Any]:
    """One JSON object from etcd, bounded in size and depth (EtcdError for anything else)."""
    if len(raw) > MAX_ANSWER_BYTES:
        raise EtcdError(f"etcd answered {len(raw)} bytes, more than {MAX_ANSWER_BYTES}")
    _check_depth(raw)
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise EtcdError(f"etcd answered with malformed JSON: {exc}") from exc
    if not isinstance(answer, dict):
        raise EtcdError(f"etcd answered with a JSON {type(answer).__name__}, not an object")
    return answer


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
    def from_json(cls, data: Any) -> KeyValue:
        """Parse the gateway's kv object (EtcdError if it is not one)."""
        if not isinstance(data, dict):
            raise EtcdError(f"etcd sent a key-value that is a {type(data).__name__}")
        try:
            return cls(
                _unb64(data.get("key")),
                _unb64(data.get("value")),
                int(data.get("create_revision", 0)),
                int(data.get("mod_revision", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise EtcdError(f"etcd sent a malformed key-value: {exc}") from exc


@dataclasses.dataclass(frozen=True, slots=True)
class WatchEvent:
    """A put (`deleted` False) or a delete of one key, at `kv.mod_revision`."""

    kv: KeyValue
    deleted: bool


class EtcdClient:
    """Talks to one member of an etcd cluster at a time, switching when it stalls or fails."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout: float = REQUEST_TIMEOUT_S,
        probe_interval: float = PROBE_INTERVAL_S,
        probe_timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoint given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout = timeout
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self._current = 0
        self._session: aiohttp.ClientSession | None = None
        self._left: asyncio.Event | None = None  # set when the client leaves the current member
        self._streams: set[aiohttp.ClientResponse] = set()  # open watch responses on the current member
        self._monitor: asyncio.Task[None] | None = None
        self.switches = 0

    @property
    def current(self) -> str:
        """The member in use."""
        return self.endpoints[self._current]

    async def close(self) -> None:
        """Stop probing and close the HTTP session."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._monitor
            self._monitor = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if self._monitor is None and len(self.endpoints) > 1:
            self._monitor = asyncio.get_running_loop().create_task(self._probe_forever(), name="etcd-probe")
        return self._session

    def _left_event(self) -> asyncio.Event:
        if self._left is None:
            self._left = asyncio.Event()
        return self._left

    def switch_from(self, index: int, reason: str) -> None:
        """Leave member `index` for the next one (if still on it): abandon its requests and watches."""
        if index != self._current:
            return
        self._current = (index + 1) % len(self.endpoints)
        self.switches += 1
        log.warning("etcd member %s %s; switching to %s", self.endpoints[index], reason, self.current)
        left, self._left = self._left_event(), asyncio.Event()
        left.set()
        streams, self._streams = self._streams, set()
        for response in streams:
            response.close()

    async def _on_current(self, index: int, work: Awaitable[T]) -> T:
        """Await `work` on member `index`, abandoned (MemberStalled) if the client leaves that member."""
        task = asyncio.ensure_future(work)
        if index != self._current:
            abandon(task)
            raise MemberStalled(f"{self.endpoints[index]} was left")
        left = asyncio.ensure_future(self._left_event().wait())
        try:
            await asyncio.wait({task, left}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            abandon(task)  # the caller gave up: so does the request
            raise
        finally:
            left.cancel()
        if task.done():
            return task.result()
        abandon(task)
        raise MemberStalled(f"{self.endpoints[index]} stalled and was left")

    async def _probe_forever(self) -> None:
        """Switch away from the member in use as soon as it stops answering linearizable reads in time."""
        body = {"key": _b64(PROBE_KEY), "limit": "1"}
        while True:
            await asyncio.sleep(self.probe_interval)
            index = self._current
            started = time.monotonic()
            try:
                await asyncio.wait_for(
                    self._post(self.endpoints[index], "/v3/kv/range", body), self.probe_timeout
                )
            except (TimeoutError, aiohttp.ClientError, EtcdError) as exc:
                waited = time.monotonic() - started
                why = (
                    "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__}: {exc})"
                )
                self.switch_from(index, f"stalled: a linearizable read {why} after {waited:.1f} s")

    async def _post(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with self._http().post(endpoint + path, json=body, timeout=timeout) as response:
            answer = decode_answer(await _read_bounded(response))
        if response.status >= 500:  # "leader changed", "no leader", "request timed out": try again
            raise EtcdError(f"{endpoint}{path}: HTTP {response.status}: {answer.get('message')}")
        if response.status != 200:
            raise EtcdRefused(f"{endpoint}{path}: HTTP {response.status}: {answer.get('message')}")
        return answer

    async def call(self, path: str, body: dict[str, Any], *, rounds: int = 3) -> dict[str, Any]:
        """POST `body` to `path` on the member in use, moving to the next one when it fails or stalls,
        for `rounds` rounds over all members (EtcdError otherwise)."""
        errors: list[str] = []
        self._http()
        for attempt in range(rounds * len(self.endpoints)):
            index = self._current
            try:
                return await self._on_current(index, self._post(self.endpoints[index], path, body))
            except MemberStalled as exc:
                errors.append(str(exc))
                continue  # the probe already moved on: retry at once on the new member
            except EtcdRefused:
                raise
            except (TimeoutError, aiohttp.ClientError, EtcdError) as exc:
                errors.append(f"{self.endpoints[index]}: {type(exc).__name__}: {exc}")
                self.switch_from(index, f"failed a request ({type(exc).__name__}: {exc})")
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
        """Every change under `prefix` from `start_revision` on, for ever, from the member in use; after
        a switch (or when a stream breaks) it resumes on the next member from the revision after the last
        one seen. Compacted ends the watch when etcd no longer has the revisions it needs."""
        next_revision = start_revision
        self._http()
        while True:
            index = self._current
            try:
                async for event in self._stream(index, prefix, next_revision):
                    next_revision = event.kv.mod_revision + 1
                    yield event
                problem = "ended a watch stream"
            except MemberStalled:
                continue  # the probe switched members: resume at once on the new one
            except (TimeoutError, aiohttp.ClientError, EtcdError) as exc:
                problem = f"broke a watch stream ({type(exc).__name__}: {exc})"
            if index != self._current:
                continue  # closed by a switch
            self.switch_from(index, problem)
            log.info("etcd watch of %r resumes on %s from revision %d", prefix, self.current, next_revision)
            await asyncio.sleep(RETRY_PAUSE_S)

    async def _stream(self, index: int, prefix: bytes, start: int) -> AsyncIterator[WatchEvent]:
        endpoint = self.endpoints[index]
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _b64(prefix_end(prefix)),
                "start_revision": str(start),
                "progress_notify": True,
            }
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=None)
        opening = self._http().post(endpoint + "/v3/watch", json=body, timeout=timeout)
        response = await self._on_current(index, opening)  # a stalled member never sends the headers
        try:
            if index != self._current:
                raise MemberStalled(f"{endpoint} was left")
            self._streams.add(response)  # closed by switch_from: the probe is this stream's read deadline
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
                if len(buffer) > MAX_ANSWER_BYTES:
                    raise EtcdError(
                        f"a watch message from {endpoint} is longer than {MAX_ANSWER_BYTES} bytes"
                    )
        finally:
            self._streams.discard(response)
            response.close()


def abandon(task: asyncio.Future[Any]) -> None:
    """Cancel a task nobody awaits any more, without waiting for it (waiting could swallow the caller's
    own cancellation) and without an "exception was never retrieved" report if it failed meanwhile."""
    task.cancel()
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, EtcdError past MAX_ANSWER_BYTES."""
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise EtcdError(f"etcd answered more than {MAX_ANSWER_BYTES} bytes")
    return bytes(body)


def _watch_events(line: bytes) -> list[WatchEvent]:
    """The events of one watch response line (EtcdError for an error, a canceled watch or bad JSON)."""
    if not line.strip():
        return []
    message = decode_answer(line)
    if "error" in message:
        raise EtcdError(f"watch: {message['error']}")
    result = message.get("result", {})
    if not isinstance(result, dict):
        raise EtcdError("watch: the result is not an object")
    if result.get("canceled"):
        if int(result.get("compact_revision", 0)):
            raise Compacted(f"revisions up to {result['compact_revision']} were compacted")
        raise EtcdError(f"watch canceled: {result.get('cancel_reason', '')}")
    events = result.get("events", [])
    if not isinstance(events, list) or not all(isinstance(raw, dict) for raw in events):
        raise EtcdError("watch: the events are not a list of objects")
    return [WatchEvent(KeyValue.from_json(raw.get("kv")), raw.get("type") == "DELETE") for raw in events]
