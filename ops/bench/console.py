"""Console benchmark: every list page, paginated, served through HTTP from a loaded PostgreSQL.

The data is the issue's size: 10,000 contacts, 1,000 scheduled tasks and 100,000 deliveries
(1,000 runs: 999 of 50 recipients and one of 50,050, each delivery with its three
transitions), plus 200 administrators and the sample account's roles, computers and events,
in a fresh database (``ops.bench.databases.fresh_database``), loaded in bulk (multi-row
INSERTs, then VACUUM ANALYZE, as autovacuum would). ``reportd api``'s application runs under
uvicorn in a subprocess (one process, as ``reportd api`` starts it); a signed-in session (a
Full Access administrator) asks each page over httpx, one request at a time, after a warm-up.

Printed per page: p50, p95 and max in milliseconds over ``--requests`` requests, and whether
p95 is under the 150 ms target; the machine's load average before and after (the machine may
be shared: figures on a busy one are upper bounds).

    python -m ops.bench.console                   # the issue's size
    python -m ops.bench.console --quick           # a tenth of it, to try the script
    python -m ops.bench.console --requests 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from ops.bench.databases import fresh_database
from service.console.sessions import start_session
from service.console.web import SESSION_COOKIE
from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.db import make_session_factory, transaction
from storage.models import Contact, Delivery, DeliveryTransition, Membership, ReportRun, Role, User
from storage.tasks import ScheduledTaskRow

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_console_bench"
#: The issue's size.
CONTACTS, TASKS, ADMINISTRATORS = 10_000, 1_000, 200
RUNS, RUN_SIZE, BIG_RUN_SIZE = 1_000, 50, 50_050
#: The target: every list page under this at the 95th percentile.
TARGET_MS = 150.0
#: Rows per INSERT statement while loading.
CHUNK = 5_000
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "console-bench-key"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Size:
    contacts: int
    tasks: int
    administrators: int
    runs: int
    run_size: int
    big_run_size: int

    @property
    def deliveries(self) -> int:
        return (self.runs - 1) * self.run_size + self.big_run_size


FULL = Size(CONTACTS, TASKS, ADMINISTRATORS, RUNS, RUN_SIZE, BIG_RUN_SIZE)
QUICK = Size(CONTACTS // 10, TASKS // 10, ADMINISTRATORS // 10, RUNS // 10, RUN_SIZE, 5_050)


@dataclass(frozen=True)
class Loaded:
    account_id: int
    user_id: int
    big_run: int
    small_run: int
    task_id: int


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bulk(session: Session, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Insert ``rows`` in chunks; each chunk is sent as multi-row INSERTs (SQLAlchemy's
    "insertmanyvalues"), far fewer round trips than a row at a time."""
    connection = session.connection()
    for chunk in _chunks(rows):
        connection.execute(insert(model.__table__), chunk)


def _weekly_task(index: int, account_id: int, contact_ids: list[int]) -> dict[str, Any]:
    zone = ("Europe/London", "Asia/Tokyo", "America/New_York", "Europe/Berlin")[index % 4]
    start = NOW + timedelta(hours=index % 500)
    return {
        "account_id": account_id,
        "name": f"Task {index:04d} {('weekly', 'digest', 'audit', 'firewall')[index % 4]}",
        "description": "",
        "enabled": index % 10 != 0,
        "schedule_details": {
            "timeZone": zone,
            "recurrenceType": "weekly",
            "weeklyScheduleParameters": {
                "startTime": round(start.timestamp() * 1000),
                "interval": 1,
                "days": ["monday", "thursday"],
            },
        },
        "parameters": {
            "reportTemplateID": 1 + index % 13,
            "format": "pdf",
            "timeRange": {"units": "day", "value": 7},
            "recipients": {"contactIDs": contact_ids[index % 50 : index % 50 + 5]},
        },
        "misfire_policy": "coalesce",
        "next_run": start,
        "last_fired": NOW,
        "created": NOW,
        "run_now": False,
    }


def load(engine: Engine, size: Size) -> Loaded:
    """The account, its people, tasks, runs and deliveries, in bulk."""
    sessions = make_session_factory(engine)
    box = SecretBox(SECRET)
    with transaction(sessions) as session:
        account = create_account(session, name="Bench Corp")
        dataset = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account.id, dataset=dataset, box=box)
        roles = list(session.scalars(select(Role.id).where(Role.account_id == account.id)))
        full_access = session.scalars(
            select(Role.id).where(Role.account_id == account.id, Role.name == "Full Access")
        ).one()
        _bulk(
            session,
            Contact,
            (
                {
                    "account_id": account.id,
                    "name": f"Contact {i:05d}",
                    "email_address": f"contact{i:05d}@example.com",
                    "role_id": roles[i % len(roles)],
                    "locale": ("en-US", "ja-JP", "de-DE")[i % 3],
                    "time_zone": "UTC",
                    "report_pdf_password_enabled": False,
                    "created": NOW,
                }
                for i in range(size.contacts)
            ),
        )
        _bulk(
            session,
            User,
            (
                {
                    "email_address": f"admin{i:04d}@example.com",
                    "username": f"admin{i:04d}@example.com",
                    "name": f"Administrator {i:04d}",
                    "created": NOW,
                }
                for i in range(size.administrators)
            ),
        )
        users = list(session.scalars(select(User.id).order_by(User.id)))
        _bulk(
            session,
            Membership,
            (
                {"account_id": account.id, "user_id": user_id, "role_id": full_access}
                for user_id in users
            ),
        )
        contact_ids = list(
            session.scalars(
                select(Contact.id).where(Contact.account_id == account.id).order_by(Contact.id)
            )
        )
        _bulk(
            session,
            ScheduledTaskRow,
            (_weekly_task(i, account.id, contact_ids) for i in range(size.tasks)),
        )
        task_ids = list(session.scalars(select(ScheduledTaskRow.id).order_by(ScheduledTaskRow.id)))
        _bulk(
            session,
            ReportRun,
            (
                {
                    "account_id": account.id,
                    "report_type": "summary",
                    "parameters": {"reportTemplateID": 1, "format": "pdf"},
                    "triggered_by": f"task:{task_ids[i % len(task_ids)]}" if i % 2 else "bench",
                    "scheduled_task_id": task_ids[i % len(task_ids)] if i % 2 else None,
                    "occurrence": NOW - timedelta(hours=i) if i % 2 else None,
                    "period_start": NOW - timedelta(hours=i, days=7),
                    "period_end": NOW - timedelta(hours=i),
                    "created": NOW - timedelta(hours=i),
                    "finished": NOW - timedelta(hours=i) + timedelta(minutes=5),
                    "total": size.big_run_size if i == 0 else size.run_size,
                    "sent": (size.big_run_size if i == 0 else size.run_size) - (i % 3),
                    "failed": i % 3,
                }
                for i in range(size.runs)
            ),
        )
        runs = list(
            session.execute(
                select(ReportRun.id, ReportRun.total, ReportRun.failed, ReportRun.created)
                .where(ReportRun.account_id == account.id)
                .order_by(ReportRun.id)
            )
        )

        def deliveries() -> Iterator[dict[str, Any]]:
            for run in runs:
                for n in range(run.total):
                    k = (run.id * 7 + n) % len(contact_ids)
                    failed = n < run.failed
                    yield {
                        "account_id": account.id,
                        "run_id": run.id,
                        "contact_id": contact_ids[k],
                        "recipient_name": f"Contact {k:05d}",
                        "recipient_address": f"contact{k:05d}@example.com",
                        "state": "failed" if failed else "sent",
                        "attempts": 1,
                        "last_error": "550 5.1.1 No such user here" if failed else "",
                        "message_id": None if failed else f"<{run.id}.{n}@reportd.bench>",
                        "size": None if failed else 180_000,
                        "sent_at": None if failed else run.created + timedelta(minutes=1),
                        "created": run.created,
                        "updated": run.created + timedelta(minutes=1),
                    }

        _bulk(session, Delivery, deliveries())
        first_delivery = session.scalar(
            select(Delivery.id).where(Delivery.account_id == account.id).order_by(Delivery.id)
        )
        last_delivery = session.scalar(
            select(Delivery.id)
            .where(Delivery.account_id == account.id)
            .order_by(Delivery.id.desc())
        )
        assert first_delivery is not None and last_delivery is not None

        def transitions() -> Iterator[dict[str, Any]]:
            at = NOW - timedelta(days=50)
            for delivery_id in range(first_delivery, last_delivery + 1):
                for before, after, note in (
                    ("pending", "rendering", "claimed"),
                    ("rendering", "sending", ""),
                    ("sending", "sent", ""),
                ):
                    yield {
                        "delivery_id": delivery_id,
                        "from_state": before,
                        "to_state": after,
                        "at": at,
                        "note": note,
                    }

        _bulk(session, DeliveryTransition, transitions())
        viewer = session.scalars(select(User.id).order_by(User.id)).first()
        assert viewer is not None
        small = runs[-1].id
    with engine.connect() as connection:
        # What autovacuum does after a bulk load: statistics, and the visibility map that
        # lets counts be read from an index alone.
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return Loaded(account.id, viewer, runs[0].id, small, task_ids[0])


SERVER = """
import sys, uvicorn
from service.api.app import create_app
from service.config import Settings
settings = Settings(database_url=sys.argv[1], secret_key=sys.argv[2])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, url, SECRET, str(port)], env=env, cwd=ROOT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the console did not start")


def pages(loaded: Loaded, size: Size) -> list[tuple[str, str]]:
    """(name, path) of every list page, first and deep pages, and the usual filters."""
    middle_contacts = (size.contacts // 2) // 25 * 25
    return [
        ("overview", "/"),
        ("contacts", "/contacts"),
        ("contacts, deep page", f"/contacts?offset={middle_contacts}"),
        ("contacts, search", "/contacts?q=contact0042"),
        ("administrators", "/administrators"),
        ("roles", "/roles"),
        ("tasks", "/tasks"),
        ("tasks, deep page", f"/tasks?offset={(size.tasks // 2) // 25 * 25}"),
        ("tasks, search", "/tasks?q=digest"),
        ("runs", "/runs"),
        ("runs, deep page", f"/runs?offset={(size.runs // 2) // 25 * 25}"),
        ("runs, failed", "/runs?state=failed"),
        ("runs, by task", f"/runs?task={loaded.task_id}"),
        ("runs, by recipient", "/runs?recipient=contact04242"),
        ("runs, by period", "/runs?from=2020-01-01&to=2099-12-31"),
        (f"run ledger, {size.big_run_size:,} deliveries", f"/runs/{loaded.big_run}"),
        (
            "run ledger, deep page",
            f"/runs/{loaded.big_run}?offset={(size.big_run_size // 2) // 50 * 50}",
        ),
        ("run ledger, failed only", f"/runs/{loaded.big_run}?state=failed"),
        (f"run ledger, {size.run_size} deliveries", f"/runs/{loaded.small_run}"),
    ]


def measure(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(3):  # warm-up: templates compiled, plans cached
        client.get(path).raise_for_status()
    found = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.get(path)
        found.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true", help="a tenth of the issue's size")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    started = time.perf_counter()
    engine = fresh_database(args.url)
    loaded = load(engine, size)
    print(
        f"loaded {size.contacts:,} contacts, {size.tasks:,} tasks, {size.administrators:,}"
        f" administrators, {size.runs:,} runs, {size.deliveries:,} deliveries"
        f" ({3 * size.deliveries:,} transitions) in {time.perf_counter() - started:.0f} s"
    )
    with transaction(make_session_factory(engine)) as session:
        token = start_session(
            session, user_id=loaded.user_id, account_id=loaded.account_id, now=datetime.now(UTC)
        ).token
    engine.dispose()
    port = free_port()
    server = serve(args.url, port)
    failures = 0
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", cookies={SESSION_COOKIE: token}, timeout=30
        ) as client:
            print(f"{'page':<34} {'p50':>7} {'p95':>7} {'max':>7}  (ms, {args.requests} requests)")
            for name, path in pages(loaded, size):
                times = measure(client, path, args.requests)
                p95 = percentile(times, 0.95)
                mark = "ok" if p95 < TARGET_MS else "OVER"
                failures += p95 >= TARGET_MS
                print(
                    f"{name:<34} {statistics.median(times):7.1f} {p95:7.1f} {max(times):7.1f}"
                    f"  {mark}"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"pages over {TARGET_MS:.0f} ms at p95: {failures}")


if __name__ == "__main__":
    main()
