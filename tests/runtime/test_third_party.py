"""A third-party pallet (examples/notes_pallet, package cmu-notes) is found through its `cmu.pallets`
entry point, is callable through a signed extrinsic in a block, and is absent unless the spec names it
and autoloading is on."""

from __future__ import annotations

from importlib.metadata import distribution, entry_points

import pytest

from runtime.crypto import dev_keypair
from runtime.errors import InvalidBlock, PalletError
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import PALLET_GROUP, dev_spec, resolve_pallets
from runtime.storage.backend import MemoryBackend
from runtime.testing import assert_noop, assert_ok, build_runtime
from runtime.testing.mock import BLOCK_TIME_MS, GENESIS_TIME_MS

BUILTINS = ("System", "Balances", "Sudo")


def test_the_notes_entry_point_is_installed():
    found = {ep.name: ep for ep in entry_points(group=PALLET_GROUP)}
    assert "Notes" in found
    assert found["Notes"].value == "cmu_notes:Notes"
    assert found["Notes"].dist is not None
    assert found["Notes"].dist.metadata["Name"] == "cmu-notes"
    assert "Notes" in {ep.name for ep in distribution("cmu-notes").entry_points if ep.group == PALLET_GROUP}


def test_resolve_pallets_discovers_notes_through_its_entry_point():
    from cmu_notes import Notes

    resolved = resolve_pallets([*BUILTINS, "Notes"])
    assert resolved[-1] is Notes
    assert [cls.name for cls in resolved] == [*BUILTINS, "Notes"]


def test_notes_is_absent_when_the_spec_does_not_name_it():
    assert [cls.name for cls in resolve_pallets(BUILTINS)] == list(BUILTINS)
    rt = build_runtime()
    assert not rt.runtime.has_pallet("Notes")
    assert "Notes" not in [p["name"] for p in rt.runtime.metadata()["pallets"]]
    with pytest.raises(PalletError):
        rt.runtime.pallet_by_name("Notes")
    with pytest.raises(PalletError):
        rt.runtime.make_call("Notes.set_note", text=b"hi")


def test_notes_is_absent_with_autoload_off():
    with pytest.raises(PalletError, match="not installed"):
        resolve_pallets([*BUILTINS, "Notes"], autoload=False)
    with pytest.raises(PalletError):
        Runtime(dev_spec(["Notes"]), MemoryBackend(), autoload=False)
    with pytest.raises(PalletError):
        build_runtime("Notes", autoload=False)


def test_notes_is_absent_when_the_environment_turns_autoload_off(monkeypatch):
    monkeypatch.setenv("CMU_NO_PALLET_AUTOLOAD", "1")
    with pytest.raises(PalletError):
        resolve_pallets([*BUILTINS, "Notes"])
    monkeypatch.setenv("CMU_NO_PALLET_AUTOLOAD", "0")
    assert resolve_pallets([*BUILTINS, "Notes"])[-1].name == "Notes"


def test_builtins_resolve_with_autoload_off():
    assert [cls.name for cls in resolve_pallets(BUILTINS, autoload=False)] == list(BUILTINS)


def test_notes_is_callable_through_a_signed_extrinsic_in_a_block():
    from cmu_notes import Notes

    rt = build_runtime("Notes")
    notes = rt.pallet(Notes)
    before = rt.free_balance("bob")

    result = rt.submit("bob", "Notes.set_note", text=b"hello from a plugin")

    assert_ok(result)
    assert rt.events()[-2] == Notes.NoteSet(who=rt.account("bob"), length=19)
    assert notes.notes[rt.account("bob")] == b"hello from a plugin"
    assert notes.count.get() == 1
    assert rt.free_balance("bob") == before - result.fee
    rt.next_block()  # committed with the block
    key = notes.notes.key(rt.account("bob"))
    assert rt.runtime.overlay.backend_value(key) is not None
    rt.check_invariants()


def test_notes_errors_are_reported_for_signed_extrinsics():
    from cmu_notes import Notes

    rt = build_runtime("Notes")
    assert rt.submit("bob", "Notes.set_note", text=b"x" * 300).error == "Notes.TooLong"
    assert rt.submit("bob", "Notes.clear_note").error == "Notes.NoNote"
    assert_noop(rt.call("bob", "Notes.clear_note"), Notes.NoNote)


def test_a_block_using_notes_imports_into_a_runtime_whose_spec_names_it():
    spec = dev_spec(["Notes"])
    alice = dev_keypair("alice")
    producer = Runtime(spec, MemoryBackend())
    call = producer.make_call("Notes.set_note", text=b"imported")
    data = sign_extrinsic(
        dev_keypair("charlie"),
        call.to_wire(),
        nonce=0,
        genesis_hash=producer.genesis_hash,
        spec_version=producer.VERSION.spec_version,
    )
    builder = producer.new_block(GENESIS_TIME_MS + BLOCK_TIME_MS, alice.account)
    assert_ok(builder.push(data))
    pending = builder.finish(alice)
    producer.commit(pending)
    assert pending.block is not None

    importer = Runtime(spec, MemoryBackend())
    importer.commit(importer.import_block(pending.block))
    assert importer.head == producer.head
    notes = importer.pallet_by_name("Notes")
    assert notes.notes[dev_keypair("charlie").account] == b"imported"  # type: ignore[attr-defined]

    without = Runtime(dev_spec(), MemoryBackend())  # Notes writes no genesis state: same genesis hash
    with pytest.raises(InvalidBlock):
        without.import_block(pending.block)
    assert without.head.number == 0
