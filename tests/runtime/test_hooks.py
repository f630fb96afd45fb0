"""Hooks run in the chain spec's declared pallet order, whatever order the pallet classes are registered
or discovered in; a pallet hook asking pluggy for tryfirst/trylast is refused."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from runtime.errors import PalletError
from runtime.executive import Runtime
from runtime.genesis import dev_spec
from runtime.hookspecs import hookimpl
from runtime.pallet import Pallet
from runtime.storage.backend import MemoryBackend
from runtime.storage.items import StorageValue
from runtime.testing import MockRuntime, build_runtime
from runtime.testing.mock import BLOCK_TIME_MS, GENESIS_TIME_MS

LOG: list[str] = []


class Recording(Pallet):
    """An abstract base (no name): every hook appends to LOG and to the pallet's own storage."""

    seen: StorageValue[list[str]] = StorageValue(list[str], default=[], doc="Hooks this pallet ran.")

    def record(self, what: str) -> None:
        LOG.append(f"{self.name}:{what}")
        self.seen.mutate(lambda old: [*old, what])

    @hookimpl
    def build_genesis(self, genesis: Mapping[str, Any]) -> None:
        self.record("genesis")

    @hookimpl
    def on_initialize(self, block_number: int) -> int | None:
        self.record(f"init{block_number}")
        return None

    @hookimpl
    def on_finalize(self, block_number: int) -> None:
        self.record(f"final{block_number}")


class HookA(Recording):
    """Test pallet A."""

    name, index = "HookA", 70


class HookB(Recording):
    """Test pallet B."""

    name, index = "HookB", 71


class HookC(Recording):
    """Test pallet C."""

    name, index = "HookC", 72


TEST_PALLETS = (HookA, HookB, HookC)


@pytest.fixture(autouse=True)
def clear_log():
    LOG.clear()
    yield
    LOG.clear()


def expected(order: list[str], what: str) -> list[str]:
    return [f"{name}:{what}" for name in order]


@pytest.mark.parametrize(
    "order", list(itertools.permutations(TEST_PALLETS)), ids=lambda o: "-".join(p.name[-1] for p in o)
)
def test_hooks_run_in_declared_order(order):
    names = [p.name for p in order]
    rt = build_runtime(*order)
    assert expected(names, "genesis") + expected(names, "init1") == LOG
    LOG.clear()
    rt.next_block()
    assert expected(names, "final1") + expected(names, "init2") == LOG
    for cls in order:
        assert rt.pallet(cls).seen.get() == ["genesis", "init1", "final1", "init2"]


@pytest.mark.parametrize(
    "registration", list(itertools.permutations(TEST_PALLETS)), ids=lambda o: "-".join(p.name[-1] for p in o)
)
def test_registration_order_does_not_decide_hook_order(registration):
    declared = ("System", "HookB", "Balances", "HookC", "Sudo", "HookA")
    spec = dataclasses.replace(dev_spec(), pallets=declared)
    runtime = Runtime(spec, MemoryBackend(), extra_pallets=list(registration))
    assert [p.name for p in runtime.pallets] == list(declared)
    mine = ["HookB", "HookC", "HookA"]
    assert expected(mine, "genesis") == LOG
    LOG.clear()
    MockRuntime(runtime).next_block()
    assert expected(mine, "init1") + expected(mine, "final1") + expected(mine, "init2") == LOG


def test_state_does_not_depend_on_registration_order():
    spec = dataclasses.replace(dev_spec(), pallets=(*dev_spec().pallets, "HookC", "HookA", "HookB"))
    heads = []
    for registration in (TEST_PALLETS, TEST_PALLETS[::-1]):
        runtime = Runtime(spec, MemoryBackend(), extra_pallets=registration)
        builder = runtime.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS, MockRuntime.account("alice"))
        runtime.commit(builder.finish(MockRuntime.keypair("alice")))
        heads.append(runtime.head)
    assert heads[0] == heads[1]


def test_on_finalize_writes_are_in_the_committed_state():
    rt = build_runtime(HookA)
    rt.next_block()
    head_value = rt.runtime.overlay.backend_value(rt.runtime.pallet(HookA).seen.storage_key)
    assert head_value is not None
    assert b"final1" in head_value


class EagerPallet(Pallet):
    """Asks pluggy to run its hook first."""

    name, index = "Eager", 80

    @hookimpl(tryfirst=True)
    def on_initialize(self, block_number: int) -> int | None:
        return None


class LatePallet(Pallet):
    """Asks pluggy to run its hook last."""

    name, index = "Late", 81

    @hookimpl(trylast=True)
    def on_finalize(self, block_number: int) -> None:
        return None


@pytest.mark.parametrize("cls", [EagerPallet, LatePallet])
def test_pallet_hooks_may_not_reorder_themselves(cls):
    with pytest.raises(PalletError, match="tryfirst/trylast"):
        build_runtime(cls)


def test_same_pallets_without_the_ordering_flag_assemble():
    class Calm(Pallet):
        """Like EagerPallet, without tryfirst."""

        name, index = "Calm", 82

        @hookimpl
        def on_initialize(self, block_number: int) -> int | None:
            LOG.append(f"calm{block_number}")
            return None

    build_runtime(Calm)
    assert LOG == ["calm1"]
