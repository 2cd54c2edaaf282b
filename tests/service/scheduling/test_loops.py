"""The scheduler's and the reconciler's loops as plain functions: a loop fires what is due and
stops on its signal; the reconciler's pass queues lost work again (both backends)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.delivery.ledger import Recipients, create_run
from service.scheduling.loops import (
    SchedulerTiming,
    StopSignal,
    Transactions,
    reconcile_once,
    run_reconciler,
    run_scheduler,
)
from service.scheduling.scheduler import create_task, edit_task, next_due
from service.scheduling.task_schema import to_epoch_millis
from tests.service.scheduling.conftest import Account
from tests.service.scheduling.test_scheduler import (
    CREATED,
    daily_task,
    ny,
    runs_of,
)

#: How long a test waits for what should take a moment, before it fails.
DEADLINE = 20.0


class RecordingDispatcher:
    """Remembers what was handed to the workers; ``handed`` is set at the first runs."""

    def __init__(self) -> None:
        self.runs: list[int] = []
        self.deliveries: list[int] = []
        self.handed = threading.Event()

    def start_runs(self, run_ids: Sequence[int]) -> None:
        self.runs.extend(run_ids)
        self.handed.set()

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        self.deliveries.extend(delivery_ids)


def transactions(session: Session) -> Transactions:
    """The loops' ``transaction``: a SAVEPOINT of the test's session per pass (rolled back
    with the test)."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return transaction


def test_given_a_due_task_when_the_loop_runs_then_it_fires_once_and_stops_on_sigterm(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    dispatcher = RecordingDispatcher()
    stop = StopSignal()

    def terminate_once_handed() -> None:
        if dispatcher.handed.wait(DEADLINE):
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(DEADLINE)
        stop.request()  # a signal that did not stop it: the loop ends, and the test fails

    threading.Thread(target=terminate_once_handed, daemon=True).start()
    began = time.monotonic()
    with stop:
        run_scheduler(
            transactions(session),
            dispatcher,
            stop=stop,
            timing=SchedulerTiming(interval=DEADLINE * 3, reconcile_every=DEADLINE * 3),
            clock=lambda: ny(2, 28, 8, 1),
        )

    assert time.monotonic() - began < DEADLINE
    assert stop.requested and [run.id for run in runs_of(session, task.id)] == dispatcher.runs
    assert len(dispatcher.runs) == 1
    assert signal.getsignal(signal.SIGTERM) is not stop._handle


def once_task(name: str, at: datetime) -> dict[str, Any]:
    """A task that runs once, at ``at``."""
    task = daily_task(name)
    task["scheduleDetails"] = {
        "timeZone": "UTC",
        "recurrenceType": "none",
        "onceOnlyScheduleParameters": {"startTime": to_epoch_millis(at)},
    }
    return task


def test_given_a_task_due_before_the_interval_ends_when_the_loop_sleeps_then_it_wakes_for_it(
    session: Session, account: Account
) -> None:
    created = datetime.now(UTC)
    due = (created + timedelta(seconds=1)).replace(microsecond=0) + timedelta(seconds=1)
    task = create_task(session, account_id=account.id, task=once_task("Soon", due), now=created)
    dispatcher = RecordingDispatcher()
    stop = StopSignal()

    def terminate_once_handed() -> None:
        if dispatcher.handed.wait(DEADLINE):
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(DEADLINE)
        stop.request()

    threading.Thread(target=terminate_once_handed, daemon=True).start()
    with stop:
        run_scheduler(
            transactions(session),
            dispatcher,
            stop=stop,
            # An interval far longer than the test: only waking at the due time fires it.
            timing=SchedulerTiming(interval=DEADLINE * 3, reconcile_every=DEADLINE * 3),
        )

    fired = datetime.now(UTC)
    assert [run.occurrence for run in runs_of(session, task.id)] == [due]
    assert len(dispatcher.runs) == 1 and due <= fired < due + timedelta(seconds=DEADLINE / 2)


def test_given_tasks_when_asked_for_the_next_due_time_then_only_enabled_working_ones_count(
    session: Session, account: Account
) -> None:
    # Long ago, so that no task another test committed comes first.
    created, soon, later = (datetime(2001, 1, day, 8, tzinfo=UTC) for day in (1, 2, 3))
    disabled = create_task(session, account_id=account.id, task=once_task("Off", soon), now=created)
    edit_task(
        session, account_id=account.id, task_id=disabled.id, changes={"enabled": False}, now=created
    )
    create_task(session, account_id=account.id, task=once_task("On", later), now=created)

    assert next_due(session, after=created) == later
    assert next_due(session, after=later) != later


def test_given_a_stop_during_a_pass_when_it_ends_then_its_runs_are_handed_over_first(
    session: Session, account: Account
) -> None:
    create_task(session, account_id=account.id, task=daily_task("One"), now=CREATED)
    create_task(session, account_id=account.id, task=daily_task("Two"), now=CREATED)
    stop = StopSignal()

    class StopWhileHanding(RecordingDispatcher):
        def start_runs(self, run_ids: Sequence[int]) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-pass: only noted
            super().start_runs(run_ids)

    dispatcher = StopWhileHanding()
    with stop:
        run_scheduler(
            transactions(session),
            dispatcher,
            stop=stop,
            timing=SchedulerTiming(interval=DEADLINE * 3),
            clock=lambda: ny(2, 28, 8, 1),
        )

    assert stop.requested and len(dispatcher.runs) == 2


def test_given_lost_deliveries_when_the_reconciler_passes_then_they_are_queued_again(
    session: Session, account: Account
) -> None:
    new = create_run(
        session,
        account_id=account.id,
        report_type="summary",
        parameters={},
        recipients=Recipients(all_contacts=True),
        triggered_by="test",
        period_start=CREATED - timedelta(days=7),
        period_end=CREATED,
        now=CREATED,
    )
    dispatcher = RecordingDispatcher()
    pending_for = timedelta(minutes=10)

    early = reconcile_once(
        transactions(session),
        dispatcher,
        clock=lambda: CREATED + timedelta(minutes=1),
        pending_for=pending_for,
    )
    late = run_reconciler(
        transactions(session),
        dispatcher,
        stop=StopSignal(),
        interval=0,
        pending_for=pending_for,
        once=True,
        clock=lambda: CREATED + timedelta(minutes=11),
        say=lambda line: None,
    )

    assert not early and sorted(late.deliveries) == sorted(new.delivery_ids)
    assert sorted(dispatcher.deliveries) == sorted(new.delivery_ids)
