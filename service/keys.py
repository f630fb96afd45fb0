"""Key files: an ed25519 seed and its public key as JSON, readable by the owner only (mode 0600).

{"type": "ed25519", "seed": "0x..", "publicKey": "0x..", "address": "0x.."}; reading checks that the
public key is the seed's, so a corrupted or hand-edited file is refused with the reason.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from runtime.crypto import DEV_ACCOUNT_NAMES, Keypair, address, dev_keypair

KEY_TYPE = "ed25519"


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
    text = json.dumps(key_json(keypair, with_seed=True), indent=2) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists; refusing to overwrite a key file") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # in case the umask or an odd filesystem widened it


def read_key_file(path: Path) -> Keypair:
    """The key pair in a key file (KeyFileError with the reason otherwise)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeyFileError(f"{path} is not JSON: {exc}") from exc
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
