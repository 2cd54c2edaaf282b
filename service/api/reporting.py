"""Report templates, one-off reports and their runs, in the API's JSON.

A one-off report is the same run ``reportd send`` creates: the same spec (format,
classification, ``timeRange``, ``computerFilter``, ``tagFilter``, ``attachCSV``: one
``service.reports.spec.ReportSpec``) and a period that ends now (or the custom one it names),
so the mail each contact gets is the one the CLI would send. The rules (``scheduledTaskRights``,
the period, the audit event) are ``service.delivery.run_admin``'s, which the console calls
too. The caller commits, then hands the run to the broker (``start_run``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.api.authz import Caller
from service.api.schemas import BodyID
from service.delivery import run_admin
from service.delivery.ledger import Recipients
from service.delivery.run_admin import DeliveryLine
from service.errors import NotFound
from service.reports.kinds import BY_TEMPLATE_ID, KINDS, ReportKind, kind_of
from service.reports.spec import LAST_WEEK, ReportSpec, TimeRange


def template_to_api(kind: ReportKind) -> dict[str, Any]:
    return {
        "ID": kind.template_id,
        "name": kind.title,
        "description": kind.description,
        "reportType": kind.report_type.value,
        "timeFilterSupported": True,
        "computerFilterSupported": True,
        "tagFilterSupported": True,
        "supportedFormats": [f.value for f in kind.formats],
    }


def list_templates() -> list[dict[str, Any]]:
    return [template_to_api(kind) for kind in KINDS]


def get_template(template_id: int) -> dict[str, Any]:
    kind = BY_TEMPLATE_ID.get(template_id)
    if kind is None:
        raise NotFound(f"no report template with ID {template_id}")
    return template_to_api(kind)


class RecipientsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allAdministratorsAndContacts: bool | None = Field(
        None, description="Every contact of the account (reportd sends to contacts)."
    )
    contactIDs: list[BodyID] | None = None
    administratorIDs: list[BodyID] | None = None


class ReportBody(ReportSpec):
    """A one-off report: the SDK's ``GenerateReportTaskParameters`` with ``attachCSV`` and
    ``skipIfEmpty`` (the report is ``service.reports.spec``'s); its window is the last 7 days
    unless given."""

    recipients: RecipientsBody
    time_range: TimeRange = Field(LAST_WEEK, alias="timeRange")


def recipients_of(body: RecipientsBody) -> Recipients:
    """The ledger's recipients of the SDK's ``Recipients``."""
    everyone = bool(body.allAdministratorsAndContacts)
    return Recipients(
        all_contacts=everyone,
        all_users=everyone,
        contact_ids=tuple(body.contactIDs or ()),
        user_ids=tuple(body.administratorIDs or ()),
    )


def request_report(session: Session, caller: Caller, body: ReportBody, *, now: datetime) -> int:
    """Create the run and its deliveries; returns the run ID (enqueue after commit)."""
    return run_admin.request_report_for(
        session, caller, body.spec, recipients_of(body.recipients), now=now
    )


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _delivery_api(delivery: DeliveryLine) -> dict[str, Any]:
    data = {
        "ID": delivery.id,
        "contactID": delivery.contact_id,
        "administratorID": delivery.user_id,
        # Left out when the caller may not view the recipient (run_admin.recipient_visible).
        "recipientName": None if delivery.hidden else delivery.recipient_name,
        "recipientAddress": None if delivery.hidden else delivery.recipient_address,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "sentTime": _millis(delivery.sent_at),
        "possibleDuplicate": delivery.possible_duplicate,
    }
    return {k: v for k, v in data.items() if v is not None}


def get_run(session: Session, caller: Caller, run_id: int) -> dict[str, Any]:
    """The run and every delivery of it (the rules are ``service.delivery.run_admin``'s)."""
    run = run_admin.run_for(session, caller, run_id)
    parameters = run_admin.run_parameters_for(session, caller, run_id)
    deliveries = run_admin.deliveries_of(session, caller, run_id)
    try:
        template_id = kind_of(run.report_type).template_id
    except ValueError:  # a type this version no longer makes
        template_id = 0
    data = {
        "ID": run.id,
        "reportTemplateID": template_id,
        "reportType": run.report_type,
        "parameters": parameters,
        "triggeredBy": run.triggered_by,
        "scheduledTaskID": run.scheduled_task_id,
        "created": _millis(run.created),
        "finished": _millis(run.finished),
        "periodStart": _millis(run.period_start),
        "periodEnd": _millis(run.period_end),
        "total": run.total,
        "sent": run.sent,
        "failed": run.failed,
        "skipped": run.skipped,
        "deliveries": [_delivery_api(d) for d in deliveries],
    }
    return {k: v for k, v in data.items() if v is not None}
