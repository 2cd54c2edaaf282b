"""Render sharing: identical documents are printed once per worker process.

Contacts whose clearance, language, time zone and report parameters give the same HTML get
the same PDF; only encryption stays per contact. Chromium is ~90 % of a delivery's CPU, so
this is the largest saving of a fan-out. The key is a hash of the HTML and footer: whatever
produced them, equal bytes print equal PDFs. Concurrent requests for one key wait for a single
render instead of racing (single flight); a failed render is not cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

#: Keep at most this many bytes of PDFs per process.
DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024


def content_key(*parts: str) -> str:
    """The sharing key of a document made of ``parts`` (HTML, header, footer)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class RenderCache:
    """A byte-bounded LRU of rendered PDFs with single-flight rendering per key."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._done: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, Future[bytes]] = {}
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                self.hits += 1
                return self._done[key]
            waiting = self._inflight.get(key)
            if waiting is None:
                mine: Future[bytes] = Future()
                self._inflight[key] = mine
                self.misses += 1
            else:
                self.hits += 1
        if waiting is not None:
            return waiting.result()
        try:
            pdf = render()
        except BaseException as error:
            with self._lock:
                del self._inflight[key]
            mine.set_exception(error)
            raise
        with self._lock:
            del self._inflight[key]
            self._store(key, pdf)
        mine.set_result(pdf)
        return pdf

    def _store(self, key: str, pdf: bytes) -> None:
        if len(pdf) > self.budget_bytes:
            return
        self._done[key] = pdf
        self._size += len(pdf)
        while self._size > self.budget_bytes:
            _, dropped = self._done.popitem(last=False)
            self._size -= len(dropped)
