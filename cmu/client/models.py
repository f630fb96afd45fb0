"""Model operations over RPC: chunked artifact uploads, verified downloads and predictions.

A download is trusted only after it checks out against the chain: the node's read proof must verify
against the state root of a header fetched separately (never the root the answer states), the manifest
and every chunk must be the values that proof proves, and the reassembled bytes must hash to the
artifact root. Anything else raises DownloadRefused (ArtifactMismatch for bytes that don't hash).

Given a signer, predictions and downloads are signed queries (cmu/formats/signed_query.py): the way
a Reader of a permissioned model proves who asks. Every page of a download is signed afresh.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from cmu.client.chain import Chain, Receipt, from_hex, hex_of
from cmu.client.errors import ClientError, TransactionFailed
from cmu.client.upload import ChunkSender, Progress
from cmu.formats import artifact as art
from cmu.formats import signed_query
from runtime.crypto import Keypair, blake2_256
from runtime.trie import ProofError, verify_proof_multi
from runtime.types import decode

Fetch = Callable[[str, list[Any]], Any]


class DownloadRefused(ClientError):
    """A downloaded artifact does not check out against the chain's state root and artifact root."""


@dataclasses.dataclass(frozen=True)
class Download:
    """Verified artifact bytes and what they were checked against."""

    root: bytes
    data: bytes
    block_hash: str
    state_root: bytes


def _event_field(receipt: Receipt, event: str, field: str, pallet: str = "ModelRegistry") -> Any:
    for record in receipt.events:
        if record.get("pallet") == pallet and record.get("event") == event:
            return record["fields"][field]
    raise TransactionFailed("MissingEvent", f"no {pallet}.{event} event in the receipt")


def genesis_hash(chain: Chain) -> bytes:
    """The chain's genesis hash (from the metadata, else block 0)."""
    found = chain.metadata.genesis_hash()
    return found if found is not None else from_hex(chain.client.request("chain_getBlockHash", [0]), "hash")


def signed(chain: Chain, signer: Keypair | None, method: str, values: list[Any]) -> list[Any]:
    """The positional params of a model query, with a fresh `auth` appended when there is a signer."""
    if signer is None:
        return values
    params = signed_query.named_params(method, values)
    ref = values[0]
    model = ref if isinstance(ref, int) and not isinstance(ref, bool) else None
    auth = signed_query.sign_query(signer, method, params, model, genesis_hash(chain), _timestamp_ms())
    return [*values, auth]


_last_ms = [0]
_last_lock = threading.Lock()


def _timestamp_ms() -> int:
    """Now in ms, strictly increasing within this process: the same query sent twice in one millisecond
    is then two distinct signatures (the node refuses a repeated one as a replay)."""
    with _last_lock:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return _last_ms[0]


def predict(
    chain: Chain,
    model: int,
    rows: list[Any],
    *,
    at: str | None = None,
    fixed: bool = False,
    version: int | str | None = None,
    signer: Keypair | None = None,
) -> dict[str, Any]:
    """model_predict on the node at `version` (default: the node's), signed when a signer is given."""
    answer: dict[str, Any] = chain.client.request(
        "model_predict", signed(chain, signer, "model_predict", [model, rows, at, fixed, version])
    )
    return answer


def _watch(chain: Chain, keypair: Keypair, name: str, args: dict[str, Any], timeout: float) -> Receipt:
    receipt = chain.submit_and_watch(chain.sign(keypair, chain.compose(name, args)), timeout=timeout)
    if not receipt.success:
        raise TransactionFailed(receipt.error or "Failed", f"{name}: {receipt.message}")
    return receipt


def upload_artifact(
    chain: Chain, keypair: Keypair, data: bytes, *, timeout: float = 60.0, progress: Progress | None = None
) -> bytes:
    """Upload bytes as an artifact and return its root: begin_upload, then the chunks pipelined (many a
    block, see cmu/client/upload.py) with finish_upload behind them; `progress(sent, total)` follows the
    bytes.
    Bytes already stored are claimed instead (one extrinsic holding the same deposit); nothing is sent if
    the signer holds a claim."""
    root = art.artifact_root(data)
    if chain.query("ModelRegistry.artifacts", [hex_of(root)]).exists:
        claim_keys = [hex_of(root), hex_of(bytes(keypair.account))]
        if not chain.query("ModelRegistry.claims", claim_keys).exists:
            _watch(chain, keypair, "ModelRegistry.claim_artifact", {"root": hex_of(root)}, timeout)
        return root
    begun = _watch(
        chain, keypair, "ModelRegistry.begin_upload", {"root": hex_of(root), "size": len(data)}, timeout
    )
    upload = int(_event_field(begun, "UploadStarted", "upload"))
    sender = ChunkSender(chain, keypair, upload, art.split_chunks(data), timeout=timeout, progress=progress)
    sender.send_and_finish()
    return root


def download_artifact(
    chain: Chain,
    artifact: int | bytes,
    *,
    at: str | None = None,
    fetch: Fetch | None = None,
    version: int | str | None = None,
    signer: Keypair | None = None,
) -> Download:
    """Download and verify an artifact (by root), or a model's weights (by id) at `version` (a number or a
    channel; by default the node's: stable when set, else latest, on a chain with Versioning). Every page
    is asked for with the same reference at the first page's block (signed queries given a signer)."""
    call = fetch or (lambda method, params: chain.client.request(method, params))
    ref: Any = artifact if isinstance(artifact, int) else hex_of(artifact)
    first = call("model_download", signed(chain, signer, "model_download", [ref, 0, 16, at, version]))
    block_hash = str(first["at"])
    header = chain.client.request("chain_getHeader", [block_hash])
    state_root = from_hex(header["stateRoot"], "state root")
    root = from_hex(first["root"], "artifact root")
    rebuilt = first.get("manifestKey") is None
    if first.get("versionKey") is not None:
        _check_version_record(chain, first, state_root, root, required=rebuilt)
    pieces, page = [], first
    while True:
        pieces.extend(_rebuilt_page(page) if rebuilt else _verified_page(chain, page, state_root, root))
        if len(pieces) >= int(page["chunkCount"]):
            break
        pinned = int(first["version"]) if isinstance(ref, int) and "version" in first else version
        again = [ref, len(pieces), 16, block_hash, pinned]
        page = call("model_download", signed(chain, signer, "model_download", again))
        if page.get("root") != hex_of(root):
            raise DownloadRefused("a later page of the download is of another artifact")
    data = b"".join(pieces)
    try:
        art.verify_artifact(data, root)
    except art.ArtifactMismatch as exc:
        raise DownloadRefused(str(exc)) from exc
    return Download(root, data, block_hash, state_root)


def _check_version_record(
    chain: Chain, page: dict[str, Any], state_root: bytes, root: bytes, *, required: bool
) -> None:
    """The version record proven under `state_root` names `root` (required for rebuilt bytes, which
    have no stored manifest: the record's root is then all that vouches for them). The record is decoded
    with the chain's own metadata (Versioning.versions), not with pallet code."""
    key = from_hex(page["versionKey"], "version key")
    proof = [from_hex(node, "proof node") for node in page["proof"]]
    try:
        raw = verify_proof_multi(state_root, [key], proof)[key]
    except (ProofError, KeyError) as exc:
        raise DownloadRefused(f"the version record's proof does not verify: {exc}") from exc
    if raw is None:  # version 0 of a model Versioning has not touched: only its stored artifact vouches
        if required:
            raise DownloadRefused("no version record in the state of that block vouches for these bytes")
        return
    record = _proven_value(chain, "Versioning.versions", raw, "version record")
    if record.get("artifact") != hex_of(root) or record.get("number") != int(page["version"]):
        raise DownloadRefused("the proven version record names another artifact root or version")


def _rebuilt_page(page: dict[str, Any]) -> list[bytes]:
    """The chunks of a rebuilt (delta) version: checked as a whole against the proven root afterwards."""
    return [from_hex(c, "chunk") for c in page["chunks"]]


def _proven_value(chain: Chain, item: str, raw: bytes, what: str) -> dict[str, Any]:
    """A proven storage value decoded with the chain's metadata (DownloadRefused if it does not decode)."""
    try:
        value = chain.metadata.decode_storage(item, raw)
    except ClientError as exc:
        raise DownloadRefused(f"the proven {what} does not decode: {exc}") from exc
    if not isinstance(value, dict):
        raise DownloadRefused(f"the proven {what} is not a record")
    return value


def _verified_page(chain: Chain, page: dict[str, Any], state_root: bytes, root: bytes) -> list[bytes]:
    """The chunks of one page, each proven under `state_root` and matching the proven manifest."""
    keys = [from_hex(page["manifestKey"], "manifest key")] + [
        from_hex(k, "chunk key") for k in page["chunkKeys"]
    ]
    proof = [from_hex(node, "proof node") for node in page["proof"]]
    try:
        proven = verify_proof_multi(state_root, keys, proof)
    except ProofError as exc:
        raise DownloadRefused(
            f"the read proof does not verify against the block's state root: {exc}"
        ) from exc
    manifest_raw = proven[keys[0]]
    if manifest_raw is None:
        raise DownloadRefused(f"artifact 0x{root.hex()} is not in the state of that block")
    manifest = _proven_value(chain, "ModelRegistry.artifacts", manifest_raw, "manifest")
    try:
        size, hashes = int(manifest["size"]), [from_hex(h, "chunk hash") for h in manifest["chunks"]]
    except (KeyError, TypeError, ValueError, ClientError) as exc:
        raise DownloadRefused(f"the proven manifest does not decode: {exc}") from exc
    if art.root_of_hashes(size, hashes) != root:
        raise DownloadRefused("the proven manifest does not belong to this artifact root")
    return _page_chunks(page, keys[1:], proven, hashes)


def _page_chunks(
    page: dict[str, Any], keys: list[bytes], proven: dict[bytes, bytes | None], manifest_chunks: list[bytes]
) -> list[bytes]:
    start = int(page["start"])
    chunks = [from_hex(c, "chunk") for c in page["chunks"]]
    if len(chunks) != len(keys):
        raise DownloadRefused("the answer's chunks and keys do not line up")
    for offset, (chunk, key) in enumerate(zip(chunks, keys, strict=True)):
        index = start + offset
        expected = manifest_chunks[index] if index < len(manifest_chunks) else None
        if expected is None or blake2_256(chunk) != expected or proven.get(key) is None:
            raise DownloadRefused(f"chunk {index} does not match the manifest proven on chain")
        if decode(bytes, proven[key] or b"") != chunk:  # the proven state value is the encoded chunk
            raise DownloadRefused(f"chunk {index} is not the value the proof proves")
    return chunks
