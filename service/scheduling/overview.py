"""The console's overview: the last days' runs with their counts, the failures that need
attention, and the next scheduled tasks. Read-only, gated like runs and tasks
(``scheduledTaskRights`` at view-only or more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.delivery.run_admin import recipient_visible, scrub, stand_in
from service.directory.authz import can_read_tasks
from service.directory.principal import Principal
from storage.models import Delivery, ReportRun
from storage.tasks import ScheduledTaskRow

#: The overview's window.
OVERVIEW_DAYS = 7
#: Rows per list of the overview.
OVERVIEW_ROWS = 10


@dataclass(frozen=True)
class RunLine:
    """A run as the overview lists it."""

    id: int
    report_type: str
    triggered_by: str
    created: datetime
    finished: datetime | None
    total: int
    sent: int
    failed: int


@dataclass(frozen=True)
class FailureLine:
    """A failed delivery nobody has retried yet."""

    delivery_id: int
    run_id: int
    recipient_name: str
    recipient_address: str
    error: str
    updated: datetime
    #: The caller may not view the recipient: ``recipient_name`` is its ID ("#12"), and the
    #: address empty.
    hidden: bool = False


@dataclass(frozen=True)
class NextTask:
    id: int
    name: str
    next_run: datetime


@dataclass(frozen=True)
class Overview:
    since: datetime
    runs: list[RunLine]
    run_count: int
    sent: int
    failed: int
    failures: list[FailureLine]
    next_tasks: list[NextTask]


def overview_for(
    session: Session,
    caller: Principal,
    *,
    now: datetime,
    days: int = OVERVIEW_DAYS,
    rows: int = OVERVIEW_ROWS,
) -> Overview:
    """The account's last ``days`` days of runs, its unretried failures and next tasks."""
    can_read_tasks(caller)
    since = now - timedelta(days=days)
    account = caller.account_id
    recent = (ReportRun.account_id == account, ReportRun.created >= since)
    count, sent, failed = session.execute(
        select(
            func.count(ReportRun.id),
            func.coalesce(func.sum(ReportRun.sent), 0),
            func.coalesce(func.sum(ReportRun.failed), 0),
        ).where(*recent)
    ).one()
    runs = [
        RunLine(
            r.id, r.report_type, r.triggered_by, r.created, r.finished, r.total, r.sent, r.failed
        )
        for r in session.scalars(
            select(ReportRun).where(*recent).order_by(ReportRun.created.desc()).limit(rows)
        )
    ]
    failures = [
        _failure(caller, d)
        for d in session.scalars(
            select(Delivery)
            .where(
                Delivery.account_id == account,
                Delivery.state == "failed",
                Delivery.updated >= since,
            )
            .order_by(Delivery.updated.desc())
            .limit(rows)
        )
    ]
    tasks = [
        NextTask(t.id, t.name, t.next_run)
        for t in session.scalars(
            select(ScheduledTaskRow)
            .where(
                ScheduledTaskRow.account_id == account,
                ScheduledTaskRow.enabled.is_(True),
                ScheduledTaskRow.next_run.is_not(None),
            )
            .order_by(ScheduledTaskRow.next_run)
            .limit(rows)
        )
        if t.next_run is not None
    ]
    return Overview(
        since=since,
        runs=runs,
        run_count=int(count),
        sent=int(sent),
        failed=int(failed),
        failures=failures,
        next_tasks=tasks,
    )


def _failure(caller: Principal, row: Delivery) -> FailureLine:
    """A failed delivery; who it went to only if the caller may view them (as in a ledger)."""
    name, address, error = row.recipient_name, row.recipient_address, row.last_error
    if not recipient_visible(caller, administrator=row.user_id is not None):
        error = scrub(error, address, name)
        name, address = stand_in(contact_id=row.contact_id, user_id=row.user_id), ""
        return FailureLine(row.id, row.run_id, name, address, error, row.updated, hidden=True)
    return FailureLine(row.id, row.run_id, name, address, error, row.updated)
