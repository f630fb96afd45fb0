"""Validators in the chain spec: dev keys derived from names, the JSON round trip, the spec hash, and
refusals at load for a bad proof of possession, repeated names or keys, wrong lengths and stray fields."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runtime import bls
from runtime.crypto import dev_keypair
from runtime.errors import PalletError
from runtime.executive import Runtime
from runtime.genesis import ChainSpec, consortium_spec, dev_spec, local_spec
from runtime.storage.backend import MemoryBackend
from runtime.validators import (
    InvalidValidator,
    dev_validator,
    dev_validator_keys,
    has_quorum,
    quorum_size,
)

ROOT = Path(__file__).resolve().parents[2]


def spec_json(names: tuple[str, ...] = ("alice", "bob", "charlie", "dave")) -> dict[str, Any]:
    return copy.deepcopy(consortium_spec(names).to_json())


def load(data: dict[str, Any]) -> ChainSpec:
    return ChainSpec.from_json(json.loads(json.dumps(data)))


def test_dev_validator_keys_are_derived_from_names():
    alice, again, bob = dev_validator_keys("alice"), dev_validator_keys("alice"), dev_validator_keys("bob")
    assert alice.bls_secret == again.bls_secret != bob.bls_secret
    assert alice.account == dev_keypair("alice").account
    public = dev_validator("alice")
    assert public.bls_public_key == bls.public_key(alice.bls_secret)
    assert bls.pop_verify(public.bls_public_key, public.bls_pop)
    assert not bls.pop_verify(dev_validator("bob").bls_public_key, public.bls_pop)


def test_consortium_spec_round_trips_through_json():
    spec = consortium_spec()
    loaded = load(spec.to_json())
    assert loaded == spec
    assert [v.name for v in loaded.validators] == ["alice", "bob", "charlie", "dave"]
    assert loaded.spec_hash() == spec.spec_hash()
    authorities = loaded.genesis["System"]["authorities"]
    assert authorities == ["0x" + bytes(v.account).hex() for v in loaded.validators]


def test_spec_without_validators_is_unchanged():
    data = local_spec().to_json()
    assert "validators" not in data
    assert load(data).validators == ()
    assert local_spec().to_json() == load(local_spec().to_json()).to_json()


def test_dev_spec_has_alice_as_its_single_validator_and_every_dev_account_as_author():
    spec = dev_spec()
    assert [v.name for v in spec.validators] == ["alice"]
    assert spec.validators[0] == dev_validator("alice")
    assert len(spec.genesis["System"]["authorities"]) == 6  # any dev account may still author (--author)
    assert load(spec.to_json()) == spec


def test_validators_change_the_spec_hash_and_are_stored_at_genesis():
    plain, with_validators = local_spec(), local_spec(validators=["alice", "bob"])
    assert plain.spec_hash() != with_validators.spec_hash()
    runtime = Runtime(with_validators, MemoryBackend())
    assert runtime.system.chain_spec.get() == with_validators.spec_hash()
    reordered = local_spec(validators=["bob", "alice"])
    assert reordered.spec_hash() != with_validators.spec_hash()


def test_bad_proof_of_possession_is_refused_naming_the_validator():
    data = spec_json()
    data["validators"][2]["blsProofOfPossession"] = data["validators"][1]["blsProofOfPossession"]
    with pytest.raises(InvalidValidator, match=r"charlie.*proof of possession") as info:
        load(data)
    assert info.value.validator == "charlie"


def test_flipped_public_key_is_refused():
    data = spec_json()
    key = bytearray(bytes.fromhex(data["validators"][0]["blsPublicKey"][2:]))
    key[-1] ^= 0x01
    data["validators"][0]["blsPublicKey"] = "0x" + key.hex()
    with pytest.raises(InvalidValidator, match="alice") as info:
        load(data)
    assert info.value.validator == "alice"


@pytest.mark.parametrize(
    ("field", "donor", "what"),
    [("name", 0, "name"), ("account", 0, "account"), ("blsPublicKey", 0, "BLS key")],
)
def test_duplicate_entries_are_refused(field, donor, what):
    data = spec_json()
    data["validators"][3][field] = data["validators"][donor][field]
    if field == "blsPublicKey":
        data["validators"][3]["blsProofOfPossession"] = data["validators"][donor]["blsProofOfPossession"]
    with pytest.raises(InvalidValidator, match=f"same {what} as validator 'alice'"):
        load(data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account", "0x" + "11" * 31, "'account' must be 32 bytes, got 31"),
        ("blsPublicKey", "0x" + "a0" * 47, "'blsPublicKey' must be 48 bytes, got 47"),
        ("blsProofOfPossession", "0x" + "c0" * 97, "'blsProofOfPossession' must be 96 bytes, got 97"),
        ("account", "11" * 32, "0x-prefixed"),
        ("account", "0x" + "zz" * 32, "not hex"),
        ("account", "0x" + "AB" * 32, "lowercase"),
        ("blsPublicKey", 5, "0x-prefixed"),
    ],
)
def test_malformed_fields_are_refused(field, value, message):
    data = spec_json()
    data["validators"][1][field] = value
    with pytest.raises(InvalidValidator, match=message) as info:
        load(data)
    assert info.value.validator == "bob"


def test_unknown_field_and_nameless_entry_are_refused():
    data = spec_json()
    data["validators"][0]["weight"] = 3
    with pytest.raises(InvalidValidator, match="unknown field"):
        load(data)
    data = spec_json()
    del data["validators"][1]["name"]
    with pytest.raises(InvalidValidator, match="'#1'"):
        load(data)
    data = spec_json()
    data["validators"] = {"alice": 1}
    with pytest.raises(PalletError, match="must be a list"):
        load(data)


def test_bad_spec_file_gives_a_clear_error(tmp_path):
    data = spec_json()
    data["validators"][0]["blsProofOfPossession"] = data["validators"][1]["blsProofOfPossession"]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    result = subprocess.run(
        [sys.executable, str(ROOT / "node.py"), "build-spec", "--chain", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "validator 'alice'" in result.stderr and "proof of possession" in result.stderr


def test_build_spec_lists_the_named_validators():
    result = subprocess.run(
        [sys.executable, str(ROOT / "node.py"), "build-spec", "--validators", "alice,bob,eve"],
        capture_output=True,
        text=True,
        check=True,
    )
    spec = load(json.loads(result.stdout))
    assert [v.name for v in spec.validators] == ["alice", "bob", "eve"]
    assert spec.validators[2] == dev_validator("eve")


@pytest.mark.parametrize(
    ("count", "least"), [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (6, 5), (7, 5), (10, 7), (100, 67)]
)
def test_quorum_is_strictly_more_than_two_thirds(count, least):
    assert quorum_size(count) == least
    assert has_quorum(least, count)
    assert not has_quorum(least - 1, count)
    assert not has_quorum(0, 0)
