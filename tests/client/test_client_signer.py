"""Tests for client.signer: dev names, //NAME keys and key files as `node.py key generate` writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmu.client.errors import ArgumentError
from cmu.client.signer import load_signer
from runtime.crypto import dev_keypair

EVE = dev_keypair("eve")


def key_file(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "key.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


@pytest.mark.parametrize("name", ["alice", "Bob", " ferdie "])
def test_dev_names_work(name: str) -> None:
    assert load_signer(name) == dev_keypair(name.strip().lower())


def test_any_name_works_with_slashes() -> None:
    assert load_signer("//pauper") == dev_keypair("pauper")


def test_a_key_file_of_the_node_works(tmp_path: Path) -> None:
    public = "0x" + bytes(EVE.account).hex()
    data = {"type": "ed25519", "seed": "0x" + EVE.seed.hex(), "publicKey": public, "address": public}
    assert load_signer(key_file(tmp_path, data)) == EVE


def test_a_key_file_without_0x_or_public_works(tmp_path: Path) -> None:
    assert (
        load_signer(key_file(tmp_path, {"seed": EVE.seed.hex(), "public": bytes(EVE.account).hex()})) == EVE
    )
    assert load_signer(key_file(tmp_path, {"seed": EVE.seed.hex()})) == EVE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"seed": "0x" + EVE.seed.hex(), "publicKey": "0x" + "00" * 32}, "does not belong to the seed"),
        ({"seed": "0x1234"}, "the seed is 2 bytes, expected 32"),
        ({"seed": "xyz"}, "seed is not hex"),
        ({"publicKey": "0x00"}, "has no hex 'seed'"),
        ("[1, 2]", "not a JSON object"),
        ("{not json", "cannot read key file"),
    ],
)
def test_a_bad_key_file_fails_clearly(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(ArgumentError) as info:
        load_signer(key_file(tmp_path, data))
    assert message in str(info.value)


@pytest.mark.parametrize("spec", ["mallory", "//", "/no/such/file.json"])
def test_an_unknown_signer_fails_clearly(spec: str) -> None:
    with pytest.raises(ArgumentError, match="neither a key file nor a dev account"):
        load_signer(spec)
