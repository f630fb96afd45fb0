"""The arithmetic of Deposit, Refund and Take, as pure integer functions: the deposit for a contribution,
the seconds between two block timestamps, the share a reporter takes, and the hash that stands for the data.

Units: block timestamps are milliseconds; every wait and every "seconds since" is whole seconds,
floor((later_ms - earlier_ms) / 1000). Amounts are the token's smallest unit (u64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgpack

from runtime.crypto import blake2_256

_packb = msgpack.packb
SECONDS_PER_HOUR = 3_600
MS_PER_SECOND = 1_000


def seconds_between(earlier_ms: int, later_ms: int) -> int:
    """Whole seconds from one block timestamp to a later one (0 if `later_ms` is not later)."""
    return max(0, later_ms - earlier_ms) // MS_PER_SECOND


def deposit_for(cost_weight: int, seconds_since_last_update: int) -> int:
    """cost_weight * 3600 // isqrt(seconds), with a divisor of 1 at 0 seconds (isqrt(0) = 0)."""
    divisor = max(1, math.isqrt(max(0, seconds_since_last_update)))
    return cost_weight * SECONDS_PER_HOUR // divisor


def take_amount(initial_deposit: int, reporter_good: int, total_good: int, remaining: int) -> int:
    """A reporter's take: initial_deposit * reporter_good // total_good, or all that remains when that
    is 0 or more than remains (total_good >= reporter_good >= 1 whenever a report is allowed)."""
    share = initial_deposit * reporter_good // total_good if total_good > 0 else 0
    return remaining if share == 0 or share > remaining else share


def data_hash(features: Sequence[int] | str, label: int) -> bytes:
    """blake2b-256 of the canonical encoding of [features, label] (what a contribution record keeps;
    a text model's features are the document, a msgpack str).
    Call arguments are plain ints already (their converters checked them), so msgpack's canonical packing
    is used without the codec's type walk; test_training_rules checks it equals codec.pack's bytes."""
    data = features if isinstance(features, str) else list(features)
    encoded: bytes = _packb([data, label], use_bin_type=True)
    return blake2_256(encoded)


def window_open(added_ms: int, now_ms: int, wait_s: int) -> bool:
    """Whether `wait_s` whole seconds have passed since `added_ms` (at the boundary: yes)."""
    return seconds_between(added_ms, now_ms) >= wait_s
