"""Tests for service.pool: ready and future queues, priorities, limits, replacement and revalidation."""

from __future__ import annotations

from typing import Any

import pytest

from cmu.node.pool import AlreadyImported, PoolFull, PoolLimits, PoolTx, TooLowPriority, TransactionPool
from pallets.balances import Balances
from runtime.crypto import Keypair, blake2_256, dev_keypair
from runtime.errors import StaleNonce
from runtime.executive import Runtime
from runtime.extrinsic import Era, sign_extrinsic
from runtime.genesis import dev_spec
from runtime.storage.backend import MemoryBackend
from runtime.types import AccountId

BOB = dev_keypair("bob").account


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(dev_spec(), MemoryBackend(), autoload=False)


class Recorder:
    """Collects pool status reports."""

    def __init__(self) -> None:
        self.statuses: list[tuple[bytes, Any]] = []

    def __call__(self, tx_hash: bytes, status: Any) -> None:
        self.statuses.append((tx_hash, status))

    def of(self, tx_hash: bytes) -> list[Any]:
        return [s for h, s in self.statuses if h == tx_hash]


def make_pool(limits: PoolLimits | None = None) -> tuple[TransactionPool, Recorder]:
    recorder = Recorder()
    return TransactionPool(limits, on_status=recorder), recorder


def signed(
    rt: Runtime, key: Keypair, nonce: int, tip: int = 0, amount: int = 10**9, era: Era | None = None
) -> bytes:
    spec = Balances.call_specs["transfer"]
    call_wire = [spec.pallet_index, spec.index, [bytes(BOB), amount]]
    kwargs: dict[str, Any] = {}
    if era is not None:
        kwargs = {"era": era, "birth_hash": rt.genesis_hash}
    return sign_extrinsic(
        key,
        call_wire,
        nonce=nonce,
        genesis_hash=rt.genesis_hash,
        spec_version=rt.VERSION.spec_version,
        tip=tip,
        **kwargs,
    )


def insert(pool: TransactionPool, rt: Runtime, data: bytes) -> tuple[bytes, str]:
    tx_hash = blake2_256(data)
    status = pool.insert(tx_hash, rt.validate_transaction(data), epoch=pool.epoch, nonce_now=lambda _a: 0)
    return tx_hash, status


def test_insert_works_and_reports_ready(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    tx_hash, status = insert(pool, runtime, signed(runtime, dev_keypair("alice"), 0))
    assert status == "ready"
    assert recorder.of(tx_hash) == ["ready"]
    assert (len(pool), pool.ready_count, pool.future_count) == (1, 1, 0)


def test_insert_gap_is_future_until_filled(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    alice = dev_keypair("alice")
    later, status = insert(pool, runtime, signed(runtime, alice, 1))
    assert status == "future" and pool.future_count == 1
    first, status = insert(pool, runtime, signed(runtime, alice, 0))
    assert status == "ready"
    assert pool.ready_count == 2
    assert recorder.of(later) == ["future", "ready"]
    assert [tx.hash for tx in pool.ready_in_order(10)] == [first, later]


def test_ready_in_order_by_tip_then_arrival_keeping_nonce_order(runtime: Runtime) -> None:
    pool, _ = make_pool()
    alice, charlie, dave = dev_keypair("alice"), dev_keypair("charlie"), dev_keypair("dave")
    a0, _ = insert(pool, runtime, signed(runtime, alice, 0, tip=1))
    a1, _ = insert(pool, runtime, signed(runtime, alice, 1, tip=100))
    c0, _ = insert(pool, runtime, signed(runtime, charlie, 0, tip=5))
    d0, _ = insert(pool, runtime, signed(runtime, dave, 0, tip=5))
    order = [tx.hash for tx in pool.ready_in_order(10)]
    assert order == [c0, d0, a0, a1]  # equal tips by arrival; alice's 1 after her 0 despite its tip
    assert [tx.hash for tx in pool.ready_in_order(2)] == [c0, d0]


def test_insert_fails_when_duplicate(runtime: Runtime) -> None:
    pool, _ = make_pool()
    data = signed(runtime, dev_keypair("alice"), 0)
    insert(pool, runtime, data)
    with pytest.raises(AlreadyImported):
        insert(pool, runtime, data)


def test_insert_replaces_same_nonce_with_higher_tip(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    alice = dev_keypair("alice")
    low, _ = insert(pool, runtime, signed(runtime, alice, 0, tip=1))
    with pytest.raises(TooLowPriority):
        insert(pool, runtime, signed(runtime, alice, 0, tip=1, amount=5 * 10**9))
    high, _ = insert(pool, runtime, signed(runtime, alice, 0, tip=2))
    assert low not in pool and high in pool
    assert "dropped" in recorder.of(low)[-1]
    assert pool.ready_count == 1


def test_insert_fails_when_sender_or_pool_full(runtime: Runtime) -> None:
    pool, _ = make_pool(PoolLimits(total=3, per_sender=2))
    alice, charlie = dev_keypair("alice"), dev_keypair("charlie")
    insert(pool, runtime, signed(runtime, alice, 0))
    insert(pool, runtime, signed(runtime, alice, 1))
    with pytest.raises(PoolFull):
        insert(pool, runtime, signed(runtime, alice, 2))
    insert(pool, runtime, signed(runtime, charlie, 0))
    with pytest.raises(PoolFull):
        insert(pool, runtime, signed(runtime, dev_keypair("dave"), 0))


def test_insert_rereads_nonce_after_a_block(runtime: Runtime) -> None:
    pool, _ = make_pool()
    data = signed(runtime, dev_keypair("alice"), 0)
    checked = runtime.validate_transaction(data)
    pool.on_block(1, [], lambda _a: None, _none, _none)  # a block came while validating
    with pytest.raises(StaleNonce):
        pool.insert(blake2_256(data), checked, epoch=0, nonce_now=lambda _a: 1)


def test_on_block_removes_included_and_promotes(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    alice = dev_keypair("alice")
    h0, _ = insert(pool, runtime, signed(runtime, alice, 0))
    h1, _ = insert(pool, runtime, signed(runtime, alice, 1))
    h3, _ = insert(pool, runtime, signed(runtime, alice, 3))
    new_nonce = {alice.account: 1}
    pool.on_block(1, [(h0, {"inBlock": "0x01"})], new_nonce.get, _stale, _none)
    assert h0 not in pool and pool.ready_count == 1 and pool.future_count == 1
    assert recorder.of(h0)[-1] == {"inBlock": "0x01"}
    assert recorder.of(h1) == ["ready"]  # no second "ready" for a transaction that stayed ready
    h2, status = insert(pool, runtime, signed(runtime, alice, 2))
    assert status == "ready" and recorder.of(h3)[-1] == "ready"
    assert [tx.hash for tx in pool.ready_in_order(10)] == [h1, h2, h3]


def test_on_block_drops_stale_transactions(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    alice = dev_keypair("alice")
    h0, _ = insert(pool, runtime, signed(runtime, alice, 0))
    h1, _ = insert(pool, runtime, signed(runtime, alice, 1))
    pool.on_block(1, [], {alice.account: 1}.get, _stale, _none)  # nonce 0 used by another transaction
    assert h0 not in pool and recorder.of(h0)[-1] == {"invalid": "stale"}
    assert h1 in pool and pool.ready_count == 1


def test_on_block_drops_expired_eras(runtime: Runtime) -> None:
    pool, recorder = make_pool()
    short = signed(runtime, dev_keypair("alice"), 0, era=Era(0, 4))
    # era (0, 4) is valid in blocks 1..3: the validator checks against block 1, the pool expires it later
    tx_hash, _ = insert(pool, runtime, short)
    pool.on_block(2, [], lambda _a: None, _none, _expired)
    assert tx_hash in pool
    pool.on_block(3, [], lambda _a: None, _none, _expired)
    assert tx_hash not in pool and recorder.of(tx_hash)[-1] == {"invalid": "expired"}
    assert (pool.ready_count, len(pool)) == (0, 0)


def test_next_nonce_counts_ready_transactions(runtime: Runtime) -> None:
    pool, _ = make_pool()
    alice = dev_keypair("alice")
    insert(pool, runtime, signed(runtime, alice, 0))
    insert(pool, runtime, signed(runtime, alice, 1))
    insert(pool, runtime, signed(runtime, alice, 5))
    assert pool.next_nonce(alice.account, 0) == 2
    assert pool.next_nonce(AccountId(bytes(32)), 7) == 7


def test_pending_lists_ready_then_future(runtime: Runtime) -> None:
    pool, _ = make_pool()
    alice = dev_keypair("alice")
    later, _ = insert(pool, runtime, signed(runtime, alice, 4))
    first, _ = insert(pool, runtime, signed(runtime, alice, 0))
    assert [tx.hash for tx in pool.pending()] == [first, later]


def _none(_tx: PoolTx) -> None:
    return None


def _stale(_tx: PoolTx) -> dict[str, str]:
    return {"invalid": "stale"}


def _expired(_tx: PoolTx) -> dict[str, str]:
    return {"invalid": "expired"}


def test_on_block_drops_future_transactions_that_waited_too_long(runtime: Runtime) -> None:
    pool, recorder = make_pool(PoolLimits(future_ttl_s=0.0))
    alice = dev_keypair("alice")
    ready, _ = insert(pool, runtime, signed(runtime, alice, 0))
    future, _ = insert(pool, runtime, signed(runtime, dev_keypair("charlie"), 3))
    pool.on_block(1, [], lambda _a: None, _none, _expired)
    assert ready in pool and future not in pool
    assert "dropped" in recorder.of(future)[-1]
