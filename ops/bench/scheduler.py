"""Scheduler benchmark: 10,000 tasks due at the same instant, three ``reportd scheduler``
processes on PostgreSQL; seconds until every run exists, and runs per second.

The target: under 3 s (issue 20; it was 10 s). The processes are real ``reportd scheduler``
commands with Redis (db 13) as the broker and no worker, so ``start_run`` messages wait there
and the figure is the scheduler's alone: claim, create the run and its deliveries, record the
occurrence, advance the task, commit, enqueue. Tasks are validated once through ``parse_task``
and then inserted in bulk (creating them is not what is measured).

    python -m ops.bench.scheduler                      # 10,000 tasks, 3 processes
    python -m ops.bench.scheduler --tasks 500 --lead 5  # a quick end-to-end check
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ops.bench.databases import fresh_database
from service.directory.accounts import create_account
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from service.scheduling.scheduler import DEFAULT_TICK_LIMIT, parse_task
from service.scheduling.task_schema import to_epoch_millis
from storage.models import ReportRun
from storage.tasks import ScheduledTaskRow, TaskOccurrence

#: The benchmark's own database: dropped and created again on every run.
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_bench_sched"
#: Redis database used as the broker; flushed before and after.
DEFAULT_BROKER = "redis://127.0.0.1:6379/13"
#: Seconds between creating the tasks and their due time: the processes start meanwhile.
DEFAULT_LEAD = 15.0
#: How the benchmark finds its schedulers' PostgreSQL backends, to count their CPU.
APPLICATION_NAME = "reportd-bench-scheduler"
#: The target for 10,000 tasks (seconds; issue 20).
TARGET_SECONDS = 3.0


def add_tasks(engine: Engine, *, tasks: int, recipients: int, due: datetime) -> None:
    """``tasks`` once-only tasks due at ``due``, each to every contact of one account."""
    created = datetime.now(UTC)
    template = parse_task(
        {
            "name": "template",
            "scheduleDetails": {
                "timeZone": "Asia/Tokyo",
                "recurrenceType": "none",
                "onceOnlyScheduleParameters": {"startTime": to_epoch_millis(due)},
            },
            "generateReportTaskParameters": {
                "reportTemplateID": 1,
                "format": "pdf",
                "recipients": {"allAdministratorsAndContacts": True},
                "timeRange": {"units": "day", "value": 7},
            },
        }
    )
    with Session(engine) as session, session.begin():
        account = create_account(session, name="Bench Scheduling")
        for i in range(recipients):
            add_contact(
                session,
                account_id=account.id,
                box=SecretBox("bench"),
                name=f"Contact {i}",
                email_address=f"contact{i}@example.com",
                role_id=None,
            )
        row: dict[str, Any] = {
            "account_id": account.id,
            "description": "",
            "enabled": True,
            "schedule_details": template.schedule_details.to_api(),
            "parameters": template.generate_report_task_parameters.to_api(),
            "misfire_policy": template.misfire_policy.value,
            "next_run": due,
            "last_fired": created,
            "created": created,
            "run_now": False,
        }
        session.execute(
            insert(ScheduledTaskRow), [{**row, "name": f"Task {i}"} for i in range(tasks)]
        )


def start_schedulers(
    url: str, broker: str, *, processes: int, limit: int, interval: float
) -> list[subprocess.Popen[bytes]]:
    named = make_url(url).update_query_dict({"application_name": APPLICATION_NAME})
    env = {
        **os.environ,
        "REPORTD_DATABASE_URL": named.render_as_string(hide_password=False),
        "REPORTD_BROKER_URL": broker,
    }
    command = [sys.executable, "-c", "from service.cli import main; main()", "scheduler"]
    command += ["--interval", str(interval), "--limit", str(limit), "--reconcile-every", "3600"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(processes)]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU time of each live process (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def busy_pids(engine: Engine, schedulers: list[subprocess.Popen[bytes]]) -> list[int]:
    """The scheduler processes and their PostgreSQL backends."""
    query = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
    with engine.connect() as connection:
        backends = list(connection.scalars(query, {"name": APPLICATION_NAME}))
    return [process.pid for process in schedulers] + backends


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--recipients", type=int, default=1, help="Deliveries per run.")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_TICK_LIMIT, help="Tasks per scheduler commit."
    )
    parser.add_argument("--interval", type=float, default=0.5, help="Scheduler tick (s).")
    parser.add_argument("--lead", type=float, default=DEFAULT_LEAD)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    engine = fresh_database(args.url)
    queue = redis.Redis.from_url(args.broker)
    queue.flushdb()
    due = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(microsecond=0)
    add_tasks(engine, tasks=args.tasks, recipients=args.recipients, due=due)
    schedulers = start_schedulers(
        args.url, args.broker, processes=args.processes, limit=args.limit, interval=args.interval
    )
    try:
        time.sleep(max(0.0, due.timestamp() - time.time()))
        cpu_at_due = cpu_seconds(busy_pids(engine, schedulers))
        runs = 0
        first_run: float | None = None
        while runs < args.tasks:
            time.sleep(0.02)
            if any(process.poll() is not None for process in schedulers):
                raise SystemExit("a scheduler process exited")
            runs = count(engine, ReportRun)
            if runs and first_run is None:
                first_run = time.time()
        done = time.time()
        cpu_at_done = cpu_seconds(busy_pids(engine, schedulers))
        while queue.hlen("dramatiq:runs.msgs") < args.tasks and time.time() < done + 30:
            time.sleep(0.02)
        enqueued = time.time()
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        for process in schedulers:
            process.wait(timeout=30)

    elapsed = done - due.timestamp()
    with Session(engine) as session:
        pairs = session.execute(
            select(func.count(func.distinct(ReportRun.scheduled_task_id)))
        ).scalar_one()
    recorded = count(engine, TaskOccurrence)
    messages = queue.hlen("dramatiq:runs.msgs")
    queue.flushdb()
    engine.dispose()
    assert first_run is not None
    nproc = os.cpu_count() or 1
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, nproc: {nproc}")
    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(
        f"{args.tasks} tasks due at one instant, {args.processes} scheduler processes,"
        f" {args.recipients} deliveries per run, {args.limit} tasks per commit,"
        f" tick every {args.interval} s"
    )
    print(f"every run exists {elapsed:.2f} s after the due time (target < {TARGET_SECONDS} s)")
    print(f"first run {first_run - due.timestamp():.2f} s after the due time;", end=" ")
    print(f"every start_run queued at {enqueued - due.timestamp():.2f} s")
    print(f"runs per second: {args.tasks / elapsed:.0f} (from the due time)")
    spent = {pid: cpu - cpu_at_due.get(pid, 0.0) for pid, cpu in cpu_at_done.items()}
    clients = sum(spent.get(process.pid, 0.0) for process in schedulers)
    used = sum(spent.values())
    per_run = used / args.tasks
    print(
        f"CPU until every run existed: {clients:.1f} s in the schedulers, "
        f"{used - clients:.1f} s in their PostgreSQL backends: {per_run * 1000:.2f} ms per run;"
    )
    print(
        f"  {nproc} otherwise idle cores could do about {nproc / per_run:.0f} runs/s,"
        f" {args.tasks * per_run / nproc:.1f} s for these"
    )
    print(f"check: {pairs} tasks with a run, {recorded} occurrences, {messages} start_run queued")
    if not (pairs == recorded == messages == args.tasks):
        raise SystemExit("exactly-once check failed")


if __name__ == "__main__":
    main()
