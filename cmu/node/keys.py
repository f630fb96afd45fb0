"""Key files: an ed25519 seed and its public key as JSON, readable by the owner only (mode 0600).

{"type": "ed25519", "seed": "0x..", "publicKey": "0x..", "address": "0x.."}; reading checks that the
public key is the seed's, so a corrupted or hand-edited file is refused with the reason. A validator's key
file (type "cmu-validator") adds its name and BLS secret key, and its `validator` entry for the chain spec.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from runtime import bls
from runtime.boundedjson import loads_bounded
from runtime.crypto import DEV_ACCOUNT_NAMES, Keypair, address, dev_keypair
from runtime.validators import ValidatorKeys

KEY_TYPE = "ed25519"
VALIDATOR_KEY_TYPE = "cmu-validator"


class KeyFileError(Exception):
    """A key file that cannot be written or read, with the reason."""


def key_json(keypair: Keypair, *, with_seed: bool) -> dict[str, Any]:
    """The JSON form of a key pair (the seed only when asked)."""
    body: dict[str, Any] = {"type": KEY_TYPE}
    if with_seed:
        body["seed"] = "0x" + keypair.seed.hex()
    body["publicKey"] = "0x" + bytes(keypair.account).hex()
    body["address"] = address(keypair.account)
    return body


def write_key_file(path: Path, keypair: Keypair) -> None:
    """Create `path` with mode 0600 (never overwriting an existing file)."""
    _write_private(path, json.dumps(key_json(keypair, with_seed=True), indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key file") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # in case the umask or an odd filesystem widened it


def _read_json(path: Path) -> Any:
    try:
        return loads_bounded(Path(path).read_text())
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeyFileError(f"{path} is not JSON: {exc}") from exc


def read_key_file(path: Path) -> Keypair:
    """The key pair in a key file (KeyFileError with the reason otherwise)."""
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("type", KEY_TYPE) != KEY_TYPE:
        raise KeyFileError(f"{path}: not an {KEY_TYPE} key file")
    seed = _hex_field(path, data, "seed", 32)
    keypair = Keypair.from_seed(seed)
    if "publicKey" in data and _hex_field(path, data, "publicKey", 32) != bytes(keypair.account):
        raise KeyFileError(f"{path}: publicKey does not belong to the seed")
    return keypair


def _hex_field(path: Path, data: dict[str, Any], name: str, length: int) -> bytes:
    value = data.get(name)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise KeyFileError(f"{path}: {name} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise KeyFileError(f"{path}: {name} is not hex") from exc
    if len(raw) != length:
        raise KeyFileError(f"{path}: {name} must be {length} bytes")
    return raw


def is_private(path: Path) -> bool:
    """Whether only the owner may read the file."""
    return not os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO)


def load_signer(spec: str) -> Keypair:
    """A dev account name (alice, bob, ...) or the path of a key file."""
    if spec.lower() in DEV_ACCOUNT_NAMES:
        return dev_keypair(spec.lower())
    return read_key_file(Path(spec))


def generate_validator_keys(name: str) -> ValidatorKeys:
    """Fresh random validator keys (an ed25519 key pair and a BLS secret key from 32 random bytes)."""
    return ValidatorKeys(name, Keypair.generate(), bls.keygen(os.urandom(32)))


def validator_key_json(keys: ValidatorKeys, *, with_secrets: bool) -> dict[str, Any]:
    """A validator key file's JSON: secrets when asked, and always its chain spec entry (`validator`)."""
    body: dict[str, Any] = {"type": VALIDATOR_KEY_TYPE, "name": keys.name}
    if with_secrets:
        body["seed"] = "0x" + keys.keypair.seed.hex()
        body["blsSecretKey"] = "0x" + keys.bls_secret.hex()
    body["validator"] = keys.public().to_json()
    return body


def write_validator_key_file(path: Path, keys: ValidatorKeys) -> None:
    """Create a validator key file with mode 0600 (never overwriting an existing file)."""
    _write_private(path, json.dumps(validator_key_json(keys, with_secrets=True), indent=2) + "\n")


def read_validator_key_file(path: Path) -> ValidatorKeys:
    """The validator keys in a key file; KeyFileError if malformed or its public entry is not its own."""
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("type") != VALIDATOR_KEY_TYPE:
        raise KeyFileError(f"{path}: not a {VALIDATOR_KEY_TYPE} key file")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise KeyFileError(f"{path}: 'name' must be a non-empty string")
    seed = _hex_field(path, data, "seed", 32)
    try:
        keys = ValidatorKeys(name, Keypair.from_seed(seed), _hex_field(path, data, "blsSecretKey", 32))
        public = keys.public().to_json()
    except bls.BlsError as exc:
        raise KeyFileError(f"{path}: blsSecretKey: {exc}") from exc
    if "validator" in data and data["validator"] != public:
        raise KeyFileError(f"{path}: 'validator' does not belong to the secret keys")
    return keys
