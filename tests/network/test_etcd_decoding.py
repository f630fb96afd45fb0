"""Bounded decoding of what comes out of etcd: gateway answers and watch lines, gossiped batches. Bad
bytes give typed errors (EtcdError, GossipError), never another exception."""

from __future__ import annotations

import base64
import json

import msgpack
import pytest

from cmu.node.network import etcd
from cmu.node.network.etcd import EtcdError, KeyValue, _watch_events, decode_answer
from cmu.node.network.gossip import MAX_BATCH, GossipError, decode_batch


def test_answers_must_be_bounded_json_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    assert decode_answer(b'{"header": {"revision": "3"}}') == {"header": {"revision": "3"}}
    for bad in (b"[1, 2]", b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"):
        with pytest.raises(EtcdError):
            decode_answer(bad)
    monkeypatch.setattr(etcd, "MAX_ANSWER_BYTES", 10)
    with pytest.raises(EtcdError, match="more than 10"):
        decode_answer(b'{"a": "0123456789"}')


def test_watch_lines_with_bad_shapes_or_values_are_typed_errors() -> None:
    kv = {
        "key": base64.b64encode(b"k").decode(),
        "value": base64.b64encode(b"v").decode(),
        "mod_revision": "7",
    }
    events = _watch_events(json.dumps({"result": {"events": [{"kv": kv}]}}).encode())
    assert [(e.kv.key, e.kv.value, e.kv.mod_revision, e.deleted) for e in events] == [(b"k", b"v", 7, False)]
    for bad in (
        {"result": "nope"},
        {"result": {"events": "nope"}},
        {"result": {"events": [{"kv": "nope"}]}},
        {"result": {"events": [{"kv": {**kv, "value": "%%%"}}]}},
        {"result": {"events": [{"kv": {**kv, "mod_revision": "x"}}]}},
    ):
        with pytest.raises(EtcdError):
            _watch_events(json.dumps(bad).encode())
    with pytest.raises(EtcdError):
        KeyValue.from_json([1])


def test_gossip_batches_are_bounded_lists_of_bytes() -> None:
    assert decode_batch(msgpack.packb([b"a", b"bc"])) == [b"a", b"bc"]
    too_long = msgpack.packb([b"x"] * (MAX_BATCH + 1))
    nested = b"\x91" * 5_000 + b"\xc0"  # 5,000 nested one-element arrays
    for bad in (b"\xc1", msgpack.packb({"a": 1}), msgpack.packb([b"a", "text"]), msgpack.packb([[b"a"]]),
                too_long, nested, msgpack.packb(b"x")):  # fmt: skip
        with pytest.raises(GossipError):
            decode_batch(bad)
