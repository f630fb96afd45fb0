"""Tests for runtime.storage.overlay and the backends: nested layers, reads of pending writes, and
iteration that merges pending writes with the backend in key order; MemoryBackend and LevelDBBackend
must behave the same."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.storage.backend import Backend, LevelDBBackend, MemoryBackend
from runtime.storage.overlay import LayerError, Overlay


@pytest.fixture(params=["memory", "leveldb"])
def backend(request, tmp_path) -> Iterator[Backend]:
    store: Backend = MemoryBackend() if request.param == "memory" else LevelDBBackend(str(tmp_path / "db"))
    yield store
    store.close()


def fill(backend: Backend, prefix: bytes, items: dict[bytes, bytes]) -> None:
    backend.write([(prefix + k, v) for k, v in items.items()])


# --- reads and writes -------------------------------------------------------------------------------


def test_reads_see_pending_writes_and_the_backend_is_untouched(backend):
    fill(backend, b"S", {b"a": b"1", b"b": b"2"})
    overlay = Overlay(backend)
    overlay.put(b"a", b"10")
    overlay.put(b"c", b"30")
    overlay.delete(b"b")
    assert overlay.get(b"a") == b"10"
    assert overlay.get(b"b") is None
    assert overlay.get(b"c") == b"30"
    assert not overlay.contains(b"b")
    assert overlay.contains(b"c")
    assert overlay.backend_value(b"a") == b"1"
    assert backend.get(b"Sa") == b"1"
    assert backend.get(b"Sb") == b"2"
    assert backend.get(b"Sc") is None


def test_empty_values_are_values_not_deletes(backend):
    overlay = Overlay(backend)
    overlay.put(b"k", b"")
    assert overlay.get(b"k") == b""
    assert overlay.contains(b"k")
    assert list(overlay.iterate(b"")) == [(b"k", b"")]


def test_changes_and_backend_ops_describe_the_pending_writes(backend):
    fill(backend, b"S", {b"gone": b"x"})
    overlay = Overlay(backend)
    overlay.put(b"new", b"1")
    overlay.delete(b"gone")
    assert overlay.changes() == {b"new": b"1", b"gone": None}
    puts, deletes = overlay.backend_ops()
    assert puts == [(b"Snew", b"1")]
    assert deletes == [b"Sgone"]
    backend.write(puts, deletes)
    assert backend.get(b"Snew") == b"1"
    assert backend.get(b"Sgone") is None


def test_discard_forgets_pending_writes_and_layers(backend):
    fill(backend, b"S", {b"a": b"1"})
    overlay = Overlay(backend)
    overlay.begin()
    overlay.put(b"a", b"2")
    overlay.discard()
    assert overlay.get(b"a") == b"1"
    assert overlay.depth == 0
    assert overlay.changes() == {}


# --- layers -----------------------------------------------------------------------------------------


def test_rollback_restores_the_values_before_the_layer(backend):
    fill(backend, b"S", {b"a": b"1", b"b": b"2"})
    overlay = Overlay(backend)
    overlay.put(b"a", b"pending")
    overlay.begin()
    overlay.put(b"a", b"inner")
    overlay.delete(b"b")
    overlay.put(b"c", b"3")
    overlay.put(b"c", b"33")
    overlay.rollback()
    assert overlay.get(b"a") == b"pending"
    assert overlay.get(b"b") == b"2"
    assert overlay.get(b"c") is None
    assert overlay.changes() == {b"a": b"pending"}


def test_nested_commit_then_outer_rollback_undoes_both(backend):
    overlay = Overlay(backend)
    overlay.put(b"x", b"0")
    overlay.begin()
    overlay.put(b"x", b"1")
    overlay.begin()
    overlay.put(b"x", b"2")
    overlay.put(b"y", b"2")
    overlay.commit()
    assert overlay.depth == 1
    assert overlay.get(b"x") == b"2"
    overlay.rollback()
    assert overlay.depth == 0
    assert overlay.get(b"x") == b"0"
    assert overlay.get(b"y") is None


def test_inner_rollback_keeps_outer_writes(backend):
    overlay = Overlay(backend)
    overlay.begin()
    overlay.put(b"outer", b"1")
    overlay.begin()
    overlay.put(b"outer", b"changed")
    overlay.put(b"inner", b"1")
    overlay.rollback()
    overlay.commit()
    assert overlay.get(b"outer") == b"1"
    assert overlay.get(b"inner") is None
    assert overlay.changes() == {b"outer": b"1"}


def test_committed_layers_keep_their_writes(backend):
    overlay = Overlay(backend)
    overlay.begin()
    overlay.begin()
    overlay.put(b"k", b"v")
    overlay.delete(b"missing")
    overlay.commit()
    overlay.commit()
    assert overlay.get(b"k") == b"v"
    assert overlay.depth == 0


def test_rollback_of_a_delete_brings_back_the_backend_value(backend):
    fill(backend, b"S", {b"k": b"stored"})
    overlay = Overlay(backend)
    overlay.begin()
    overlay.delete(b"k")
    assert overlay.get(b"k") is None
    assert list(overlay.iterate(b"")) == []
    overlay.rollback()
    assert overlay.get(b"k") == b"stored"
    assert list(overlay.iterate(b"")) == [(b"k", b"stored")]


def test_commit_and_rollback_without_a_layer_are_errors(backend):
    overlay = Overlay(backend)
    with pytest.raises(LayerError):
        overlay.commit()
    with pytest.raises(LayerError):
        overlay.rollback()


# --- iteration --------------------------------------------------------------------------------------


def test_iteration_merges_pending_and_backend_in_key_order(backend):
    fill(backend, b"S", {b"p\x01": b"b1", b"p\x03": b"b3", b"p\x05": b"b5", b"q\x00": b"other"})
    fill(backend, b"T", {b"p\x02": b"another namespace"})
    overlay = Overlay(backend)
    overlay.put(b"p\x02", b"o2")  # new, between backend keys
    overlay.put(b"p\x03", b"o3")  # overrides a backend key
    overlay.delete(b"p\x05")  # hides a backend key
    overlay.put(b"p\x00", b"o0")  # new, before every backend key
    overlay.put(b"p\xff", b"off")
    assert list(overlay.iterate(b"p")) == [
        (b"p\x00", b"o0"),
        (b"p\x01", b"b1"),
        (b"p\x02", b"o2"),
        (b"p\x03", b"o3"),
        (b"p\xff", b"off"),
    ]
    assert list(overlay.iterate(b"p", start=b"p\x02")) == [
        (b"p\x02", b"o2"),
        (b"p\x03", b"o3"),
        (b"p\xff", b"off"),
    ]
    assert list(overlay.iterate(b"q")) == [(b"q\x00", b"other")]
    assert [k for k, _ in overlay.iterate(b"")] == [
        b"p\x00",
        b"p\x01",
        b"p\x02",
        b"p\x03",
        b"p\xff",
        b"q\x00",
    ]


def test_iteration_hides_deletes_of_pending_only_keys(backend):
    overlay = Overlay(backend)
    overlay.put(b"a", b"1")
    overlay.delete(b"a")
    overlay.delete(b"never")
    assert list(overlay.iterate(b"")) == []


@pytest.mark.parametrize(
    ("prefix", "start", "expected"),
    [
        (b"", None, [b"\x00", b"a", b"a\x00", b"a\xff", b"a\xff\xff", b"b", b"\xff"]),
        (b"a", None, [b"a", b"a\x00", b"a\xff", b"a\xff\xff"]),
        (b"a\xff", None, [b"a\xff", b"a\xff\xff"]),
        (b"\xff", None, [b"\xff"]),
        (b"a", b"a\x01", [b"a\xff", b"a\xff\xff"]),
        (b"a", b"", [b"a", b"a\x00", b"a\xff", b"a\xff\xff"]),
        (b"a", b"b", []),
        (b"c", None, []),
    ],
)
def test_backends_iterate_prefixes_alike(backend, prefix, start, expected):
    keys = [b"\x00", b"a", b"a\x00", b"a\xff", b"a\xff\xff", b"b", b"\xff"]
    backend.write([(k, k + b"!") for k in keys])
    assert list(backend.iterate(prefix, start)) == [(k, k + b"!") for k in expected]


def test_backend_write_applies_puts_and_deletes(backend):
    backend.put(b"a", b"1")
    backend.put(b"b", b"2")
    backend.write([(b"c", b"3"), (b"a", b"11")], [b"b", b"missing"])
    assert [backend.get(k) for k in (b"a", b"b", b"c")] == [b"11", None, b"3"]
    backend.delete(b"a")
    backend.delete(b"a")
    assert backend.get(b"a") is None


def test_leveldb_keeps_data_across_reopening(tmp_path):
    path = str(tmp_path / "db")
    first = LevelDBBackend(path)
    first.write([(b"Sk", b"v")])
    first.close()
    assert first.closed
    second = LevelDBBackend(path)
    assert Overlay(second).get(b"k") == b"v"
    second.close()


# --- the overlay against a model ---------------------------------------------------------------------

keys = st.binary(min_size=1, max_size=2).map(lambda b: bytes(b"\x00\x61\xff"[x % 3] for x in b))
values = st.binary(max_size=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), keys, values),
        st.tuples(st.just("delete"), keys),
        st.tuples(st.just("begin")),
        st.tuples(st.just("commit")),
        st.tuples(st.just("rollback")),
    ),
    max_size=25,
)
_namespaces = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.dictionaries(keys, values, max_size=6), ops=operations)
def test_overlay_matches_a_model(backend, base, ops):
    prefix = b"N%d:" % next(_namespaces)  # each example gets its own namespace in the shared backend
    fill(backend, prefix, base)
    overlay = Overlay(backend, prefix=prefix)
    current = dict(base)
    layers: list[dict[bytes, bytes]] = []
    for op in ops:
        if op[0] == "put":
            overlay.put(op[1], op[2])
            current[op[1]] = op[2]
        elif op[0] == "delete":
            overlay.delete(op[1])
            current.pop(op[1], None)
        elif op[0] == "begin":
            overlay.begin()
            layers.append(dict(current))
        elif not layers:
            with pytest.raises(LayerError):
                getattr(overlay, op[0])()
        elif op[0] == "commit":
            overlay.commit()
            layers.pop()
        else:
            overlay.rollback()
            current = layers.pop()
        assert overlay.depth == len(layers)
        check_view(overlay, current)
    while overlay.depth:
        overlay.commit()
    backend.write(*overlay.backend_ops())
    check_view(Overlay(backend, prefix=prefix), current)


def check_view(overlay: Overlay, model: dict[bytes, bytes]) -> None:
    for key in {b"\x00", b"a", b"\xff", b"a\xff", *model}:
        assert overlay.get(key) == model.get(key)
    assert list(overlay.iterate(b"")) == sorted(model.items())
    for sub in (b"a", b"\xff", b"a\x00"):
        assert list(overlay.iterate(sub)) == sorted((k, v) for k, v in model.items() if k.startswith(sub))
    assert list(overlay.iterate(b"", start=b"a")) == sorted((k, v) for k, v in model.items() if k >= b"a")


def test_on_rollback_runs_undo_callbacks_last_first_when_a_layer_rolls_back():
    from runtime.storage.backend import MemoryBackend
    from runtime.storage.overlay import Overlay

    overlay = Overlay(MemoryBackend())
    calls: list[str] = []
    overlay.begin()
    overlay.on_rollback(lambda: calls.append("first"))
    overlay.on_rollback(lambda: calls.append("second"))
    overlay.rollback()
    assert calls == ["second", "first"]


def test_on_rollback_follows_a_committed_inner_layer_to_the_outer_one():
    from runtime.storage.backend import MemoryBackend
    from runtime.storage.overlay import Overlay

    overlay = Overlay(MemoryBackend())
    calls: list[str] = []
    overlay.begin()
    overlay.begin()
    overlay.on_rollback(lambda: calls.append("inner"))
    overlay.commit()
    assert calls == []
    overlay.rollback()
    assert calls == ["inner"]


def test_on_rollback_keeps_nothing_outside_layers_or_after_the_last_commit():
    from runtime.storage.backend import MemoryBackend
    from runtime.storage.overlay import Overlay

    overlay = Overlay(MemoryBackend())
    calls: list[str] = []
    overlay.on_rollback(lambda: calls.append("outside"))
    overlay.begin()
    overlay.on_rollback(lambda: calls.append("committed"))
    overlay.commit()
    overlay.begin()
    overlay.rollback()
    assert calls == []
