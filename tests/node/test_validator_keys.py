"""Validator key files (service.keys): written 0600 by `node.py key generate --validator`, read back with
the same keys, and refused when the secrets and the listed public entry disagree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmu.node.keys import (
    KeyFileError,
    generate_validator_keys,
    is_private,
    read_validator_key_file,
    write_validator_key_file,
)
from runtime.genesis import ChainSpec, dev_spec
from runtime.validators import Validator, dev_validator, dev_validator_keys

ROOT = Path(__file__).resolve().parents[2]


def test_validator_key_file_round_trips(tmp_path):
    keys = generate_validator_keys("erin")
    path = tmp_path / "erin.json"
    write_validator_key_file(path, keys)
    assert is_private(path)
    assert read_validator_key_file(path) == keys
    with pytest.raises(KeyFileError, match="exists"):
        write_validator_key_file(path, keys)


def test_generated_validator_goes_into_a_spec(tmp_path):
    keys = generate_validator_keys("erin")
    spec = dev_spec().with_validators([dev_validator("alice"), keys.public()])
    loaded = ChainSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert loaded.validators[1].bls_public_key == keys.bls_public_key()


def test_key_file_with_a_foreign_public_entry_is_refused(tmp_path):
    path = tmp_path / "alice.json"
    write_validator_key_file(path, dev_validator_keys("alice"))
    data = json.loads(path.read_text())
    data["validator"] = dev_validator("bob").to_json()
    path.write_text(json.dumps(data))
    with pytest.raises(KeyFileError, match="does not belong"):
        read_validator_key_file(path)
    data["blsSecretKey"] = "0x" + "ff" * 32  # above the curve order
    path.write_text(json.dumps(data))
    with pytest.raises(KeyFileError, match="blsSecretKey"):
        read_validator_key_file(path)


def test_cli_writes_dev_validator_keys(tmp_path):
    path = tmp_path / "bob.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "node.py"), "key", "generate", "--validator", "bob", "--dev",
         "--output", str(path)],
        capture_output=True, text=True, check=True,
    )
    shown = json.loads(result.stdout)
    assert "seed" not in shown and "blsSecretKey" not in shown
    assert Validator.from_json(shown["validator"], 0) == dev_validator("bob")
    assert read_validator_key_file(path) == dev_validator_keys("bob")
