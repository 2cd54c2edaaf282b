"""The errors of an outage: the database or the broker went away for a while.

Long-running loops (``reportd scheduler``, ``reportd reconcile --loop``) outlive such
outages instead of ending with them: the engine already waits for a restarted database for
a while (``storage.db``), and an actor's send waits for Redis (``actors.delivery``); when an
outage lasts longer, the loop logs it, sleeps its interval and tries again. Nothing is lost
meanwhile: the ledger in the database is the truth, and a tick that did not commit is redone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import dramatiq.errors
import redis.exceptions
import sqlalchemy.exc

#: What an unreachable Redis raises when a message is sent.
BROKER_UNREACHABLE: tuple[type[BaseException], ...] = (
    dramatiq.errors.BrokerConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
#: What a loop waits out: the database or Redis gone. Programming errors and bad data are not
#: among them: those still end the process, loudly, rather than repeat every interval.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    *BROKER_UNREACHABLE,
)
#: The first and the longest pause between two tries of :func:`wait_out` (seconds).
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 1.0

T = TypeVar("T")
log = logging.getLogger(__name__)


def wait_out(
    action: Callable[[], T],
    *,
    errors: tuple[type[BaseException], ...] = OUTAGE_ERRORS,
    wait: float,
    what: str,
) -> T:
    """``action()``, tried again on ``errors`` with growing pauses for up to ``wait``
    seconds; the last error is raised when the outage outlasts that. ``what`` says what is
    waited for in the log, e.g. "broker unreachable, sending deliver"."""
    deadline = time.monotonic() + wait
    pause = FIRST_PAUSE
    while True:
        try:
            return action()
        except errors as error:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s, trying again in %.2f s: %s", what, pause, describe_outage(error))
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


def describe_outage(error: BaseException) -> str:
    """One line for the log: the error's class and the first line of its message."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
