"""Real ``reportd scheduler`` processes on PostgreSQL: every occurrence fires exactly once.

The processes share their own database (``reportd_sched_test_<pid>``) and a Redis database
leased for the test as the broker with no worker, so the runs' ``start_run`` messages wait
there to be counted. The lease keeps test runs from several checkouts on one machine from
counting each other's messages (their run ids are the same 1, 2, 3 ...).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from service.scheduling.scheduler import create_task
from service.scheduling.task_schema import to_epoch_millis
from storage.models import Delivery, ReportRun
from storage.tasks import ScheduledTaskRow, TaskOccurrence
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

#: This module's own database on the test server; the shared test database is left alone.
SCHEDULER_DB_URL = make_url(POSTGRES_URL).set(database=f"reportd_sched_test_{os.getpid()}")
#: The Redis server used as the broker; nothing consumes it. A test leases one of its
#: databases: an empty one, which it marks with ``LEASE_KEY`` and leaves empty again.
REDIS_URL = os.environ.get("REPORTD_TEST_SCHEDULER_REDIS_URL", "redis://127.0.0.1:6379")
BROKER_DATABASES = range(15, 0, -1)
LEASE_KEY = "reportd:scheduler-test-lease"
LEASE_SECONDS = 1800
TASKS = 200


@pytest.fixture
def database() -> Iterator[Engine]:
    engine = postgres_engine(SCHEDULER_DB_URL.render_as_string(hide_password=False))
    need("PostgreSQL", engine is not None, f"cannot create {SCHEDULER_DB_URL.database}")
    assert engine is not None
    yield engine
    drop_postgres_database(engine)


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """An empty Redis database of ``REDIS_URL``, leased for this test; emptied after it."""
    leased = None
    for number in BROKER_DATABASES:
        client = redis.Redis.from_url(REDIS_URL, db=number)
        try:
            client.ping()
        except redis.ConnectionError as error:
            need("Redis", False, f"{REDIS_URL}: {error}")
        if client.dbsize() == 0 and client.set(LEASE_KEY, os.getpid(), nx=True, ex=LEASE_SECONDS):
            leased = client
            break
        client.close()
    need("Redis", leased is not None, f"{REDIS_URL}: no empty database to lease")
    assert leased is not None
    yield leased
    ours = list(leased.scan_iter("dramatiq:*"))
    if ours:
        leased.delete(*ours)
    leased.delete(LEASE_KEY)
    leased.close()


def broker_url(client: redis.Redis) -> str:
    number = client.connection_pool.connection_kwargs["db"]
    return f"{REDIS_URL.rstrip('/')}/{number}"


class Schedulers:
    """``reportd scheduler`` processes, stopped (or killed) at the end of the test."""

    def __init__(self, logs: Path, broker_url: str) -> None:
        self.logs = logs
        self.broker_url = broker_url
        self.started: list[subprocess.Popen[bytes]] = []
        self.files: list[IO[bytes]] = []

    def start(
        self, *, name: str, limit: int = 20, once: bool = False, reconcile_after: float = 600
    ) -> subprocess.Popen[bytes]:
        url = SCHEDULER_DB_URL.update_query_dict({"application_name": name})
        env = {
            **os.environ,
            "REPORTD_DATABASE_URL": url.render_as_string(hide_password=False),
            "REPORTD_BROKER_URL": self.broker_url,
            "REPORTD_RECONCILE_AFTER": str(reconcile_after),
            # The lease (reconcile_after) must outlast an SMTP attempt; nothing is sent here.
            "REPORTD_SMTP_TIMEOUT": str(min(30.0, reconcile_after / 2)),
        }
        command = [sys.executable, "-c", "from service.cli import main; main()", "scheduler"]
        command += ["--interval", "0.5", "--limit", str(limit)]
        command += ["--once", "--reconcile-every", "0"] if once else ["--reconcile-every", "3600"]
        log = (self.logs / f"{name}.log").open("wb")
        self.files.append(log)
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            process.wait(timeout=20)

    def errors(self) -> str:
        """The logs, if any process wrote a traceback."""
        texts = [path.read_text() for path in sorted(self.logs.glob("*.log"))]
        return "\n".join(t for t in texts if "Traceback" in t)


@pytest.fixture
def schedulers(tmp_path: Path, broker: redis.Redis) -> Iterator[Schedulers]:
    started = Schedulers(tmp_path, broker_url(broker))
    yield started
    for process in started.started:
        if process.poll() is None:
            process.kill()
            process.wait()
    for file in started.files:
        file.close()


def add_tasks(
    engine: Engine, *, occurrences: list[datetime], contacts: int, now: datetime
) -> dict[int, datetime]:
    """One task per occurrence (alternately once-only and daily), to every contact."""
    expected: dict[int, datetime] = {}
    with Session(engine) as session, session.begin():
        account = create_account(session, name="Scheduled")
        box = SecretBox("k")
        for i in range(contacts):
            add_contact(
                session,
                account_id=account.id,
                box=box,
                name=f"Contact {i}",
                email_address=f"contact{i}@example.com",
                role_id=None,
            )
        for i, occurrence in enumerate(occurrences):
            if i % 2:
                schedule: dict[str, Any] = {
                    "recurrenceType": "daily",
                    "dailyScheduleParameters": {
                        "startTime": to_epoch_millis(occurrence),
                        "frequencyType": "everyday",
                    },
                }
            else:
                schedule = {
                    "recurrenceType": "none",
                    "onceOnlyScheduleParameters": {"startTime": to_epoch_millis(occurrence)},
                }
            task = create_task(
                session,
                account_id=account.id,
                task={
                    "name": f"Task {i}",
                    "scheduleDetails": {"timeZone": "Asia/Tokyo", **schedule},
                    "generateReportTaskParameters": {
                        "reportTemplateID": 1,
                        "format": "pdf",
                        "recipients": {"allAdministratorsAndContacts": True},
                        "timeRange": {"units": "day", "value": 1},
                    },
                },
                now=now,
            )
            expected[task.id] = occurrence
    return expected


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def assert_fired_exactly_once(engine: Engine, expected: dict[int, datetime]) -> None:
    """One run and one ``fired`` record per expected (task, occurrence), nothing else."""
    with Session(engine) as session:
        runs = session.execute(select(ReportRun.scheduled_task_id, ReportRun.occurrence)).all()
        recorded = session.execute(
            select(TaskOccurrence.task_id, TaskOccurrence.occurrence, TaskOccurrence.outcome)
        ).all()
    assert sorted(tuple(run) for run in runs) == sorted(expected.items())
    assert sorted(recorded) == sorted((task, when, "fired") for task, when in expected.items())


def enqueued(broker: redis.Redis, queue: str) -> list[int]:
    """The ids the waiting messages of ``queue`` carry (nothing consumes them)."""
    return sorted(json.loads(m)["args"][0] for m in broker.hvals(f"dramatiq:{queue}.msgs"))


def run_ids(engine: Engine, *, created_before: datetime | None = None) -> list[int]:
    statement = select(ReportRun.id)
    if created_before is not None:
        statement = statement.where(ReportRun.created < created_before)
    with Session(engine) as session:
        return sorted(session.scalars(statement))


def test_given_three_schedulers_when_200_tasks_come_due_then_each_occurrence_fires_once(
    database: Engine, broker: redis.Redis, schedulers: Schedulers
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # Spread over 5 to 20 seconds from now, several tasks on the same second.
    occurrences = [now + timedelta(seconds=5 + (i * 15) // TASKS) for i in range(TASKS)]
    expected = add_tasks(database, occurrences=occurrences, contacts=3, now=now)

    for name in ("scheduler-a", "scheduler-b", "scheduler-c"):
        schedulers.start(name=name)
    wait_until(
        lambda: count(database, TaskOccurrence) >= TASKS, timeout=90, what="every occurrence"
    )
    schedulers.stop()

    assert schedulers.errors() == ""
    assert_fired_exactly_once(database, expected)
    # Each run was enqueued once, after its commit.
    assert enqueued(broker, "runs") == run_ids(database)


def test_given_a_scheduler_killed_while_holding_claims_when_another_starts_then_each_fires_once(
    database: Engine, broker: redis.Redis, schedulers: Schedulers
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # One burst, every task due at once; many recipients make each claim last a while.
    expected = add_tasks(
        database, occurrences=[now + timedelta(seconds=4)] * TASKS, contacts=25, now=now
    )
    victim = schedulers.start(name="victim", limit=10)

    # Kill it at a random moment of the burst while its transaction holds claimed rows (a
    # transaction id is assigned by its first row lock: the claim's SELECT ... FOR UPDATE).
    # It is frozen first, and killed only once its server side is seen waiting inside that
    # transaction: a commit already on its way when it was frozen cannot slip in between.
    kill_after = random.randrange(TASKS // 2)
    wait_until(lambda: count(database, TaskOccurrence) >= kill_after, timeout=60, what="burst")
    wait_until(lambda: _frozen_holding_claims(victim, database), timeout=60, what="a held claim")
    os.kill(victim.pid, signal.SIGKILL)
    killed = datetime.now(UTC)
    victim.wait(timeout=10)
    wait_until(lambda: not _connected(database, "victim"), timeout=10, what="its rollback")
    fired_by_victim = count(database, TaskOccurrence)
    assert fired_by_victim < TASKS, "the victim finished the burst before it could be killed"
    with Session(database) as session:
        # What the victim claimed but never committed is back to not fired.
        unfired = select(func.count()).where(ScheduledTaskRow.last_run_time.is_(None))
        assert session.scalar(unfired) == TASKS - fired_by_victim

    for name in ("survivor-a", "survivor-b"):
        schedulers.start(name=name)
    wait_until(lambda: count(database, TaskOccurrence) >= TASKS, timeout=90, what="the rest")
    schedulers.stop()

    assert schedulers.errors() == ""
    assert_fired_exactly_once(database, expected)
    # A run committed just before the kill may have lost its start_run message (commit, then
    # enqueue); never one of the survivors'. The reconciler finds its pending deliveries.
    lost = sorted(set(run_ids(database)) - set(enqueued(broker, "runs")))
    assert set(lost) <= set(run_ids(database, created_before=killed))
    assert len(enqueued(broker, "runs")) == len(set(enqueued(broker, "runs")))
    time.sleep(max(0.0, (killed + timedelta(seconds=1.5) - datetime.now(UTC)).total_seconds()))
    reconciler = schedulers.start(name="reconciler", once=True, reconcile_after=1)
    assert reconciler.wait(timeout=60) == 0
    with Session(database) as session:
        lost_deliveries = select(Delivery.id).where(Delivery.run_id.in_(lost))
        assert set(session.scalars(lost_deliveries)) <= set(enqueued(broker, "deliveries"))


def _frozen_holding_claims(process: subprocess.Popen[bytes], engine: Engine) -> bool:
    """Freeze ``process`` (SIGSTOP) when its transaction holds claims, and True once its
    server side is idle inside that transaction (nothing in flight can commit it any more);
    else let it go on (SIGCONT) and False. The test fails if it finished the burst first."""
    if process.poll() is not None or not _holds_row_locks(engine, "victim"):
        return False
    os.kill(process.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = _backend_states(engine, "victim")
        if "active" not in {state for state, _ in states}:
            if ("idle in transaction", True) in states:
                return True
            break  # what was in flight committed: no claim is held now
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGCONT)
    return False


def _holds_row_locks(engine: Engine, application: str) -> bool:
    return any(holds for _, holds in _backend_states(engine, application))


def _backend_states(engine: Engine, application: str) -> set[tuple[str, bool]]:
    """(state, holds a transaction id) of each server process of ``application``."""
    query = text(
        "SELECT state, backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = :name"
    )
    with engine.connect() as connection:
        return {
            (str(state), bool(holds))
            for state, holds in connection.execute(query, {"name": application})
        }


def _connected(engine: Engine, application: str) -> bool:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
    with engine.connect() as connection:
        return bool(connection.scalar(query, {"name": application}))
