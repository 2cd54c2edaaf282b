"""Independent reads of one report, each in its own session, at the same time.

A report's parts (computers, events, alerts, system events, policies) are separate
statements that do not depend on each other. One after another on one connection, the
report waits for the sum; on a server database each read can run in a backend of its own,
and the report waits for the longest (the restricted Summary's computers and 7-day events:
~110 ms in a row, ~65 ms side by side, docs/BENCHMARKS.md). The reads share one pool of five
threads per process, which also bounds the extra database connections a process holds.

Each read sees committed data as of its own start, not one snapshot: a report fetched while
events arrive may count an event the other part does not show, as the console's own pages
would when loaded one after another.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

__all__ = ["read_concurrently", "reads_in_parallel"]

#: Threads that run reads; a report has at most five parts.
READ_THREADS = 5

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This process's pool. Made on first use in each process: a pool whose threads were
    started before a fork (dramatiq forks its worker processes) has no threads in the child,
    and would never run what is given to it."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="reportd-read")
            _pool_pid = os.getpid()
        return _pool


def reads_in_parallel(sessions: sessionmaker[Session]) -> bool:
    """Whether reads through ``sessions`` gain from running at once: not on SQLite, where
    every read runs in this process anyway."""
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name != "sqlite"


def read_concurrently(
    sessions: sessionmaker[Session], reads: Sequence[Callable[[Session], Any]]
) -> list[Any]:
    """Each read's result, in order; each ran in a session of its own, all at once."""

    def run(read: Callable[[Session], Any]) -> Any:
        with sessions() as session:
            return read(session)

    pool = _executor()
    futures = [pool.submit(run, read) for read in reads]
    return [future.result() for future in futures]
