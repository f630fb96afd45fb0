"""Chain specs (JSON) and pallet discovery.

A spec names the chain, lists its pallets in declared order (which is also the order hooks run in),
gives each pallet's genesis configuration and the runtime's fee parameters. A consortium chain's spec
also lists its validators (runtime.validators); without them it is a single-node chain. Pallets are found
among the built-ins and the `cmu.pallets` entry-point group; a third-party pallet is included only when
the spec names it. Set CMU_NO_PALLET_AUTOLOAD=1 (or pass autoload=False) to skip entry points altogether.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from runtime import codec
from runtime.boundedjson import loads_bounded
from runtime.crypto import DEV_ACCOUNT_NAMES, address, blake2_256, dev_keypair
from runtime.errors import PalletError
from runtime.pallet import Pallet
from runtime.validators import Validator, dev_validators, parse_validators

PALLET_GROUP = "cmu.pallets"
BUILTIN_PALLETS: dict[str, str] = {
    "System": "pallets.system:System",
    "Balances": "pallets.balances:Balances",
    "Sudo": "pallets.sudo:Sudo",
    "ModelRegistry": "pallets.model_registry:ModelRegistry",
    "Versioning": "pallets.versioning:Versioning",
    "Access": "pallets.access:Access",
    "Training": "pallets.training:Training",
}
#: 10^12 smallest units make one token (the `tokenDecimals` property).
TOKEN = 10**12
DEV_ENDOWMENT = 1_000_000 * TOKEN


@dataclasses.dataclass(frozen=True)
class FeeConfig:
    """Transaction fee parameters: fee = base + per_byte * length + per_weight * weight + tip."""

    base: int = 1_000_000
    per_byte: int = 1_000
    per_weight: int = 1
    extrinsic_base_weight: int = 100_000
    max_block_weight: int = 2_000_000_000
    max_block_length: int = 8 * 1024 * 1024
    max_extrinsic_length: int = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ChainSpec:
    """Everything that defines a chain before its first block."""

    name: str
    id: str
    chain_type: str
    pallets: tuple[str, ...]
    genesis: Mapping[str, Any]
    properties: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fees: FeeConfig = dataclasses.field(default_factory=FeeConfig)
    validators: tuple[Validator, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON object (what `build-spec` prints); `validators` only when there are some."""
        data: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "chainType": self.chain_type,
            "pallets": list(self.pallets),
            "genesis": self.genesis,
            "properties": self.properties,
            "fees": dataclasses.asdict(self.fees),
        }
        if self.validators:
            data["validators"] = [v.to_json() for v in self.validators]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChainSpec:
        """Parse a spec object, naming the first missing or malformed field."""
        if not isinstance(data, Mapping):
            raise PalletError("chain spec: not a JSON object")
        for field in ("name", "id", "pallets", "genesis"):
            if field not in data:
                raise PalletError(f"chain spec: missing field {field!r}")
        pallets = data["pallets"]
        if not isinstance(pallets, list) or not all(isinstance(p, str) for p in pallets):
            raise PalletError("chain spec: 'pallets' must be a list of pallet names")
        for field in ("genesis", "properties", "fees"):
            if not isinstance(data.get(field, {}), Mapping):
                raise PalletError(f"chain spec: {field!r} must be a JSON object")
        try:
            fees = FeeConfig(**data.get("fees", {}))
        except TypeError as exc:
            raise PalletError(f"chain spec: bad 'fees': {exc}") from exc
        return cls(
            name=str(data["name"]),
            id=str(data["id"]),
            chain_type=str(data.get("chainType", "Live")),
            pallets=tuple(pallets),
            genesis=dict(data["genesis"]),
            properties=dict(data.get("properties", {})),
            fees=fees,
            validators=parse_validators(data["validators"]) if "validators" in data else (),
        )

    @classmethod
    def load(cls, path: str | Path) -> ChainSpec:
        """Read a spec file."""
        try:
            data = loads_bounded(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise PalletError(f"chain spec {path}: {exc}") from exc
        return cls.from_json(data)

    def spec_hash(self) -> bytes:
        """A hash of the canonical JSON, stored with the database to refuse another chain's spec."""
        return blake2_256(json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode())

    def with_pallets(self, *extra: str, genesis: Mapping[str, Any] | None = None) -> ChainSpec:
        """A copy with more pallets (and genesis sections) appended."""
        merged = {**self.genesis, **(genesis or {})}
        return dataclasses.replace(self, pallets=self.pallets + tuple(extra), genesis=merged)

    def with_validators(self, validators: Iterable[Validator]) -> ChainSpec:
        """A copy whose validators (and System authorities, the allowed block authors) are `validators`."""
        chosen = tuple(validators)
        system = {**self.genesis.get("System", {}), "authorities": [address(v.account) for v in chosen]}
        genesis = {**self.genesis, "System": system}
        return dataclasses.replace(self, validators=chosen, genesis=genesis)


def dev_spec(extra_pallets: Iterable[str] = ()) -> ChainSpec:
    """The development chain: dev accounts funded, alice the root key and the only authority."""
    return _dev_like("Development", "dev", "Development", DEV_ACCOUNT_NAMES, tuple(extra_pallets))


def local_spec(extra_pallets: Iterable[str] = (), validators: Iterable[str] = ()) -> ChainSpec:
    """A local testnet: like dev, with alice and bob as authorities, or the named dev validators."""
    spec = _dev_like("Local Testnet", "local", "Local", ("alice", "bob"), tuple(extra_pallets))
    names = tuple(validators)
    return spec.with_validators(dev_validators(names)) if names else spec


CONSORTIUM_VALIDATORS = ("alice", "bob", "charlie", "dave")
"""The development validators of `consortium_spec` by default."""
CONSORTIUM_PALLETS = ("Access", "Versioning")
"""What a consortium chain runs beyond the dev chain's pallets: versions and access control of models."""


def consortium_spec(
    validators: Iterable[str] = CONSORTIUM_VALIDATORS,
    extra_pallets: Iterable[str] = CONSORTIUM_PALLETS,
    *,
    chain_id: str = "consortium",
) -> ChainSpec:
    """A local consortium chain: dev accounts funded, the named dev validators authoring and finalizing."""
    spec = _dev_like("Consortium Testnet", chain_id, "Local", (), tuple(extra_pallets))
    return spec.with_validators(dev_validators(validators))


def _dev_like(
    name: str, chain_id: str, kind: str, authorities: Iterable[str], extra: tuple[str, ...]
) -> ChainSpec:
    accounts = [address(dev_keypair(n).account) for n in DEV_ACCOUNT_NAMES]
    genesis = {
        "System": {"authorities": [address(dev_keypair(n).account) for n in authorities]},
        "Balances": {"balances": [[a, DEV_ENDOWMENT] for a in accounts]},
        "Sudo": {"key": accounts[0]},
    }
    return ChainSpec(
        name=name,
        id=chain_id,
        chain_type=kind,
        pallets=_dev_pallets(extra),
        genesis=genesis,
        properties={"tokenSymbol": "UNIT", "tokenDecimals": 12},
    )


DEV_PALLETS = ("System", "Balances", "Sudo", "ModelRegistry", "Access", "Versioning", "Training")


def _dev_pallets(extra: tuple[str, ...]) -> tuple[str, ...]:
    """The dev chain's pallets, then any extra ones it does not have yet."""
    return DEV_PALLETS + tuple(name for name in extra if name not in DEV_PALLETS)


def resolve_pallets(
    names: Iterable[str], *, extra: Iterable[type[Pallet]] = (), autoload: bool | None = None
) -> list[type[Pallet]]:
    """The pallet classes the spec names, in its order, from built-ins, `extra` and entry points."""
    if autoload is None:
        autoload = os.environ.get("CMU_NO_PALLET_AUTOLOAD", "") not in ("1", "true", "yes")
    available: dict[str, Any] = dict(BUILTIN_PALLETS)
    if autoload:
        available.update({ep.name: ep for ep in entry_points(group=PALLET_GROUP)})
    available.update({cls.name: cls for cls in extra})
    resolved = [_load(name, available) for name in names]
    _check_unique(resolved)
    return resolved


def _load(name: str, available: Mapping[str, Any]) -> type[Pallet]:
    if name not in available:
        raise PalletError(f"pallet {name!r} is not installed (no built-in or {PALLET_GROUP} entry point)")
    target = available[name]
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        target = getattr(importlib.import_module(module), attr)
    elif not isinstance(target, type):
        target = target.load()
    if not (isinstance(target, type) and issubclass(target, Pallet)):
        raise PalletError(f"entry point {name!r} is not a Pallet subclass")
    if target.name != name:
        raise PalletError(f"entry point {name!r} loads pallet {target.name!r}")
    return target


def _check_unique(pallets: list[type[Pallet]]) -> None:
    names = [p.name for p in pallets]
    indices = [p.index for p in pallets]
    if len(set(names)) != len(names):
        raise PalletError(f"pallet names repeat: {names}")
    if len(set(indices)) != len(indices):
        raise PalletError(f"pallet indices repeat: {sorted(zip(indices, names, strict=True))}")
    if not names or names[0] != "System":
        raise PalletError("System must be the first pallet")


__all__ = [
    "ChainSpec",
    "FeeConfig",
    "Validator",
    "codec",
    "consortium_spec",
    "dev_spec",
    "local_spec",
    "resolve_pallets",
]
