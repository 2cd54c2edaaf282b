"""PostgreSQL restarted in the middle of a run: the worker and the scheduler recover without a
restart of their own, and a mail sent as the database went down is recorded, not sent again.

The cluster is the test's own (``tests.faults.servers``), stopped with ``pg_ctl -m
immediate`` (a crash: connections cut, recovery from the WAL at the next start). The crash
comes while the worker is sending a mail and no process has a transaction open: the SMTP sink
holds mails before answering DATA, the worker and the scheduler are frozen (SIGSTOP) once a
mail is held and no transaction is open, and after the crash the mail is answered and the
processes thawed to live through the outage, so the mail's outcome has to be recorded after
the restart. (Catching a send without holding it raced the run: with connections reused, a
send takes a few milliseconds, and a whole run could finish between two looks.)

A scheduled task comes due while the database is down; after the restart the same scheduler
process fires it, and the same worker delivers both runs, one mail per delivery.

"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from service.delivery.ledger import DeliveryState
from service.reports.kinds import BY_TYPE
from service.reports.model import ReportType
from service.scheduling.scheduler import create_task
from service.scheduling.task_schema import to_epoch_millis
from storage.db import transaction
from storage.models import ReportRun
from tests.actors.conftest import World
from tests.faults.harness import (
    REPORT_TYPE,
    Background,
    FaultWorker,
    Processes,
    add_contacts,
    assert_each_delivery_mailed_once,
    count_states,
    explained,
    ids_in,
    notes,
    start_run,
    wait_for,
)
from tests.faults.servers import HoldingHandler, PostgresCluster

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

CONTACTS = 40
#: Time zones among the contacts: a document and a render each, in each worker's life.
ZONES = 4
#: Seconds the database stays down; the task comes due in the middle of it.
DOWN_FOR = 3.0
TEMPLATE_ID = BY_TYPE[ReportType(REPORT_TYPE)].template_id
#: The held mail's client waits this long for an answer: longer than finding the moment and
#: crashing the database take on a loaded machine. The lease must outlast it.
PROCESS_SETTINGS = {"smtp_timeout": 8.0, "reconcile_after": 12.0}


def test_postgres_restarted_mid_run_the_same_worker_and_scheduler_finish_the_run_and_fire_a_task(
    world: World, processes: Processes, postgres: PostgresCluster
) -> None:
    add_contacts(world, CONTACTS - len(world.contacts), zones=ZONES)
    scheduler = processes.scheduler()
    worker = processes.worker()
    run_id, _ = world.new_run(report_type=REPORT_TYPE)
    start_run(world, run_id)

    with explained(processes):
        # When some mails are out and one is being sent, with a task due in a second ...
        wait_for(lambda: count_states(world, run_id)[DeliveryState.sent] >= 10, "10 mails sent")
        sink = world.sink.handler
        assert isinstance(sink, HoldingHandler)
        sending = freeze_while_sending(world, run_id, worker, scheduler, sink)
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        task_id = add_task(world, due)

        # ... PostgreSQL crashes, the mail is answered, and the database comes back after the
        # task's time ...
        postgres.stop("immediate")
        sink.release()
        worker.thaw()
        scheduler.thaw()
        time.sleep(DOWN_FOR)
        assert datetime.now(UTC) > due
        postgres.start()

        # ... the same scheduler fires the task, and the same worker delivers both runs ...
        fired = wait_for_task_run(world, task_id, timeout=60)
        world.wait_finished(run_id, timeout=60)
        world.wait_finished(fired, timeout=60)
        assert worker.popen.poll() is None, "the worker exited"
        scheduler.assert_alive()

    # ... the mail in flight recorded as sent by its first attempt, and no mail sent twice.
    for delivery_id in sending:
        delivery = world.delivery(delivery_id)
        assert delivery.attempts == 1 and not delivery.possible_duplicate, notes(world, delivery_id)
    with world.sessions() as session:  # due while the database was down: fired after
        run = session.get(ReportRun, fired)
        assert run is not None and run.occurrence == due and run.created >= due
    assert_each_delivery_mailed_once(world, run_id, fired)


def freeze_while_sending(
    world: World,
    run_id: int,
    worker: FaultWorker,
    scheduler: Background,
    sink: HoldingHandler,
    timeout: float = 60,
) -> list[int]:
    """Freeze the worker and the scheduler at a moment when a mail is held by the SMTP sink
    (sent, not yet answered) and neither process has a transaction open; the deliveries in
    ``sending``. The sink keeps holding mails until the caller releases them.

    A mail already answered is being recorded, in a transaction the crash would cut: recording
    it again after such a cut is ``service.delivery.pipeline``'s to do, not this test's subject.
    """
    sink.hold()
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"never caught a send: {count_states(world, run_id)}"
        if sink.held:
            worker.freeze()
            scheduler.freeze()
            sending = ids_in(world, run_id, DeliveryState.sending)
            received = {to for mail in world.sink.received for to in mail.rcpt_tos}
            on_the_way = [i for i in sending if world.delivery(i).recipient_address not in received]
            if sending and on_the_way == sending and not open_transactions(world):
                return sending
            worker.thaw()
            scheduler.thaw()
        time.sleep(0.01)


def open_transactions(world: World) -> int:
    """Other sessions of the database in the middle of a transaction."""
    with world.sessions() as session:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state <> 'idle'"
                )
            )
            or 0
        )


def add_task(world: World, due: datetime) -> int:
    """A once-only task at ``due``, to everyone."""
    with transaction(world.sessions) as session:
        task = create_task(
            session,
            account_id=world.account_id,
            task={
                "name": "During the outage",
                "scheduleDetails": {
                    "timeZone": "UTC",
                    "recurrenceType": "none",
                    "onceOnlyScheduleParameters": {"startTime": to_epoch_millis(due)},
                },
                "generateReportTaskParameters": {
                    "reportTemplateID": TEMPLATE_ID,
                    "format": "pdf",
                    "recipients": {"allAdministratorsAndContacts": True},
                    "timeRange": {"units": "day", "value": 7},
                },
            },
            now=datetime.now(UTC),
        )
    return task.id


def wait_for_task_run(world: World, task_id: int, timeout: float) -> int:
    found: list[int] = []

    def fired() -> bool:
        with world.sessions() as session:
            found[:] = session.scalars(
                select(ReportRun.id).where(ReportRun.scheduled_task_id == task_id)
            ).all()
        return bool(found)

    wait_for(fired, f"a run of task {task_id}", timeout)
    assert len(found) == 1, found
    return found[0]
