"""Who signs: a development account by name (alice, bob, ...) or a key file written by
`node.py key generate` (JSON with a hex "seed" and its public key as "publicKey" or "public", with or
without 0x)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmu.client.errors import ArgumentError
from runtime.boundedjson import loads_bounded
from runtime.crypto import DEV_ACCOUNT_NAMES, Keypair, dev_keypair


def load_signer(spec: str) -> Keypair:
    """The key pair named by `spec`: a key file path, a dev name, or //NAME for any derived dev key."""
    path = Path(spec).expanduser()
    if path.is_file():
        return load_key_file(path)
    name = spec.strip()
    if name.lower() in DEV_ACCOUNT_NAMES:
        return dev_keypair(name.lower())
    if name.startswith("//") and len(name) > 2:
        return dev_keypair(name[2:])
    names = ", ".join(DEV_ACCOUNT_NAMES)
    raise ArgumentError(f"signer {spec!r} is neither a key file nor a dev account ({names}, or //NAME)")


def load_key_file(path: Path) -> Keypair:
    """The key pair in a key file; its "public" (when present) must match the seed."""
    try:
        data: Any = loads_bounded(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArgumentError(f"cannot read key file {str(path)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise ArgumentError(f"key file {str(path)!r} is not a JSON object with a seed")
    seed_text = data.get("seed", data.get("secretSeed"))
    seed = _hex(seed_text, path, "seed")
    if len(seed) != 32:
        raise ArgumentError(f"key file {str(path)!r}: the seed is {len(seed)} bytes, expected 32")
    pair = Keypair.from_seed(seed)
    public_text = data.get("publicKey", data.get("public"))
    if public_text is not None and _hex(public_text, path, "public") != bytes(pair.account):
        raise ArgumentError(f"key file {str(path)!r}: the public key does not belong to the seed")
    return pair


def _hex(value: Any, path: Path, field: str) -> bytes:
    if not isinstance(value, str):
        raise ArgumentError(f"key file {str(path)!r} has no hex {field!r}")
    digits = value[2:] if value[:2].lower() == "0x" else value
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ArgumentError(f"key file {str(path)!r}: {field} is not hex") from None
