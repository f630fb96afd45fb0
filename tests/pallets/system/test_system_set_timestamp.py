"""System.set_timestamp: the block author's inherent; the timestamp must increase block on block."""

from __future__ import annotations

import pytest

from pallets.system import System
from runtime.errors import BadOrigin, BadOriginKind, InvalidBlock
from runtime.testing import assert_noop, assert_ok
from runtime.testing.mock import BLOCK_TIME_MS, GENESIS_TIME_MS


def stored(rt) -> int:
    return rt.runtime.system.timestamp.get()


def test_set_timestamp_works(mock_runtime):
    rt = mock_runtime
    assert stored(rt) == rt.now == GENESIS_TIME_MS + BLOCK_TIME_MS  # the inherent of block 1 ran
    assert_ok(rt.call(None, "System.set_timestamp", now=rt.now + 1))
    assert stored(rt) == rt.now + 1


def test_set_timestamp_works_block_on_block(mock_runtime):
    rt = mock_runtime
    first = rt.now
    rt.next_block(advance_ms=1)
    assert stored(rt) == rt.now == first + 1
    rt.next_block()
    assert stored(rt) == first + 1 + BLOCK_TIME_MS
    assert rt.runtime.head.timestamp == first + 1


def test_set_timestamp_fails_when_not_increasing(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call(None, "System.set_timestamp", now=rt.now), System.TimestampNotIncreasing)
    assert_noop(rt.call(None, "System.set_timestamp", now=rt.now - 1), System.TimestampNotIncreasing)
    assert_noop(rt.call(None, "System.set_timestamp", now=0), System.TimestampNotIncreasing)


def test_set_timestamp_fails_when_a_block_does_not_move_time_forward(mock_runtime):
    rt = mock_runtime
    rt.next_block()  # commits block 1; block 2 is open
    head = rt.runtime.head
    rt.runtime.discard()  # drop the open block 2 and build it again with the parent's timestamp
    with pytest.raises(InvalidBlock):
        rt.runtime.new_block(head.timestamp, rt.author.account)
    with pytest.raises(InvalidBlock):
        rt.runtime.new_block(head.timestamp - 1, rt.author.account)
    assert rt.runtime.head == head
    assert rt.runtime.overlay.changes() == {}
    builder = rt.runtime.new_block(head.timestamp + 1, rt.author.account)
    assert rt.runtime.system.timestamp.get() == head.timestamp + 1
    builder.abandon()


def test_set_timestamp_fails_when_signed(mock_runtime):
    rt = mock_runtime
    assert_noop(rt.call("alice", "System.set_timestamp", now=rt.now + 10), BadOrigin)
    with pytest.raises(BadOriginKind):
        rt.submit("alice", "System.set_timestamp", now=rt.now + 10)


def test_set_timestamp_fails_when_root(mock_runtime):
    assert_noop(mock_runtime.call("root", "System.set_timestamp", now=mock_runtime.now + 10), BadOrigin)
