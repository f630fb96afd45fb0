"""Tests for service.rpc: JSON-RPC 2.0 framing, batches, parameter binding and error codes (in process)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from cmu.client.convert import to_wire
from cmu.client.errors import ArgumentError
from cmu.node.pool import PoolFull
from cmu.node.provenance import ProvenanceError, load_proof
from cmu.node.rpc import Dispatcher, collect_methods, method, parse_json
from runtime.boundedjson import JsonTooDeep
from runtime.errors import BadSignature
from runtime.types import U64, encode


class Api:
    @method("echo")
    def echo(self, value: Any, extra: Any = None) -> Any:
        return [value, extra]

    @method("slow_double")
    async def slow_double(self, value: Any) -> Any:
        await asyncio.sleep(0)
        return value * 2

    @method("refuse")
    def refuse(self) -> None:
        raise BadSignature("no")

    @method("full")
    def full(self) -> None:
        raise PoolFull("busy")

    @method("crash")
    def crash(self) -> None:
        raise KeyError("bug")

    @method("engine_secret", unsafe=True)
    def secret(self) -> str:
        return "s"


class Conn:
    supports_subscriptions = False

    def notify(self, message: dict[str, Any]) -> None:
        raise AssertionError("no notifications expected")

    def after_response(self, action: Callable[[], None]) -> None:
        action()


def ask(payload: Any, *, unsafe: bool = False, max_batch: int = 1000) -> Any:
    dispatcher = Dispatcher(collect_methods(Api()), allow_unsafe=unsafe, max_batch=max_batch)
    text = payload if isinstance(payload, str) else json.dumps(payload)
    answer = asyncio.run(dispatcher.handle(text, Conn()))
    return None if answer is None else json.loads(answer)


def req(name: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": name}
    if params is not None:
        body["params"] = params
    return body


def test_call_works_with_positional_and_named_params() -> None:
    assert ask(req("echo", [1]))["result"] == [1, None]
    assert ask(req("echo", {"value": 2, "extra": 3}))["result"] == [2, 3]
    assert ask(req("slow_double", [21], "x")) == {"jsonrpc": "2.0", "id": "x", "result": 42}


def test_call_fails_when_params_do_not_bind() -> None:
    assert ask(req("echo", []))["error"]["code"] == -32602
    assert ask(req("echo", [1, 2, 3]))["error"]["code"] == -32602
    assert ask(req("echo", {"nope": 1}))["error"]["code"] == -32602


def test_call_fails_when_request_is_malformed() -> None:
    assert ask("{not json")["error"]["code"] == -32700
    assert ask({"id": 1, "method": "echo"})["error"]["code"] == -32600  # no "jsonrpc"
    assert ask(req("echo", "scalar"))["error"]["code"] == -32600
    assert ask({"jsonrpc": "2.0", "id": [1], "method": "echo"})["error"]["code"] == -32600
    assert ask({"jsonrpc": "2.0", "id": 1, "method": 5})["error"]["code"] == -32600
    assert ask(7)["error"]["code"] == -32600


def test_call_fails_when_method_unknown_or_unsafe() -> None:
    assert ask(req("nope"))["error"]["code"] == -32601
    hidden = ask(req("engine_secret"))["error"]
    assert hidden["code"] == -32601 and "unsafe" in hidden["message"]
    assert ask(req("engine_secret"), unsafe=True)["result"] == "s"


def test_call_maps_errors_to_codes() -> None:
    refused = ask(req("refuse"))["error"]
    assert refused["code"] == 1010
    assert refused["data"] == {"code": "BadProof", "error": "BadSignature", "message": "no"}
    assert ask(req("full"))["error"]["code"] == 1016
    assert ask(req("crash"))["error"] == {"code": -32603, "message": "Internal error: KeyError"}


def test_notifications_get_no_answer() -> None:
    assert ask({"jsonrpc": "2.0", "method": "echo", "params": [1]}) is None
    assert ask([{"jsonrpc": "2.0", "method": "echo", "params": [1]}]) is None


def test_batch_works_and_keeps_ids() -> None:
    answers = ask([req("echo", [1], 1), req("nope", [], 2), req("slow_double", [2], 3)])
    by_id = {a["id"]: a for a in answers}
    assert by_id[1]["result"] == [1, None] and by_id[2]["error"]["code"] == -32601
    assert by_id[3]["result"] == 4


def test_batch_fails_when_empty_too_large_or_of_non_objects() -> None:
    assert ask([])["error"]["code"] == -32600
    assert ask([req("echo", [1])] * 3, max_batch=2)["error"]["code"] == -32600
    assert [a["error"]["code"] for a in ask([1, "x"])] == [-32600, -32600]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1.5, -0.25, 1e-7, 3]}',
        "[NaN, Infinity, -Infinity]",
        "[18446744073709551616, -9223372036854775809]",
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        "1e400",
    ],
)
def test_parse_json_matches_the_stdlib(text: str) -> None:
    expected = json.loads(text)
    for payload in (text, text.encode()):
        got = parse_json(payload)
        assert repr(got) == repr(expected)


def test_parse_json_fails_like_the_stdlib() -> None:
    for bad in ("{", "[1,]", "\x00", b"\xff"):
        with pytest.raises(ValueError):
            parse_json(bad)


@pytest.mark.parametrize("depth", [65, 10**5, 10**6])
def test_deep_json_is_refused_before_parsing_naming_the_limit(depth: int) -> None:
    for body in ("[" * depth + "]" * depth, "[" * depth, '{"a":' * depth):
        with pytest.raises(JsonTooDeep, match="JSON nesting deeper than 64 levels"):
            parse_json(body)
        error = ask(body)["error"]
        assert error["code"] == -32600 and "nesting deeper than 64 levels" in error["message"]
    assert parse_json("[" * 64 + "]" * 64) is not None


def test_the_depth_limit_is_the_dispatchers() -> None:
    dispatcher = Dispatcher(collect_methods(Api()), allow_unsafe=False, max_depth=3)
    deep = json.dumps(req("echo", [[[1]]]))
    answer = json.loads(asyncio.run(dispatcher.handle(deep, Conn())) or "")
    assert "deeper than 3 levels" in answer["error"]["message"]


class Namespaced:
    @method("dev_warp")
    def warp(self) -> str:
        return "warped"

    @method("dev_peek", unsafe=False)
    def peek(self) -> str:
        return "peeked"

    @method("model_touch", unsafe=True)
    def touch(self) -> str:
        return "touched"


def test_methods_in_unsafe_namespaces_are_unsafe_unless_they_say_otherwise() -> None:
    specs = collect_methods(Namespaced())
    assert {n: s.unsafe for n, s in specs.items()} == {
        "dev_warp": True,
        "dev_peek": False,
        "model_touch": True,
    }
    dispatcher = Dispatcher(specs, allow_unsafe=False)
    assert dispatcher.method_names() == ["dev_peek"]
    refused = json.loads(asyncio.run(dispatcher.handle(json.dumps(req("dev_warp")), Conn())) or "")["error"]
    assert refused["code"] == -32601 and refused["data"] == {
        "error": "UnsafeMethodRefused",
        "method": "dev_warp",
    }
    assert "--rpc-methods unsafe" in refused["message"]


def test_a_deep_proof_file_is_refused_unparsed() -> None:
    with pytest.raises(ProvenanceError, match="deeper than 16 levels"):
        load_proof(b"[" * 10**6)
    with pytest.raises(ProvenanceError, match="not JSON"):
        load_proof(b"{")


def test_client_arguments_are_bounded_and_must_be_unicode() -> None:
    schema = {"type": "list", "item": {"type": "list", "item": {"type": "int"}}}
    with pytest.raises(ArgumentError, match="nesting deeper than 64 levels"):
        to_wire(schema, "[" * 10**5 + "]" * 10**5)
    nested_schema: dict[str, Any] = {"type": "int"}
    value: Any = 1
    for _ in range(100):
        nested_schema, value = {"type": "list", "item": nested_schema}, [value]
    with pytest.raises(ArgumentError, match="nested deeper than 64 levels"):
        to_wire(nested_schema, value)
    with pytest.raises(ArgumentError, match="valid Unicode"):
        to_wire({"type": "str"}, "\ud800")
    with pytest.raises(ArgumentError, match="valid Unicode"):
        to_wire({"type": "bytes"}, "a\udfff")


class Keyed:
    @method("lookup")
    def lookup(self, key: int) -> str:
        return encode(U64, key).hex()  # as a method turns an id into a storage key


def test_a_parameter_that_does_not_encode_is_invalid_params_not_internal() -> None:
    dispatcher = Dispatcher(collect_methods(Keyed()), allow_unsafe=False)
    assert (
        json.loads(asyncio.run(dispatcher.handle(json.dumps(req("lookup", [7])), Conn())) or "")["result"]
        == "07"
    )
    answer = asyncio.run(dispatcher.handle(json.dumps(req("lookup", [2**70])), Conn())) or ""
    error = json.loads(answer)["error"]
    assert error["code"] == -32602 and "OutOfRange" in error["message"]
