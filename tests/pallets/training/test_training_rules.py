"""The integer arithmetic of Deposit, Refund and Take (pallets/training/rules.py): the deposit formula with
its divisor of 1 at zero seconds, whole seconds between block timestamps, the reporter's take with its
integer-division edges, the wait windows at their boundaries and the data hash's canonical encoding."""

from __future__ import annotations

import math

import pytest

from pallets.training import rules
from runtime import codec
from runtime.crypto import blake2_256


@pytest.mark.parametrize(
    ("seconds", "divisor"),
    [(0, 1), (1, 1), (3, 1), (4, 2), (8, 2), (9, 3), (3_599, 59), (3_600, 60), (3_601, 60), (10**6, 1_000)],
)
def test_deposit_for_divides_by_the_integer_square_root_of_the_seconds(seconds, divisor):
    assert math.isqrt(seconds) == divisor or seconds == 0
    assert rules.deposit_for(1_000, seconds) == 1_000 * 3_600 // divisor


def test_deposit_for_uses_a_divisor_of_one_at_zero_seconds():
    assert rules.deposit_for(7, 0) == 7 * 3_600
    assert rules.deposit_for(7, 0) == rules.deposit_for(7, 1)


def test_deposit_for_rounds_down_and_reaches_zero():
    # cost 1: 3600 // isqrt(s) is 1 up to isqrt(s) = 3600, then 0 from isqrt(s) = 3601 (s = 3601**2)
    assert rules.deposit_for(1, 3_600**2) == 1
    assert rules.deposit_for(1, 3_601**2 - 1) == 1
    assert rules.deposit_for(1, 3_601**2) == 0
    assert rules.deposit_for(5, 7**2) == 18_000 // 7 == 2_571  # 2571.43 rounded down
    assert rules.deposit_for(0, 0) == 0


@pytest.mark.parametrize(("earlier", "later", "seconds"), [
    (0, 0, 0), (0, 999, 0), (0, 1_000, 1), (0, 1_999, 1), (500, 1_500, 1), (1_000, 0, 0),
    (0, 86_400_000, 86_400),
])
def test_seconds_between_counts_whole_seconds_of_block_time(earlier, later, seconds):
    assert rules.seconds_between(earlier, later) == seconds


@pytest.mark.parametrize(
    ("elapsed_ms", "open_"), [(58_999, False), (59_999, False), (60_000, True), (61_000, True)]
)
def test_window_open_at_the_boundary_second(elapsed_ms, open_):
    assert rules.window_open(1_000, 1_000 + elapsed_ms, 60) is open_


def test_window_open_with_a_zero_wait_is_open_at_once():
    assert rules.window_open(5_000, 5_000, 0)


def test_take_amount_is_the_reporters_share_of_the_initial_deposit():
    assert rules.take_amount(1_000, 1, 4, 1_000) == 250
    assert rules.take_amount(1_000, 3, 4, 1_000) == 750
    assert rules.take_amount(1_000, 1, 3, 1_000) == 333  # 333.3 rounded down


def test_take_amount_takes_all_that_remains_when_the_share_is_zero():
    assert rules.take_amount(1, 1, 2, 1) == 1  # 1 * 1 // 2 == 0
    assert rules.take_amount(3, 1, 4, 2) == 2  # 3 // 4 == 0: all of the 2 that remain


def test_take_amount_takes_all_that_remains_when_the_share_is_more_than_remains():
    assert rules.take_amount(1_000, 3, 4, 500) == 500  # 750 > 500
    assert rules.take_amount(1_000, 1, 1, 999) == 999  # 1000 > 999


def test_take_amount_takes_the_share_when_it_equals_what_remains():
    assert rules.take_amount(1_000, 1, 2, 500) == 500


def test_data_hash_is_blake2b_of_the_canonical_encoding_of_features_and_label():
    features = [3, 70_000, -5, 0]
    assert rules.data_hash(features, 2) == blake2_256(codec.pack([features, 2]))
    assert rules.data_hash(features, 2) != rules.data_hash(features, 1)
    assert rules.data_hash(features, 2) != rules.data_hash([3, 70_000, -5], 2)
