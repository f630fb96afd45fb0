"""runtime.caches.BoundedCache: least recently used values evicted past an entry count and a total cost,
so a runtime's caches keep memory bounded whatever is read."""

from __future__ import annotations

import threading

import pytest

from runtime.caches import BoundedCache


def test_put_works_keeping_the_most_recently_used_entries():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_put_works_within_the_cost_limit():
    cache: BoundedCache[str, bytes] = BoundedCache(100, max_cost=10, cost=len)
    cache.put("a", b"12345")
    cache.put("b", b"1234")
    assert cache.total_cost == 9
    cache.put("c", b"123")  # 12 > 10: "a" goes
    assert cache.get("a") is None and cache.total_cost == 7
    cache.put("b", b"1")  # replacing a value counts its new cost only
    assert cache.total_cost == 4


def test_put_keeps_nothing_costlier_than_the_limit():
    cache: BoundedCache[str, bytes] = BoundedCache(4, max_cost=3, cost=len)
    cache.put("a", b"12")
    cache.put("big", b"12345")
    assert cache.get("big") is None and cache.get("a") == b"12" and cache.total_cost == 2


def test_new_fails_without_room():
    with pytest.raises(ValueError, match="at least one entry"):
        BoundedCache(0)
    with pytest.raises(ValueError, match="positive cost limit"):
        BoundedCache(1, max_cost=0)


def test_put_works_from_many_threads_within_its_limits():
    cache: BoundedCache[int, bytes] = BoundedCache(50, max_cost=400, cost=len)

    def fill(offset: int) -> None:
        for i in range(500):
            cache.put(offset + i, b"x" * (i % 16))
            cache.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 1_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50 and cache.total_cost <= 400
    cache.clear()
    assert len(cache) == 0 and cache.total_cost == 0
