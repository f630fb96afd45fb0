"""The signed-query format, shared by the node (which checks it, cmu/node/query_auth.py) and the clients
(which sign): what a caller signs to predict with or download a permissioned model over RPC.

The signed message is the runtime's canonical msgpack of
    ["cmu-query/v1", method, blake2b-256(canonical params), model, timestamp in ms, genesis hash]
where `model` is the model id the query names (null for a download by artifact root) and the canonical
params are the method's named parameters without `auth` (defaults filled in), encoded as msgpack with
maps sorted by key, integers in their shortest form and every other number as a float64. The signature
travels as the `auth` parameter: {"signer": 0x account, "timestamp": ms, "signature": 0x 64 bytes}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from runtime import codec
from runtime.crypto import Keypair, blake2_256

DOMAIN = "cmu-query/v1"

#: The parameters each signed method hashes, in its positional order (`auth` comes after them).
SIGNED_PARAMS: dict[str, tuple[str, ...]] = {
    "model_predict": ("model", "rows", "at", "fixed", "version"),
    "model_download": ("artifact", "start", "count", "at", "version"),
    "model_history": ("model", "start", "end", "at"),
    "model_verify": ("model", "version", "artifact_root", "at"),
    "model_diff": ("model", "v1", "v2", "at"),
    "provenance_exportProof": ("model", "version", "at"),
}


class UnsignableParams(ValueError):
    """A parameter value with no canonical encoding (a non-string map key, an integer beyond 64 bits)."""


_SCALARS = (float, int, str, bool, type(None))


def _normal(value: Any) -> Any:
    """`value` with every map's keys sorted (lists of scalars, such as rows, are taken as they are)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        if all(type(v) in _SCALARS for v in value):
            return value
        return [_normal(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise UnsignableParams("map keys must be strings")
        return {k: _normal(value[k]) for k in sorted(value)}
    raise UnsignableParams(f"a {type(value).__name__} is not a JSON value")


def canonical_params(params: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a query's parameters (a map by name, `auth` left out)."""
    try:
        packed: bytes = msgpack.packb(_normal(dict(params)), use_bin_type=True)
    except (OverflowError, TypeError) as exc:  # an integer beyond 64 bits, a subclass msgpack refuses
        raise UnsignableParams(str(exc)) from exc
    return packed


def params_hash(params: Mapping[str, Any]) -> bytes:
    """blake2b-256 of the canonical parameters."""
    return blake2_256(canonical_params(params))


def query_message(
    method: str, params: Mapping[str, Any], model: int | None, timestamp_ms: int, genesis_hash: bytes
) -> bytes:
    """The bytes a caller signs for one query."""
    return codec.pack([DOMAIN, method, params_hash(params), model, timestamp_ms, genesis_hash])


def sign_query(
    keypair: Keypair,
    method: str,
    params: Mapping[str, Any],
    model: int | None,
    genesis_hash: bytes,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The `auth` parameter of a query signed by `keypair`."""
    signature = keypair.sign(query_message(method, params, model, timestamp_ms, genesis_hash))
    return {
        "signer": "0x" + bytes(keypair.account).hex(),
        "timestamp": timestamp_ms,
        "signature": "0x" + signature.hex(),
    }


def named_params(method: str, values: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    """The named parameters of a signed method from its positional values (without `auth`)."""
    return dict(zip(SIGNED_PARAMS[method], values, strict=True))


__all__ = [
    "DOMAIN",
    "SIGNED_PARAMS",
    "UnsignableParams",
    "canonical_params",
    "named_params",
    "params_hash",
    "query_message",
    "sign_query",
]
