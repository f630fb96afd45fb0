"""runtime.blockscoped.BlockScoped: block-scoped memory that follows the overlay's layers, so a rolled
back call takes its in-memory changes with it, exactly as its storage writes."""

from __future__ import annotations

from runtime.blockscoped import BlockScoped
from runtime.storage.backend import MemoryBackend
from runtime.storage.overlay import Overlay


def scoped() -> tuple[Overlay, BlockScoped[int, list[int]]]:
    overlay = Overlay(MemoryBackend())
    return overlay, BlockScoped(overlay)


def test_set_works_and_is_kept_when_the_layer_commits():
    overlay, values = scoped()
    overlay.begin()
    values.set(1, [10])
    overlay.commit()
    assert values.get(1) == [10] and 1 in values and len(values) == 1


def test_set_is_undone_when_the_layer_rolls_back():
    overlay, values = scoped()
    overlay.begin()
    values.set(1, [10])
    overlay.commit()
    overlay.begin()
    values.set(1, [20])
    values.set(2, [30])
    overlay.rollback()
    assert values.get(1) == [10] and 2 not in values


def test_pop_is_undone_with_the_value_or_the_given_copy():
    overlay, values = scoped()
    values.set(1, [10])  # outside any layer: nothing to undo
    overlay.begin()
    found = values.pop(1, restore=[99])
    assert found == [10] and 1 not in values
    overlay.rollback()
    assert values.get(1) == [99]
    overlay.begin()
    assert values.pop(7) is None
    values.pop(1)
    overlay.rollback()
    assert values.get(1) == [99]


def test_on_rollback_undoes_changes_inside_a_value_last_first():
    overlay, values = scoped()
    overlay.begin()
    values.set(1, [])
    inner = values[1]
    inner.append(5)
    values.on_rollback(inner.pop)
    overlay.begin()  # a nested layer, rolled back with its outer one after committing into it
    inner.append(6)
    values.on_rollback(inner.pop)
    overlay.commit()
    overlay.rollback()
    assert inner == [] and 1 not in values


def test_take_works_in_key_order_and_empties():
    _, values = scoped()
    for key in (3, 1, 2):
        values.set(key, [key])
    assert list(values) == [1, 2, 3]
    assert values.take() == [(1, [1]), (2, [2]), (3, [3])]
    assert len(values) == 0
    values.set(4, [4])
    values.clear()
    assert values.get(4) is None
