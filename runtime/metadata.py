"""The runtime metadata: a versioned, JSON-ready description of every pallet's calls (with argument names
and type schemas), storage items (with their key prefixes), events, errors and constants, so that a
generic client can build and decode any call, including those of third-party pallets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.executive import Runtime

METADATA_VERSION = 1


def build_metadata(runtime: Runtime) -> dict[str, Any]:
    """The metadata of an assembled runtime."""
    return {
        "version": METADATA_VERSION,
        "runtime": runtime.VERSION.to_json(),
        "chain": {
            "name": runtime.spec.name,
            "id": runtime.spec.id,
            "genesisHash": "0x" + runtime.genesis_hash.hex(),
        },
        "extrinsic": {
            "signed": "[1, signer, signature, [era_birth, era_period], nonce, tip, genesis_hash[:4], call]",
            "inherent": "[0, call]",
            "call": "[pallet_index, call_index, [args...]]",
            "payload": "[call, [era_birth, era_period], nonce, tip, spec_version, genesis_hash, birth_hash]",
        },
        "fees": {
            "base": runtime.fees.base,
            "perByte": runtime.fees.per_byte,
            "perWeight": runtime.fees.per_weight,
            "extrinsicBaseWeight": runtime.fees.extrinsic_base_weight,
            "maxBlockWeight": runtime.fees.max_block_weight,
            "maxBlockLength": runtime.fees.max_block_length,
        },
        "pallets": [type(p).describe() for p in runtime.pallets],
    }
