"""The fee seam (runtime/fees.py, the withdraw_fee / correct_and_deposit_fee hooks): the pool and the block
refuse an unpayable fee with the same error from the same code, the charging pallet decides keep-alive,
and a chain whose pallets charge no fees refuses signed extrinsics by name."""

from __future__ import annotations

import dataclasses

import pytest

from pallets.balances import Balances
from runtime import fees
from runtime.crypto import address, dev_keypair
from runtime.errors import CannotPayFees
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.frame_system import AccountInfo
from runtime.genesis import FeeConfig, dev_spec
from runtime.pallet import Pallet, hookimpl
from runtime.storage.backend import MemoryBackend
from runtime.storage.items import StorageValue
from runtime.types import U64


def test_fee_for_and_settle() -> None:
    """fee = base + per_byte * length + per_weight * weight + tip; unused weight comes back."""
    config = FeeConfig(base=10, per_byte=2, per_weight=3)
    charged = fees.fee_for(config, length=5, weight=100, tip=7)
    assert charged == 10 + 10 + 300 + 7
    settled = fees.settle(config, charged, declared_weight=100, actual_weight=60)
    assert settled == fees.Settlement(refund=120, fee=charged - 120, author_share=charged - 120)


def _signed_remark(rt: Runtime, who: str) -> bytes:
    pair = dev_keypair(who)
    wire = rt.make_call("System.remark", remark=b"x").to_wire()
    version = rt.VERSION.spec_version
    return sign_extrinsic(pair, wire, nonce=0, genesis_hash=rt.genesis_hash, spec_version=version)


def test_pool_and_block_refuse_the_same_unpayable_fee() -> None:
    """Keep-alive comes from Balances' withdraw_fee, for the pool (rolled back) and the block alike."""
    probe = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    data = _signed_remark(probe, "payer")
    weight = probe.fees.extrinsic_base_weight + probe.make_call("System.remark", remark=b"x").weight()
    fee = fees.fee_for(probe.fees, len(data), weight, 0)
    funded = [[address(dev_keypair("payer").account), Balances.EXISTENTIAL_DEPOSIT + fee - 1]]
    spec = dev_spec()
    balances = spec.genesis["Balances"]["balances"] + funded
    spec = spec.with_pallets(genesis={"Balances": {"balances": balances}})
    rt = Runtime(spec, MemoryBackend(), autoload=False)
    data = _signed_remark(rt, "payer")
    with pytest.raises(CannotPayFees, match="existential deposit") as pooled:
        rt.validate_transaction(data)
    assert not rt.overlay.pending  # asking the pool's question wrote nothing
    builder = rt.new_block(rt.head.timestamp + 6_000, dev_keypair("alice").account)
    with pytest.raises(CannotPayFees, match="existential deposit") as applied:
        builder.push(data)
    assert str(pooled.value) == str(applied.value)
    pending = builder.finish(dev_keypair("alice"))
    assert len(pending.results) == 1  # only the timestamp inherent: the refused extrinsic left no trace
    rt.commit(pending)
    free = rt.pallet(Balances).free_balance(dev_keypair("payer").account)
    assert free == Balances.EXISTENTIAL_DEPOSIT + fee - 1


def test_a_chain_without_a_charging_pallet_refuses_signed_extrinsics() -> None:
    """No withdraw_fee implementation: CannotPayFees names it, nothing is written."""
    spec = dataclasses.replace(dev_spec(), pallets=("System",))
    rt = Runtime(spec, MemoryBackend(), autoload=False)
    alice = dev_keypair("alice")
    data = _signed_remark(rt, "alice")
    with pytest.raises(CannotPayFees, match="no pallet of this chain charges"):
        rt.validate_transaction(data)
    builder = rt.new_block(rt.head.timestamp + 6_000, alice.account)
    with pytest.raises(CannotPayFees):
        builder.push(data)
    builder.abandon()


class Sponsor(Pallet):
    """A test chain's fee payer of last resort: every fee is waived (its hooks take a subset of the args)."""

    __test__ = False
    name, index = "Sponsor", 200
    waived: StorageValue[int] = StorageValue(U64, default=0, doc="How many fees were waived.")

    @hookimpl
    def withdraw_fee(self, account: AccountInfo) -> AccountInfo:
        return account

    @hookimpl
    def correct_and_deposit_fee(self, refund: int) -> bool:
        self.waived.set(self.waived.get() + 1)
        return True


def test_the_charging_pallet_is_whichever_implements_the_hooks() -> None:
    """A chain whose Sponsor pallet implements the fee hooks: fees are waived, nonces still count."""
    spec = dataclasses.replace(dev_spec(), pallets=("System", "Sponsor"))
    rt = Runtime(spec, MemoryBackend(), extra_pallets=(Sponsor,), autoload=False)
    alice = dev_keypair("alice")
    data = _signed_remark(rt, "alice")
    rt.validate_transaction(data)
    builder = rt.new_block(rt.head.timestamp + 6_000, alice.account)
    result = builder.push(data)
    assert result.ok and result.fee > 0  # the fee is computed by the core; the sponsor waives it
    rt.commit(builder.finish(alice))
    assert rt.system.account_info(alice.account) == AccountInfo(nonce=1, free=0, held=0)
    assert rt.pallet(Sponsor).waived.get() == 1
