"""Fixtures of the client's tests: a mock runtime with the Notes pallet, its metadata as a node sends
it (through JSON), and a fake node serving the RPC contract on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from client_fakenode import FakeNode

from cmu.client.metadata import Metadata
from runtime.testing import MockRuntime, build_runtime


@pytest.fixture
def mock() -> MockRuntime:
    """A fresh mock runtime of the dev chain plus the Notes example pallet."""
    return build_runtime("Notes")


@pytest.fixture(scope="module")
def metadata() -> Metadata:
    """The dev chain's metadata (with Notes), through JSON as the RPC delivers it."""
    raw = build_runtime("Notes").runtime.metadata()
    return Metadata(json.loads(json.dumps(raw)))


@pytest.fixture
def fake_node() -> Iterator[FakeNode]:
    """A fake node (dev chain + Notes) on a free loopback port, one block sealed per extrinsic."""
    node = FakeNode("Notes")
    try:
        yield node
    finally:
        node.stop()
