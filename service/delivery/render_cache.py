"""Render sharing: identical documents are built and printed once per worker process (and
printed once per run across processes: ``service.delivery.shared_pdfs``).

Contacts whose clearance, language, time zone and report parameters are the same get the same
report; only encryption stays per contact. Chromium is ~90 % of a delivery's CPU, so this is
the largest saving of a fan-out. Two caches use the class below:

- documents, keyed by the report's *inputs* (run, resolved scope, locale, zone): a hit skips
  the queries and the template;
- PDFs, keyed by a hash of the HTML: equal bytes print equal PDFs, whatever produced them.

Concurrent requests for one key wait for a single computation instead of racing (single
flight); a failure is not cached, so the next request tries again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

#: Keep at most this many bytes of PDFs per process.
DEFAULT_PDF_BUDGET_BYTES = 256 * 1024 * 1024
#: Keep at most about this many bytes of built documents (data and HTML) per process: enough
#: for the 150 distinct 16-page Summaries of a run to 50 clearances in 3 languages (a count of
#: 64 made such a run rebuild most of its documents, ~50 ms of CPU each).
DEFAULT_DOCUMENT_BUDGET_BYTES = 128 * 1024 * 1024
#: What one row of a built document is reckoned to take in memory, for its weight.
ROW_BYTES = 300

V = TypeVar("V")


def content_key(*parts: str) -> str:
    """The sharing key of a document made of ``parts`` (HTML, header, footer)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class SharedCache(Generic[V]):
    """An LRU bounded by total weight, computing each missing key once (single flight)."""

    def __init__(self, budget: int, weigh: Callable[[V], int] = lambda _: 1) -> None:
        self.budget = budget
        self._weigh = weigh
        self._done: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._inflight: dict[Hashable, Future[V]] = {}
        self._weight = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                self.hits += 1
                return self._done[key][0]
            waiting = self._inflight.get(key)
            if waiting is None:
                mine: Future[V] = Future()
                self._inflight[key] = mine
                self.misses += 1
            else:
                self.hits += 1
        if waiting is not None:
            return waiting.result()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._inflight[key]
            mine.set_exception(error)
            raise
        with self._lock:
            del self._inflight[key]
            self._store(key, value)
        mine.set_result(value)
        return value

    def _store(self, key: Hashable, value: V) -> None:
        weight = self._weigh(value)
        if weight > self.budget:
            return
        self._done[key] = (value, weight)
        self._weight += weight
        while self._weight > self.budget:
            _, (_, dropped) = self._done.popitem(last=False)
            self._weight -= dropped


class RenderCache(SharedCache[bytes]):
    """PDFs by content key, bounded by bytes."""

    def __init__(self, budget_bytes: int = DEFAULT_PDF_BUDGET_BYTES) -> None:
        super().__init__(budget_bytes, weigh=len)

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        return self.get_or_compute(key, render)
