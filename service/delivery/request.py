"""Asking for a report run: checks the request, then writes the run and its deliveries.

Shared by the CLI, the API and the scheduler; the caller commits, then enqueues ``start_run``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.delivery.ledger import NewRun, Recipients, create_run
from service.errors import InvalidInput
from service.reports.builder import report_filter_from
from service.reports.model import Classification, ReportType

#: Formats reportd produces (the console API's ``format`` values it supports).
FORMATS = ("pdf", "csv")


def new_report_run(
    session: Session,
    *,
    account_id: int,
    report_type: str,
    parameters: dict[str, Any],
    recipients: Recipients,
    triggered_by: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    scheduled_task_id: int | None = None,
    occurrence: datetime | None = None,
) -> NewRun:
    """Validate the report's type and parameters, then create the run."""
    try:
        kind = ReportType(report_type)
    except ValueError:
        known = ", ".join(t.value for t in ReportType)
        raise InvalidInput(f"report type {report_type!r} is unknown; use one of {known}") from None
    if parameters.get("format", "pdf") not in FORMATS:
        raise InvalidInput(f"format {parameters.get('format')!r}: use one of {', '.join(FORMATS)}")
    try:
        Classification(parameters.get("classification", "blank"))
    except ValueError:
        raise InvalidInput(
            f"classification {parameters.get('classification')!r} is unknown"
        ) from None
    report_filter_from(parameters)
    return create_run(
        session,
        account_id=account_id,
        report_type=kind.value,
        parameters=parameters,
        recipients=recipients,
        triggered_by=triggered_by,
        period_start=period_start,
        period_end=period_end,
        now=now,
        scheduled_task_id=scheduled_task_id,
        occurrence=occurrence,
    )
