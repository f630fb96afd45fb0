"""The node's offline subcommands: key, build-spec, export-blocks, import-blocks, purge-chain, export-proof
and verify-proof.

Each returns the process exit code and prints its result to stdout (errors go to stderr via the caller).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from cmu.node.chaindb import ChainDbError
from cmu.node.config import ConfigError, load_spec
from cmu.node.importer import BadBlock, BlockImporter, write_block_file
from cmu.node.keys import (
    generate_validator_keys,
    is_private,
    key_json,
    read_key_file,
    validator_key_json,
    write_key_file,
    write_validator_key_file,
)
from cmu.node.metrics import Metrics
from cmu.node.provenance import ProvenanceError, load_proof, verify_proof_file
from cmu.node.provenance import export_proof as make_proof
from cmu.node.runner import open_chain
from runtime.crypto import Keypair, dev_keypair
from runtime.validators import dev_validator_keys, dev_validators


def key_generate(output: Path | None) -> int:
    """A fresh random key: written to `output` (mode 0600) or printed with its seed."""
    keypair = Keypair.generate()
    if output is None:
        print(json.dumps(key_json(keypair, with_seed=True), indent=2))
        return 0
    write_key_file(output, keypair)
    print(json.dumps({**key_json(keypair, with_seed=False), "file": str(output)}, indent=2))
    return 0


def validator_key_generate(name: str, output: Path | None, *, dev: bool) -> int:
    """Validator keys (random, or `name`'s public dev keys): written to `output` (mode 0600) or printed."""
    keys = dev_validator_keys(name) if dev else generate_validator_keys(name)
    if output is None:
        print(json.dumps(validator_key_json(keys, with_secrets=True), indent=2))
        return 0
    write_validator_key_file(output, keys)
    print(json.dumps({**validator_key_json(keys, with_secrets=False), "file": str(output)}, indent=2))
    return 0


def key_inspect(path: Path | None, dev_name: str | None) -> int:
    """The public key of a key file, or of a dev account (with its publicly known seed)."""
    if dev_name is not None:
        print(json.dumps(key_json(dev_keypair(dev_name), with_seed=True), indent=2))
        return 0
    if path is None:
        raise ConfigError("key inspect needs a key FILE or --dev NAME")
    keypair = read_key_file(path)
    body = {**key_json(keypair, with_seed=False), "file": str(path)}
    if not is_private(path):
        print(f"warning: {path} is readable by other users; chmod 600 it", file=sys.stderr)
    print(json.dumps(body, indent=2))
    return 0


def build_spec(chain: str, validators: str | None = None) -> int:
    """Print a chain spec as JSON; `validators` (comma-separated dev names) replaces its validator set."""
    spec = load_spec(chain)
    if validators is not None:
        names = [n.strip() for n in validators.split(",") if n.strip()]
        if not names or len(set(names)) != len(names):
            raise ConfigError("--validators needs distinct comma-separated names, e.g. alice,bob,charlie")
        spec = spec.with_validators(dev_validators(names))
    print(json.dumps(spec.to_json(), indent=2))
    return 0


def export_blocks(chain: str, db_path: Path, output: Path) -> int:
    """Write every best-chain block from #0 to a block file."""
    opened = open_chain(load_spec(chain), db_path, create=False)
    try:
        with open(output, "wb") as stream:
            count = write_block_file(stream, opened.chaindb.iter_blocks())
        head = opened.chaindb.head
    except ChainDbError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        opened.close()
    print(f"Exported {count} blocks (#0..#{head.best.number}) to {output}; best 0x{head.best_hash.hex()}")
    return 0


def import_blocks(chain: str, db_path: Path, source: Path) -> int:
    """Re-execute the blocks of a block file into the chain database; exit code 1 at the first bad one."""
    opened = open_chain(load_spec(chain), db_path, create=True)
    importer = BlockImporter(opened.runtime, opened.chaindb, Metrics())
    try:
        with open(source, "rb") as stream:
            imported, known = importer.import_stream(stream)
    except BadBlock as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror}") from exc
    finally:
        head = opened.chaindb.head
        opened.close()
    print(
        f"Imported {imported} blocks ({known} already known); best #{head.best.number} "
        f"0x{head.best_hash.hex()} state root 0x{head.best.state_root.hex()}"
    )
    return 0


def purge_chain(db_path: Path, yes: bool) -> int:
    """Delete a chain database (after confirmation unless `yes`)."""
    if not db_path.exists():
        print(f"{db_path} does not exist; nothing to purge")
        return 0
    if not yes:
        answer = input(f"Are you sure to remove {db_path}? [y/N]: ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Aborted")
            return 1
    shutil.rmtree(db_path)
    print(f"{db_path} removed")
    return 0


def _block_ref(at: str | None) -> int | bytes | None:
    """--at: a block number or a 0x-prefixed 32-byte hash."""
    if at is None:
        return None
    text = at.strip()
    if text.isdigit():
        return int(text)
    try:
        raw = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"--at: expected a block number or a 0x-prefixed 32-byte hash, got {at!r}")
    return raw


def export_proof(chain: str, db_path: Path, model: int, version: int, at: str | None, out: Path) -> int:
    """Write the provenance proof of a model version at a certified block (the node must be stopped)."""
    spec = load_spec(chain)
    block = _block_ref(at)
    opened = open_chain(spec, db_path, create=False)
    try:
        proof = make_proof(spec, opened.runtime, opened.chaindb, model, version, block)
    except (ProvenanceError, ChainDbError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        opened.close()
    try:
        out.write_text(json.dumps(proof, indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror}") from exc
    block_info = proof["block"]["fields"]
    print(f"Wrote the proof of model {model} version {version} at block #{block_info['number']} to {out}")
    return 0


def verify_proof(path: Path, chain_spec: str) -> int:
    """Check a proof file offline against a chain spec; print what it proves (exit 1 if refused)."""
    spec = load_spec(chain_spec)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        proven = verify_proof_file(load_proof(text), spec)
    except ProvenanceError as exc:
        print(f"error: proof refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"verified": True, **proven.summary()}, indent=2))
    return 0
