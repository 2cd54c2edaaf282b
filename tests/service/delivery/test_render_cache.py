"""Render sharing's cache: bounded by weight, least recently used out first, one computation
per key however many ask at once, and failures not kept."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.delivery.render_cache import SharedCache


def test_the_least_recently_used_entries_leave_when_the_weight_passes_the_budget() -> None:
    cache = SharedCache[str](budget=10, weigh=len)
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, lambda key=key: key * 4)  # 4 each: "a" goes at "c"
    cache.get_or_compute("b", lambda: "changed")  # a hit: "b" is now the most recent

    cache.get_or_compute("d", lambda: "dddd")  # "c" is now the least recent and goes

    computed: list[str] = []

    def fresh(key: str) -> str:
        computed.append(key)
        return key * 4

    for key in ("d", "b", "c"):  # the kept two first, so that nothing else leaves meanwhile
        cache.get_or_compute(key, lambda key=key: fresh(key))
    assert computed == ["c"]
    assert cache.get_or_compute("x", lambda: "y" * 11) == "y" * 11  # heavier than the budget


def test_concurrent_requests_for_one_key_compute_it_once() -> None:
    cache = SharedCache[int](budget=100)
    calls = 0
    started = threading.Event()

    def slow() -> int:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.2)
        return 42

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: cache.get_or_compute("k", slow), range(8)))

    assert results == [42] * 8
    assert calls == 1
    assert (cache.misses, cache.hits) == (1, 7)


def test_a_failed_computation_is_not_kept_and_the_next_request_tries_again() -> None:
    cache = SharedCache[int](budget=100)

    def broken() -> int:
        raise RuntimeError("browser crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", broken)

    assert cache.get_or_compute("k", lambda: 7) == 7
