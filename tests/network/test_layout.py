"""The round-robin schedule and the etcd key layout: whose turn a block's timestamp falls in, when a
validator may author next, and how many refusals make a block impossible to finalize."""

from __future__ import annotations

from cmu.node.network.layout import (
    Layout,
    author_index,
    blocking_size,
    next_turn,
    quorum_size,
    round_of,
    turn_window,
)

TURN = 1_000


def test_round_of_counts_turn_timeouts_since_the_parent() -> None:
    assert round_of(5_000, 5_001, TURN) == 0
    assert round_of(5_000, 6_000, TURN) == 0
    assert round_of(5_000, 6_001, TURN) == 1
    assert round_of(5_000, 9_500, TURN) == 4
    assert round_of(5_000, 4_000, TURN) == 0  # never negative


def test_turn_window_matches_round_of() -> None:
    for round_ in range(5):
        first, last = turn_window(5_000, round_, TURN)
        assert round_of(5_000, first, TURN) == round_ == round_of(5_000, last, TURN)
        assert round_of(5_000, last + 1, TURN) == round_ + 1


def test_author_rotates_by_height_and_round() -> None:
    assert [author_index(h, 0, 4) for h in range(1, 9)] == [1, 2, 3, 0, 1, 2, 3, 0]
    assert [author_index(5, r, 4) for r in range(4)] == [1, 2, 3, 0]


def test_next_turn_is_now_for_the_current_author_and_later_for_the_next() -> None:
    parent, height = 10_000, 6  # round 0 belongs to validator 2, round 1 to 3, round 2 to 0
    now = 10_050
    assert next_turn(parent, now, height, 2, 4, TURN) == now
    assert next_turn(parent, now, height, 3, 4, TURN) == turn_window(parent, 1, TURN)[0]
    assert next_turn(parent, now, height, 0, 4, TURN) == turn_window(parent, 2, TURN)[0]
    late = 11_500  # validator 2 missed its turn: its next one is a full rotation later
    assert next_turn(parent, late, height, 2, 4, TURN) == turn_window(parent, 4, TURN)[0]


def test_quorum_and_blocking_sizes() -> None:
    assert [quorum_size(n) for n in (1, 3, 4, 7, 10)] == [1, 3, 3, 5, 7]
    assert [blocking_size(n) for n in (1, 3, 4, 7, 10)] == [1, 1, 2, 3, 4]


def test_layout_keys_sort_by_height_and_parse_back() -> None:
    layout = Layout(bytes(range(32)))
    assert layout.block(9) < layout.block(10) < layout.block(100)
    assert layout.height_of(layout.block(1234)) == 1234
    assert layout.refusal_fields(layout.refusal(7, 555, 3)) == (7, 555, 3)
    assert layout.vote(7, 2).startswith(layout.votes)
    assert layout.tx_batch("ab", 3).startswith(layout.txs)
    assert layout.root == b"/cmu/" + bytes(range(32)).hex().encode() + b"/"
