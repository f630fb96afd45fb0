"""The page's signing code (cmu/node/dashboard/src/sign.js, run by node through sign_cli.mjs) makes the
same bytes as the runtime: the signing payload and extrinsic of runtime/extrinsic.py, the signed query
of cmu/formats/signed_query.py, and the canonical msgpack of runtime/codec.py at integer boundaries."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from conftest import SIGN_CLI

from cmu.formats.signed_query import query_message, sign_query
from runtime import codec
from runtime.crypto import dev_keypair
from runtime.extrinsic import IMMORTAL_ERA, sign_extrinsic, signing_payload

GENESIS = bytes(range(32))
NODE = shutil.which("node")


def run_js(request: dict[str, Any]) -> dict[str, Any]:
    if NODE is None or not SIGN_CLI.exists():
        pytest.skip("node or the built sign_cli.mjs is missing (./run.sh test builds it)")
    done = subprocess.run(
        [NODE, str(SIGN_CLI)], input=json.dumps(request), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def as_js(value: Any) -> Any:
    """A wire value in sign_cli's JSON: bytes as {"hex"}, integers past 2^53 as {"int"}."""
    if isinstance(value, bytes):
        return {"hex": "0x" + value.hex()}
    if isinstance(value, list):
        return [as_js(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return {"int": str(value)}
    return value


CALLS = [
    [13, 1, [0, [334234, 229376, 91750, 13107], 0]],  # Training.add_data
    [13, 3, [2**64 - 1, [-(2**63), 2**63 - 1, -1, -33, 2**32, 2**32 - 1, -(2**31) - 1], 4294967295]],
    [1, 0, [bytes(32), 10**24 % 2**64, "a text", True, None, [[1, 2], []]]],
    [13, 2, [7, [[list(range(200)), 1]] * 4]],  # a payload over 256 bytes: signed as its blake2b-256
]


@pytest.mark.parametrize("call", CALLS)
def test_js_extrinsic_bytes_equal_python(call: list[Any]) -> None:
    pair = dev_keypair("bob")
    answer = run_js(
        {
            "dev": "bob",
            "genesisHash": "0x" + GENESIS.hex(),
            "call": as_js(call),
            "nonce": 70000,
            "specVersion": 3,
        }
    )
    payload = signing_payload(call, IMMORTAL_ERA, 70000, 0, 3, GENESIS, GENESIS)
    assert answer["account"] == "0x" + bytes(pair.account).hex()
    assert answer["payload"] == "0x" + payload.hex()
    expected = sign_extrinsic(pair, call, nonce=70000, genesis_hash=GENESIS, spec_version=3)
    assert answer["extrinsic"] == "0x" + expected.hex()


def test_js_canonical_msgpack_equals_the_codec_at_integer_boundaries() -> None:
    values = [
        0,
        127,
        128,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        2**53 + 1,
        2**64 - 1,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -(2**31),
        -(2**31) - 1,
        -(2**63),
        "",
        "x" * 31,
        "x" * 32,
        "é" * 200,
        b"",
        b"\x00" * 300,
        [None, True, False, []],
    ]
    answer = run_js({"dev": "alice", "genesisHash": "0x00", "pack": as_js(values)})
    assert answer["packed"] == "0x" + codec.pack(values).hex()


def test_js_signed_query_equals_python() -> None:
    pair = dev_keypair("dave")
    params = {
        "model": 3,
        "rows": [[5.1, 3.5, 1, 0.2], [6.7, 3.0, 5.2, 2.3]],
        "at": None,
        "fixed": False,
        "version": "stable",
    }
    answer = run_js(
        {
            "dev": "dave",
            "genesisHash": "0x" + GENESIS.hex(),
            "query": {
                "method": "model_predict",
                "params": params,
                "model": 3,
                "timestamp": 1_796_000_000_123,
            },
        }
    )
    as_parsed = json.loads(answer["sentParams"])  # the node hashes what it parses: 3.0 arrives as 3
    assert as_parsed["rows"][1][1] == 3 and isinstance(as_parsed["rows"][1][1], int)
    message = query_message("model_predict", as_parsed, 3, 1_796_000_000_123, GENESIS)
    assert answer["queryMessage"] == "0x" + message.hex()
    assert answer["auth"] == sign_query(pair, "model_predict", as_parsed, 3, GENESIS, 1_796_000_000_123)


def test_fixed_vector_of_a_signed_add_data() -> None:
    """A vector fixed in the test (bob, nonce 0, spec 1, genesis 0..31): a change on either side fails."""
    call = CALLS[0]
    answer = run_js(
        {"dev": "bob", "genesisHash": "0x" + GENESIS.hex(), "call": as_js(call), "nonce": 0, "specVersion": 1}
    )
    assert answer["extrinsic"] == FIXED_ADD_DATA
    assert (
        sign_extrinsic(dev_keypair("bob"), call, nonce=0, genesis_hash=GENESIS, spec_version=1).hex()
        == FIXED_ADD_DATA[2:]
    )


def test_key_file_is_read_like_the_cli() -> None:
    pair = dev_keypair("ferdie")
    key_file = json.dumps({"seed": pair.seed.hex(), "publicKey": "0x" + bytes(pair.account).hex()})
    answer = run_js({"keyFile": key_file, "genesisHash": "0x00"})
    assert answer["account"] == "0x" + bytes(pair.account).hex()


FIXED_ADD_DATA = (
    "0x9801c4208a8d315a40a0a8f9c418f595992d7846dc605db384777be0c1ed23881a76b2dcc440f8bb0a49637e1ed71ab0e3"
    "09995dbcb7078e126a128afbbbe37c5346677ec2d412d969285aa846c550c3fd5a2f49f8f240f6917902985386cb7ef6b46965"
    "ba049200000000c40400010203930d01930094ce0005199ace00038000ce00016666cd333300"
)
