"""A chain seen through one node: metadata-driven calls, signing, submission (watched to a block),
storage queries, blocks and events. The CLI is a thin shell over this class."""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cmu.client.convert import to_wire
from cmu.client.errors import ArgumentError, ProtocolError, RpcError, TransactionFailed, TransactionRejected
from cmu.client.metadata import Metadata
from cmu.client.rpc import Client
from runtime.crypto import Keypair, blake2_256
from runtime.extrinsic import IMMORTAL_ERA, Era, sign_extrinsic

_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
METHOD_NOT_FOUND = -32601


def hex_of(data: bytes) -> str:
    """0x-prefixed lowercase hex."""
    return "0x" + data.hex()


def from_hex(text: Any, what: str) -> bytes:
    """Bytes of a node's 0x-hex string (ProtocolError otherwise)."""
    if not isinstance(text, str) or not text.startswith("0x"):
        raise ProtocolError(f"{what}: expected 0x-hex, got {text!r}")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise ProtocolError(f"{what}: expected 0x-hex, got {text!r}") from None


@dataclasses.dataclass
class Receipt:
    """What became of a watched extrinsic: its block, index there, success, error and events."""

    hash: str
    block_hash: str
    block_number: int | None
    index: int | None
    success: bool
    error: str | None
    message: str
    events: list[dict[str, Any]]
    finalized: bool = False

    def to_json(self) -> dict[str, Any]:
        """The --json form."""
        return {
            "hash": self.hash,
            "block": self.block_hash,
            "blockNumber": self.block_number,
            "index": self.index,
            "success": self.success,
            "error": self.error,
            "message": self.message,
            "finalized": self.finalized,
            "events": self.events,
        }


@dataclasses.dataclass(frozen=True)
class StorageResult:
    """A storage query's key, raw value (None when absent) and decoded JSON value (default if absent)."""

    key: str
    raw: str | None
    value: Any

    @property
    def exists(self) -> bool:
        """Whether a value is stored (False: `value` is the item's default)."""
        return self.raw is not None


class Chain:
    """A node's chain: `compose` and `sign` calls, `submit` them, `query` storage, read blocks and events."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @functools.cached_property
    def metadata(self) -> Metadata:
        """The runtime metadata (fetched once)."""
        return Metadata(self.client.request("state_getMetadata"))

    # --- transactions ----------------------------------------------------------------------------

    def compose(self, name: str, args: Mapping[str, Any]) -> list[Any]:
        """The wire form of `Pallet.call` with arguments given as strings or JSON values."""
        return self.metadata.encode_call(name, args)

    def sign(
        self,
        keypair: Keypair,
        call_wire: list[Any],
        *,
        tip: int = 0,
        nonce: int | None = None,
        mortal: int | None = None,
    ) -> bytes:
        """A signed extrinsic: nonce, genesis hash and spec version are fetched in one batch request."""
        next_index, genesis, version = self.client.batch(
            [
                ("system_accountNextIndex", [hex_of(keypair.account)]),
                ("chain_getBlockHash", [0]),
                ("state_getRuntimeVersion", []),
            ]
        )
        era, birth = IMMORTAL_ERA, None
        if mortal:
            header = self.client.request("chain_getHeader")
            era, birth = Era.mortal(int(header["number"]), mortal), from_hex(header["hash"], "head hash")
        return sign_extrinsic(
            keypair,
            call_wire,
            nonce=int(next_index) if nonce is None else nonce,
            genesis_hash=from_hex(genesis, "genesis hash"),
            spec_version=int(version["specVersion"]),
            tip=tip,
            era=era,
            birth_hash=birth,
        )

    def submit(self, extrinsic: bytes) -> str:
        """Submit to the pool; the extrinsic hash. TransactionRejected if the node refuses it."""
        return str(self.client.request("author_submitExtrinsic", [hex_of(extrinsic)]))

    def submit_and_watch(
        self, extrinsic: bytes, *, timeout: float = 60.0, finalized: bool = False
    ) -> Receipt:
        """Submit and wait until the extrinsic is in a block (or finalized); the receipt says how it went.

        Raises TransactionRejected when the node refuses it, TransactionFailed when it is dropped, and
        TimeoutError when nothing conclusive arrives within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        in_block: dict[str, Any] | None = None
        with self.client.subscribe("author_submitAndWatchExtrinsic", [hex_of(extrinsic)]) as updates:
            while True:
                status = updates.next(max(0.0, deadline - time.monotonic()))
                in_block = _check_status(status, in_block)
                if in_block is not None and (not finalized or "finalized" in in_block):
                    break
        return self.receipt(extrinsic, in_block)

    def receipt(self, extrinsic: bytes, status: Mapping[str, Any]) -> Receipt:
        """The receipt of an extrinsic known to be in block status["inBlock"]."""
        block_hash = str(status["inBlock"])
        block = self.client.request("chain_getBlock", [block_hash])["block"]
        wanted = hex_of(extrinsic).lower()
        index = next((i for i, x in enumerate(block["extrinsics"]) if str(x).lower() == wanted), None)
        events = [e for e in self.events(block_hash) if index is not None and e.get("phase") == index]
        failed = next((e for e in events if (e["pallet"], e["event"]) == ("System", "ExtrinsicFailed")), None)
        error = status.get("error") or _field(failed, "error")
        success = bool(status.get("success", failed is None)) and error is None
        message = str(_field(failed, "message") or "")
        return Receipt(
            hash=hex_of(blake2_256(extrinsic)),
            block_hash=block_hash,
            block_number=block["header"].get("number"),
            index=index,
            success=success,
            error=None if success else str(error or "ExtrinsicFailed"),
            message=message or (self.error_doc(str(error)) if error else ""),
            events=events,
            finalized="finalized" in status,
        )

    def error_doc(self, name: str) -> str:
        """The documentation of a pallet error `Pallet.Error` from the metadata ("" if unknown)."""
        pallet_name, _, error_name = name.partition(".")
        try:
            pallet = self.metadata.pallet(pallet_name)
        except ArgumentError:
            return ""
        return next((str(e.get("doc", "")) for e in pallet.get("errors", []) if e["name"] == error_name), "")

    # --- reads -----------------------------------------------------------------------------------

    def query(self, name: str, keys: Sequence[Any] = (), at: str | None = None) -> StorageResult:
        """A storage item's value at `keys` (the item's default when absent), at block `at` or the head."""
        key = self.metadata.storage_key(name, keys)
        params: list[Any] = [hex_of(key)] + ([at] if at else [])
        raw = self.client.request("state_getStorage", params)
        data = None if raw is None else from_hex(raw, "storage value")
        return StorageResult(hex_of(key), raw, self.metadata.decode_storage(name, data))

    def block_hash(self, ref: str | int | None = None) -> str:
        """The hash of a block given by number or hash (the best block when None)."""
        if ref is None or ref == "":
            return str(self.client.request("chain_getBlockHash"))
        text = str(ref).strip()
        if _HASH.match(text):
            return text.lower()
        if text.isdigit():
            found = self.client.request("chain_getBlockHash", [int(text)])
            if found is None:
                raise ArgumentError(f"the node has no block #{text}")
            return str(found)
        raise ArgumentError(f"expected a block number or a 0x-hash of 32 bytes, got {text!r}")

    def block(self, ref: str | int | None = None) -> dict[str, Any]:
        """A block with its extrinsics decoded by the metadata."""
        block_hash = self.block_hash(ref)
        found = self.client.request("chain_getBlock", [block_hash])
        if found is None:
            raise ArgumentError(f"the node has no block {block_hash}")
        block = found["block"]
        extrinsics = [self.metadata.decode_extrinsic(from_hex(x, "extrinsic")) for x in block["extrinsics"]]
        return {"header": block["header"], "extrinsics": extrinsics, "seal": block.get("seal")}

    def events(self, block_hash: str) -> list[dict[str, Any]]:
        """A block's events: chain_getEvents, or System.events decoded here if the node lacks it."""
        try:
            events = self.client.request("chain_getEvents", [block_hash])
        except RpcError as exc:
            if exc.code != METHOD_NOT_FOUND:
                raise
            raw = self.query("System.events", (), at=block_hash).value
            return self.metadata.decode_events(from_hex(raw, "System.events"))
        return [self.metadata.normalize_event(e) for e in events or []]

    def account(self, who: str) -> dict[str, Any]:
        """An account's System.account record (nonce and balances) with its address."""
        address = hex_of(to_wire({"type": "account"}, who, "account"))
        result = self.query("System.account", [address])
        value = result.value if isinstance(result.value, dict) else {"value": result.value}
        return {"account": address, **value}


def _field(event: Mapping[str, Any] | None, name: str) -> Any:
    fields = event.get("fields") if event else None
    return fields.get(name) if isinstance(fields, dict) else None


def _check_status(status: Any, in_block: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fold one author_extrinsicUpdate into the in-block status so far (raising on a refusal)."""
    if not isinstance(status, dict):
        return in_block  # "ready", "future", "broadcast"
    if "invalid" in status:
        data = status["invalid"] if isinstance(status["invalid"], dict) else {"error": str(status["invalid"])}
        raise TransactionRejected(1010, str(data.get("message", "invalid transaction")), data)
    if "dropped" in status:
        raise TransactionFailed("Dropped", str(status["dropped"] or "dropped from the pool"), status)
    if "usurped" in status:
        raise TransactionFailed("Usurped", f"replaced by {status['usurped']}", status)
    if "retracted" in status:
        return None  # its block left the best chain: wait for the next inclusion
    if "inBlock" in status:
        return dict(status)
    if "finalized" in status:
        merged = dict(in_block or {"inBlock": status["finalized"]})
        merged["finalized"] = status["finalized"]
        return merged
    return in_block
