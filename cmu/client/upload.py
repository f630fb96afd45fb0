"""Pipelined artifact uploads: the chunks of an upload are signed with consecutive nonces tracked here and
submitted without waiting for each one's block, so one block carries as many as its limits allow.

At most `window` chunk extrinsics are in the pool at a time (a sender's share of the pool is limited); a
refused one is sent again (PoolFull: once the window drains; a nonce taken meanwhile: with a fresh nonce).
Before finish_upload the chain itself is asked which chunks it holds, and any missing one is sent again,
so a chunk lost on the way costs a retry, not the upload.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from cmu.client.chain import Chain, Receipt, from_hex, hex_of
from cmu.client.errors import RpcError, TransactionFailed, TransactionRejected
from runtime.crypto import Keypair
from runtime.extrinsic import sign_extrinsic

Progress = Callable[[int, int], None]
"""Called with (bytes sent, total bytes) as chunks reach the chain."""
WINDOW = 48
"""Chunk extrinsics in flight at once (below the node's default per-sender pool share of 64)."""
SUBMIT_BATCH = 8
"""Chunks per author_submitExtrinsic batch request (8 x 128 KiB of hex, well under the 10 MiB body limit)."""
POLL_S = 0.05
POOL_FULL = 1016
TOO_LOW_PRIORITY = 1014
ALREADY_IMPORTED = 1013
MAX_ROUNDS = 3
"""How often the missing chunks of an upload are sent again before giving up."""


@dataclasses.dataclass
class _Signer:
    """Signs calls with nonces counted here (the node is asked only at the start and after a refusal)."""

    chain: Chain
    keypair: Keypair
    genesis: bytes
    spec_version: int
    nonce: int

    @classmethod
    def start(cls, chain: Chain, keypair: Keypair) -> _Signer:
        """Fetch the account's next nonce, the genesis hash and the spec version in one batch."""
        next_index, genesis, version = chain.client.batch(
            [
                ("system_accountNextIndex", [hex_of(keypair.account)]),
                ("chain_getBlockHash", [0]),
                ("state_getRuntimeVersion", []),
            ]
        )
        genesis_hash = from_hex(genesis, "genesis hash")
        return cls(chain, keypair, genesis_hash, int(version["specVersion"]), int(next_index))

    def sign(self, name: str, args: dict[str, Any]) -> bytes:
        wire = self.chain.compose(name, args)
        signed = sign_extrinsic(
            self.keypair, wire, nonce=self.nonce, genesis_hash=self.genesis, spec_version=self.spec_version
        )
        self.nonce += 1
        return signed

    def resync(self) -> None:
        """Take the node's next nonce (another transaction of this account took ours)."""
        self.nonce = int(self.chain.client.request("system_accountNextIndex", [hex_of(self.keypair.account)]))

    def committed_nonce(self) -> int:
        return int(self.chain.account(hex_of(self.keypair.account))["nonce"])


class ChunkSender:
    """Sends the chunks of one begun upload, pipelined, until the chain holds every one."""

    def __init__(
        self,
        chain: Chain,
        keypair: Keypair,
        upload: int,
        pieces: Sequence[bytes],
        *,
        timeout: float,
        progress: Progress | None = None,
        window: int = WINDOW,
    ) -> None:
        self.chain = chain
        self.signer = _Signer.start(chain, keypair)
        self.upload = upload
        self.pieces = pieces
        self.timeout = timeout
        self.progress = progress or (lambda _done, _total: None)
        self.window = window
        self.total = sum(len(p) for p in pieces)

    def send_and_finish(self) -> Receipt:
        """Send every chunk, then finish_upload right behind them (no wait for the chunks' block); if the
        chain misses chunks, send those again and finish again. The successful finish_upload's receipt."""
        self._send(list(range(len(self.pieces))), wait=False)
        receipt = self._finish()
        for _round in range(MAX_ROUNDS):
            if receipt.success or not str(receipt.error).endswith("UploadIncomplete"):
                break
            self._send(self._missing(), wait=True)
            receipt = self._finish()
        if not receipt.success:
            raise TransactionFailed(receipt.error or "Failed", f"finish_upload: {receipt.message}")
        self.progress(self.total, self.total)
        return receipt

    def _finish(self) -> Receipt:
        """Submit finish_upload behind the chunks and watch it (a full pool is waited out)."""
        deadline = time.monotonic() + self.timeout
        resyncs = 0
        while True:
            extrinsic = self.signer.sign("ModelRegistry.finish_upload", {"upload": self.upload})
            try:
                return self.chain.submit_and_watch(extrinsic, timeout=self.timeout)
            except RpcError as exc:
                self.signer.nonce -= 1
                if time.monotonic() > deadline or resyncs >= MAX_ROUNDS:
                    raise
                if exc.code == POOL_FULL:
                    time.sleep(POLL_S * 4)
                elif isinstance(exc, TransactionRejected) and exc.error in ("StaleNonce", "Stale"):
                    resyncs += 1
                    self.signer.resync()
                else:
                    raise

    # --- one round -------------------------------------------------------------------------------

    def _send(self, indices: list[int], *, wait: bool) -> None:
        """Submit the chunks in batches, keeping at most `window` of them pooled (with `wait`, until a block
        took them all)."""
        base = self.signer.committed_nonce()
        position = 0
        deadline = time.monotonic() + self.timeout
        while position < len(indices):
            in_flight = self.signer.nonce - self._wait_below(base, self.signer.nonce - self.window)
            room = max(1, min(SUBMIT_BATCH, self.window - in_flight))
            batch = indices[position : position + room]
            sent = len(batch) - len(self._submit(batch))
            if sent:
                position, deadline = position + sent, time.monotonic() + self.timeout
            elif time.monotonic() > deadline:
                raise TimeoutError(f"the node took none of the upload's chunks for {self.timeout:.0f} s")
        if wait:
            self._wait_below(base, self.signer.nonce)

    def _submit(self, indices: list[int]) -> list[int]:
        """Sign and submit chunks; the ones refused for a reason worth a retry (the rest raise)."""
        extrinsics = [self._sign_chunk(i) for i in indices]
        calls = [("author_submitExtrinsic", [hex_of(x)]) for x in extrinsics]
        answers = self.chain.client.batch(calls, return_exceptions=True)
        for offset, answer in enumerate(answers):
            if isinstance(answer, RpcError) and not _harmless(answer):
                self._recover(answer)
                # the same chunk with the same nonce signs to the same bytes (ed25519 is deterministic), so
                # after a full pool the rest is sent again as it was: what got in answers AlreadyImported
                self.signer.nonce -= len(indices) - offset
                if answer.code != POOL_FULL:
                    self.signer.resync()  # another transaction took the nonce
                return indices[offset:]
        return []

    def _sign_chunk(self, index: int) -> bytes:
        args = {"upload": self.upload, "index": index, "data": hex_of(self.pieces[index])}
        return self.signer.sign("ModelRegistry.upload_chunk", args)

    def _recover(self, error: RpcError) -> None:
        """Wait out a full pool; a taken or used nonce is resynced by the caller; anything else fails."""
        if error.code == POOL_FULL:
            time.sleep(POLL_S * 4)
            return
        if error.code == TOO_LOW_PRIORITY:
            return
        if isinstance(error, TransactionRejected) and error.error in ("StaleNonce", "Stale"):
            return
        raise error

    def _wait_below(self, base: int, target: int) -> int:
        """Wait until the committed nonce reaches `target` (if above `base`); the committed nonce."""
        deadline = time.monotonic() + self.timeout
        while True:
            committed = self.signer.committed_nonce()
            self.progress(min(self.total, max(0, committed - base) * len(self.pieces[0])), self.total)
            if committed >= target:
                return committed
            if time.monotonic() > deadline:
                raise TimeoutError(f"no block took the upload's chunks within {self.timeout:.0f} s")
            time.sleep(POLL_S)

    def _missing(self) -> list[int]:
        """The chunk indices the chain does not hold for this upload."""
        state = self.chain.query("ModelRegistry.uploads", [self.upload]).value
        if isinstance(state, dict) and int(state.get("received", -1)) == len(self.pieces):
            return []
        return [
            i
            for i in range(len(self.pieces))
            if not self.chain.query("ModelRegistry.upload_chunks", [self.upload, i]).exists
        ]


def _harmless(error: RpcError) -> bool:
    """A submission answered with an error that still leaves the extrinsic pooled."""
    return error.code == ALREADY_IMPORTED
