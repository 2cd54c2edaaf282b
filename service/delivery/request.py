"""Asking for a report run: the run and its deliveries, for a spec an edge has built.

Shared by the CLI, the API and the scheduler; the spec was checked when it was built
(``service.reports.spec``), so nothing is validated twice; only what the JSON cannot say by
itself is checked here (that a smart folder it names exists in the account). The caller
commits, then enqueues ``start_run``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.delivery.ledger import NewRun, Recipients, create_run
from service.directory.smart_folders import require_folder
from service.reports.spec import ReportSpec


def new_report_run(
    session: Session,
    *,
    account_id: int,
    spec: ReportSpec,
    recipients: Recipients,
    triggered_by: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    scheduled_task_id: int | None = None,
    occurrence: datetime | None = None,
) -> NewRun:
    """Create the run of ``spec`` over ``[period_start, period_end)``, stored as its JSON;
    a smart folder it names must be the account's (``InvalidInput`` otherwise)."""
    require_folder(session, account_id, spec.report_filter)
    return create_run(
        session,
        account_id=account_id,
        report_type=spec.kind.value,
        parameters=spec.spec.to_api(),
        recipients=recipients,
        triggered_by=triggered_by,
        period_start=period_start,
        period_end=period_end,
        now=now,
        scheduled_task_id=scheduled_task_id,
        occurrence=occurrence,
    )
