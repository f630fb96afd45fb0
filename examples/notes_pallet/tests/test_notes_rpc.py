"""How a pallet author tests the package's RPC view and CLI commands (node side, client side) without a
node: the view runs on a runtime from cmu-chain's test helpers, the CLI parser is the real `cmu` one."""

from __future__ import annotations

import pytest

from cmu.client.cli import build_parser
from cmu.node.extensions import RpcContext, extension_methods
from cmu.node.rpc import RpcError
from runtime.crypto import address
from runtime.testing import assert_ok, build_runtime


def notes_get(rt):
    methods = extension_methods(RpcContext(rt.runtime, lambda at: rt.runtime), served=())
    return methods["notes_get"].function


def test_notes_get_works_for_an_account_with_a_note():
    rt = build_runtime("Notes")
    assert_ok(rt.submit("alice", "Notes.set_note", text=b"hi"))
    rt.next_block()
    who = address(rt.account("alice"))
    assert notes_get(rt)(who) == {"who": who, "note": "0x6869", "count": 1}


def test_notes_get_works_for_an_account_without_one():
    rt = build_runtime("Notes")
    who = address(rt.account("bob"))
    assert notes_get(rt)(who) == {"who": who, "note": None, "count": 0}


def test_notes_get_fails_for_a_bad_account():
    rt = build_runtime("Notes")
    with pytest.raises(RpcError) as refused:
        notes_get(rt)(42)
    assert refused.value.code == -32602


def test_the_cli_has_the_notes_get_command():
    args = build_parser().parse_args(["notes", "get", "bob"])
    assert args.who == "bob" and args.handler.__name__ == "cmd_get"
