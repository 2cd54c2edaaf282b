"""The long-running passes, as plain functions: the scheduler's loop and the reconciler's.

``reportd scheduler`` and ``reportd reconcile`` parse their flags and call these; sessions
come from the caller's ``transaction`` and the work goes to the workers through a
``Dispatcher``, always after the commit that wrote it. A loop waits out a database or broker
outage (what did not commit is redone by the next pass; what did is in the ledger), except a
single pass (``once``), which fails so that a script sees the error. A :class:`StopSignal`
(SIGTERM or Ctrl-C) lets the pass in hand finish (commit, then enqueue) and ends the sleep
between passes at once.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType, TracebackType
from typing import Any

from sqlalchemy.orm import Session

from service.delivery.dispatch import Dispatcher
from service.delivery.reconcile import LostWork, find_lost_work
from service.runtime.metrics import metrics
from service.runtime.outages import OUTAGE_ERRORS, describe_outage
from service.scheduling.scheduler import DEFAULT_TICK_LIMIT, next_due, tick

log = logging.getLogger(__name__)

#: Seconds between two scheduler passes.
DEFAULT_TICK_INTERVAL = 15.0
#: Seconds past a task's due time the scheduler wakes at (its clock and the sleep's may
#: differ by a little; a pass a hair early would find nothing and sleep again).
DUE_SLACK = 0.002
#: Seconds between two reconciler passes (in the scheduler, and ``reportd reconcile --loop``).
DEFAULT_RECONCILE_EVERY = 60.0

#: A new transaction, committed when the block ends (``App.transaction``).
Transactions = Callable[[], AbstractContextManager[Session]]
#: The time now, in UTC.
Clock = Callable[[], datetime]
#: Where a loop tells its operator what it did (a line each).
Say = Callable[[str], None]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Stopped(Exception):
    """Raised by the signal handler to cut a sleep short."""


class StopSignal:
    """SIGTERM or Ctrl-C: finish the pass in hand, then stop.

    During a pass the handler only sets a flag; during the sleep between passes it ends it.
    A context manager: the handlers are this process's while the block runs (the main
    thread's, as Python's signals are), and the previous ones come back after it.
    """

    def __init__(self) -> None:
        self.requested = False
        self._sleeping = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignal:
        for signum in _SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def request(self) -> None:
        """Stop after the pass in hand (what the signals do, for a caller without one)."""
        self.requested = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self._sleeping:
            self._sleeping = False  # one raise per sleep, however many signals come
            raise _Stopped

    def sleep(self, seconds: float) -> None:
        """Sleep between passes, unless a stop was asked for (before or meanwhile)."""
        try:
            self._sleeping = True
            if not self.requested:
                time.sleep(seconds)
            self._sleeping = False
        except _Stopped:
            pass


# --- the passes ---------------------------------------------------------------------------


def fire_due(
    transaction: Transactions,
    dispatcher: Dispatcher,
    *,
    clock: Clock,
    limit: int,
    stop: StopSignal,
) -> int:
    """Tick until nothing fires; each tick commits before its runs are started. The runs
    fired."""
    total = 0
    while not stop.requested:
        with transaction() as session:
            fired = tick(session, now=clock(), limit=limit)
        if fired:
            dispatcher.start_runs([run.run_id for run in fired])
        total += len(fired)
        if not fired:
            break
    return total


def reconcile_once(
    transaction: Transactions, dispatcher: Dispatcher, *, clock: Clock, pending_for: timedelta
) -> LostWork:
    """One reconciler pass: find lost deliveries and stalled fan-outs, commit, queue them."""
    with transaction() as session:
        lost = find_lost_work(session, now=clock(), pending_for=pending_for)
    if lost.deliveries:
        dispatcher.enqueue_deliveries(lost.deliveries)
        metrics().reconciler_resends.inc(len(lost.deliveries))
    if lost.runs:
        dispatcher.start_runs(lost.runs)
    return lost


# --- the loops ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulerTiming:
    """How often the scheduler loop does what, and how much per commit."""

    interval: float = DEFAULT_TICK_INTERVAL
    reconcile_every: float = DEFAULT_RECONCILE_EVERY
    #: Tasks per tick (one transaction).
    limit: int = DEFAULT_TICK_LIMIT
    #: Work untouched this long is lost (``REPORTD_RECONCILE_AFTER``).
    pending_for: timedelta = timedelta(minutes=5)


def run_scheduler(
    transaction: Transactions,
    dispatcher: Dispatcher,
    *,
    stop: StopSignal,
    timing: SchedulerTiming,
    once: bool = False,
    clock: Clock = utcnow,
    say: Say = log.info,
    warn: Say = log.warning,
) -> None:
    """Fire due tasks every ``interval`` (and at the next task's due time when that comes
    sooner) and reconcile every ``reconcile_every`` seconds, until ``stop`` (or after one
    pass with ``once``)."""
    counters = metrics()
    last_reconcile = float("-inf")

    def one_pass() -> float:
        nonlocal last_reconcile
        fired = fire_due(transaction, dispatcher, clock=clock, limit=timing.limit, stop=stop)
        counters.scheduler_runs_fired.inc(fired)
        if fired:
            say(f"{clock():%H:%M:%S} fired {fired} runs")
        if time.monotonic() - last_reconcile >= timing.reconcile_every:
            last_reconcile = time.monotonic()
            lost = reconcile_once(
                transaction, dispatcher, clock=clock, pending_for=timing.pending_for
            )
            if lost.deliveries:
                say(f"{clock():%H:%M:%S} re-enqueued {len(lost.deliveries)} deliveries")
            if lost.runs:
                say(f"{clock():%H:%M:%S} resumed the fan-out of {len(lost.runs)} runs")
        counters.scheduler_ticks.labels("ok").inc()
        counters.scheduler_last_tick.set_to_current_time()
        now = clock()
        with transaction() as session:
            due = next_due(session, after=now)
        return _pause_until(due, now=now, interval=timing.interval)

    def outage(problem: str) -> None:
        counters.scheduler_ticks.labels("outage").inc()
        log.warning("scheduler pass failed, retrying in %s s: %s", timing.interval, problem)
        warn(f"{clock():%H:%M:%S} outage: {problem}")

    _repeat(one_pass, interval=timing.interval, stop=stop, once=once, outage=outage)


def run_reconciler(
    transaction: Transactions,
    dispatcher: Dispatcher,
    *,
    stop: StopSignal,
    interval: float,
    pending_for: timedelta,
    once: bool = False,
    clock: Clock = utcnow,
    say: Say = log.info,
    warn: Say = log.warning,
) -> LostWork:
    """Reconcile every ``interval`` seconds until ``stop`` (or once); the last pass's find."""
    found = LostWork()

    def one_pass() -> float:
        nonlocal found
        found = reconcile_once(transaction, dispatcher, clock=clock, pending_for=pending_for)
        if found.runs:
            say(f"resumed the fan-out of {len(found.runs)} runs")
        say(f"re-enqueued {len(found.deliveries)} deliveries")
        return interval

    def outage(problem: str) -> None:
        log.warning("reconcile pass failed, retrying in %s s: %s", interval, problem)
        warn(f"outage: {problem}")

    _repeat(one_pass, interval=interval, stop=stop, once=once, outage=outage)
    return found


def _pause_until(due: datetime | None, *, now: datetime, interval: float) -> float:
    """Seconds to sleep before the next pass: ``interval``, or less when a task falls due
    sooner, so that it fires at its time rather than up to an interval late."""
    if due is None or due <= now:
        return interval
    return min(interval, (due - now).total_seconds() + DUE_SLACK)


def _repeat(
    one_pass: Callable[[], float],
    *,
    interval: float,
    stop: StopSignal,
    once: bool,
    outage: Callable[[str], None],
) -> None:
    """Run ``one_pass`` until ``stop``, sleeping the seconds it returns between passes (an
    outage waits ``interval``); an outage is waited out, except in a single pass (``once``),
    where it is raised."""
    while not stop.requested:
        pause = interval
        try:
            pause = one_pass()
        except OUTAGE_ERRORS as error:
            if once:
                raise
            outage(describe_outage(error))
        if once:
            return
        stop.sleep(pause)
