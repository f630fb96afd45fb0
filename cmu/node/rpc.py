"""JSON-RPC 2.0 framing, independent of the transport: parse, validate, dispatch, batch, map errors.

Methods are registered with `@method("name")` on an API object; parameters come by position (a JSON
array) or by name (an object) and are bound to the Python signature (a mismatch is -32602). Errors:
-32700 parse error, -32600 invalid request (also an empty or too large batch), -32601 unknown method (or
an unsafe one this server does not serve), -32602 bad params, -32603 internal error, 1010 invalid
transaction (data = {"code", "error", "message"}), 1012-1016 pool refusals, -32000 other server errors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from cmu.node.metrics import Metrics
from cmu.node.pool import PoolError
from runtime.boundedjson import DEFAULT_MAX_DEPTH, JsonLimitError, check_json_limits
from runtime.errors import CodecError, InvalidExtrinsic

try:  # orjson parses a 1,000-float request about 9x faster than json; the stdlib stays the fallback
    import orjson

    _FAST_LOADS: Callable[[bytes | str], Any] | None = orjson.loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _FAST_LOADS = None

log = logging.getLogger("cmu.rpc")
# Every digit becomes "1" (the rest stays), so 19 ones in a row can only be a run of 19 digits; a C-speed
# scan (about 7 µs for a 1,000-float request, where a regular expression took 85 µs).
_DIGITS_AS_ONES_BYTES = bytes.maketrans(b"0123456789", b"1" * 10)
_DIGITS_AS_ONES_TEXT = str.maketrans("0123456789", "1" * 10)
_LONG_RUN = 19

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
INVALID_TRANSACTION = 1010

F = TypeVar("F", bound=Callable[..., Any])


class RpcError(Exception):
    """An error answered to the client as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The error object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def bad_params(message: str) -> RpcError:
    """A -32602 error."""
    return RpcError(INVALID_PARAMS, f"Invalid params: {message}")


def unsafe_refused(name: str) -> RpcError:
    """The error answered for an unsafe method this server does not serve."""
    message = (
        f"Method not found: {name} is unsafe and not served on this address "
        "(the node listens beyond loopback; start it with --rpc-methods unsafe to allow)"
    )
    return RpcError(METHOD_NOT_FOUND, message, {"error": "UnsafeMethodRefused", "method": name})


def error_of(exc: BaseException) -> RpcError:
    """The JSON-RPC error for an exception raised by a method."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, InvalidExtrinsic):
        data = {"code": exc.code, "error": type(exc).__name__, "message": str(exc)}
        return RpcError(INVALID_TRANSACTION, f"Invalid transaction: {type(exc).__name__}: {exc}", data)
    if isinstance(exc, PoolError):
        return RpcError(exc.rpc_code, f"{exc.name}: {exc}", {"error": exc.name, "message": str(exc)})
    if isinstance(exc, CodecError):  # a parameter that does not encode as its type (an id beyond u64, ...)
        return bad_params(f"{type(exc).__name__}: {exc}")
    log.error("internal error in an RPC method", exc_info=exc)
    return RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}")


class Connection(Protocol):
    """The transport side of one client, as methods see it (`ctx` parameter)."""

    @property
    def supports_subscriptions(self) -> bool:
        """Whether notifications can be pushed (WebSocket) or not (HTTP)."""

    def notify(self, message: dict[str, Any]) -> None:
        """Queue a notification to the client."""

    def after_response(self, action: Callable[[], None]) -> None:
        """Run `action` once the response to the current request has been queued."""


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A registered method."""

    name: str
    function: Callable[..., Any]
    unsafe: bool
    takes_connection: bool
    signature: inspect.Signature


#: Namespaces whose methods are unsafe unless declared otherwise: they change the node's state outside the
#: chain (engine_createBlock seals a block now; dev_* reshape a development node), so a node listening
#: beyond loopback serves them only with --rpc-methods unsafe.
UNSAFE_NAMESPACES = frozenset({"engine", "dev", "admin", "offchain"})


def unsafe_by_default(name: str) -> bool:
    """Whether a method is unsafe when its `@method` does not say: by its namespace (before the `_`)."""
    return name.partition("_")[0] in UNSAFE_NAMESPACES


def method(name: str, *, unsafe: bool | None = None, connection: bool = False) -> Callable[[F], F]:
    """Mark an API method as the JSON-RPC method `name` (`connection`: it receives the Connection first).

    `unsafe`: served only where --rpc-methods allows (see docs/rpc.md); by default decided by the
    method's namespace (`unsafe_by_default`), so a new engine_/dev_ method is unsafe unless it says not.
    """
    declared = unsafe_by_default(name) if unsafe is None else unsafe

    def mark(function: F) -> F:
        function.__rpc__ = (name, declared, connection)  # type: ignore[attr-defined]
        return function

    return mark


def collect_methods(*apis: object) -> dict[str, MethodSpec]:
    """Every `@method` of the API objects, by name."""
    found: dict[str, MethodSpec] = {}
    for api in apis:
        for attr in dir(api):
            bound = getattr(api, attr, None)
            marker = getattr(bound, "__rpc__", None)
            if marker is not None and callable(bound):
                name, unsafe, takes_connection = marker
                found[name] = MethodSpec(name, bound, unsafe, takes_connection, inspect.signature(bound))
    return found


class Dispatcher:
    """Answers JSON-RPC payloads (single requests or batches) with registered methods."""

    def __init__(
        self,
        methods: dict[str, MethodSpec],
        *,
        allow_unsafe: bool,
        metrics: Metrics | None = None,
        max_batch: int = 1000,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.methods = {n: m for n, m in methods.items() if allow_unsafe or not m.unsafe}
        self.hidden = {n for n, m in methods.items() if m.unsafe and not allow_unsafe}
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_depth = max_depth
        # positional arity (fewest, most) of methods whose parameters are all plain positional ones:
        # a list of params in that range binds to them in order, so Signature.bind can be skipped
        self._arity = {n: a for n, m in self.methods.items() if (a := _positional_arity(m)) is not None}

    def method_names(self) -> list[str]:
        """The methods this server serves."""
        return sorted(self.methods)

    async def handle(self, payload: bytes | str, conn: Connection) -> str | None:
        """The JSON response text for a payload, or None when nothing is to be answered."""
        try:
            request = parse_json(payload, self.max_depth)
        except JsonLimitError as exc:
            return _dumps(_error_response(None, RpcError(INVALID_REQUEST, f"Invalid request: {exc}")))
        except (ValueError, UnicodeDecodeError) as exc:
            return _dumps(_error_response(None, RpcError(PARSE_ERROR, f"Parse error: {exc}")))
        if isinstance(request, list):
            answer = await self._batch(request, conn)
        else:
            answer = await self.call(request, conn)
        return None if answer is None else _dumps(answer)

    async def _batch(self, requests: list[Any], conn: Connection) -> Any:
        if not requests:
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request: empty batch"))
        if len(requests) > self.max_batch:
            message = f"Invalid request: batch of {len(requests)} exceeds the limit of {self.max_batch}"
            return _error_response(None, RpcError(INVALID_REQUEST, message))
        answers = await asyncio.gather(*(self.call(r, conn) for r in requests))
        found = [a for a in answers if a is not None]
        return found or None

    async def call(self, request: Any, conn: Connection) -> dict[str, Any] | None:
        """Answer one request object (None for a notification)."""
        try:
            spec, params = self._check(request)
        except RpcError as exc:
            request_id = request.get("id") if isinstance(request, dict) else None
            return _error_response(request_id if _valid_id(request_id) else None, exc)
        is_notification = "id" not in request
        request_id = request.get("id")
        try:
            result = await self._invoke(spec, params, conn)
        except Exception as exc:
            return None if is_notification else _error_response(request_id, error_of(exc))
        return None if is_notification else {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _check(self, request: Any) -> tuple[MethodSpec, Any]:
        if not isinstance(request, dict):
            raise RpcError(INVALID_REQUEST, "Invalid request: not an object")
        if request.get("jsonrpc") != "2.0":
            raise RpcError(INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"')
        if not _valid_id(request.get("id")):
            raise RpcError(INVALID_REQUEST, 'Invalid request: "id" must be a string, a number or null')
        name = request.get("method")
        if not isinstance(name, str):
            raise RpcError(INVALID_REQUEST, 'Invalid request: "method" must be a string')
        params = request.get("params", [])
        if params is None:
            params = []  # as Substrate's servers do: substrate-interface sends null for "no parameters"
        if not isinstance(params, list | dict):
            raise RpcError(INVALID_REQUEST, 'Invalid request: "params" must be an array or an object')
        spec = self.methods.get(name)
        if spec is None:
            if name in self.hidden:
                raise unsafe_refused(name)
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {name}")
        if self.metrics is not None:
            self.metrics.rpc_calls.labels(method=name).inc()
        return spec, params

    async def _invoke(self, spec: MethodSpec, params: Any, conn: Connection) -> Any:
        leading = (conn,) if spec.takes_connection else ()
        arity = self._arity.get(spec.name)
        count = len(leading) + len(params)
        if arity is not None and isinstance(params, list) and arity[0] <= count <= arity[1]:
            result = spec.function(*leading, *params)
            if inspect.isawaitable(result):
                awaited_fast: Awaitable[Any] = result
                result = await awaited_fast
            return result
        try:
            if isinstance(params, list):
                bound = spec.signature.bind(*leading, *params)
            else:
                bound = spec.signature.bind(*leading, **params)
        except TypeError as exc:
            raise bad_params(str(exc)) from exc
        result = spec.function(*bound.args, **bound.kwargs)
        if inspect.isawaitable(result):
            awaited: Awaitable[Any] = result
            result = await awaited
        return result


def _positional_arity(spec: MethodSpec) -> tuple[int, int] | None:
    """(required, total) positional parameters, or None when the signature has any other kind."""
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(spec.signature.parameters.values())
    if any(p.kind not in plain for p in parameters):
        return None
    required = sum(1 for p in parameters if p.default is inspect.Parameter.empty)
    return required, len(parameters)


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def parse_json(payload: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse a request exactly as `json.loads` does, through orjson when it can.

    Nesting deeper than `max_depth` is refused (JsonTooDeep) before either parser sees the payload: the
    stdlib parser recurses on the C stack and a payload nested 10^5 deep would crash the process.

    orjson refuses what the stdlib accepts (NaN and Infinity literals, lone surrogates) and turns
    integers beyond 64 bits into floats; payloads with a 19-digit run (every integer that may not fit in
    an int64) and those orjson refuses are parsed by the stdlib, so the methods see the same values (and
    report NaN or an overflow with their own typed errors) whichever parser ran.
    """
    check_json_limits(payload, max_depth, max_bytes=None)  # the transport bounds the size
    if isinstance(payload, bytes):
        long_int = b"1" * _LONG_RUN in payload.translate(_DIGITS_AS_ONES_BYTES)
    else:
        long_int = "1" * _LONG_RUN in payload.translate(_DIGITS_AS_ONES_TEXT)
    if _FAST_LOADS is not None and not long_int:
        try:
            return _FAST_LOADS(payload)
        except ValueError:
            pass
    return json.loads(payload)


def _dumps(answer: Any) -> str:
    return json.dumps(answer, separators=(",", ":"))
