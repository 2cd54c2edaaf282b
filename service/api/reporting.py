"""Report templates, one-off reports and their runs, in the API's JSON.

A one-off report is the same run ``reportd send`` creates: the same parameters (format,
classification, ``timeRange``, ``computerFilter``, ``tagFilter``, ``attachCSV``) and a period
that ends now, so the mail each contact gets is the one the CLI would send. The caller
commits, then hands the run to the broker (``start_run``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.authz import Caller, can_read_tasks, can_write_tasks
from service.api.schemas import BodyID
from service.delivery.ledger import Recipients
from service.delivery.request import FORMATS, new_report_run
from service.directory import audit
from service.errors import InvalidInput, NotFound
from service.reports.model import REPORT_TEMPLATE_IDS, Classification, ReportType
from storage.models import Delivery, ReportRun

#: Title and description of each report template.
TEMPLATE_TEXT: dict[ReportType, tuple[str, str]] = {
    ReportType.summary: ("Summary Report", "Computers, events and alerts at a glance."),
    ReportType.computer: ("Computer Report", "The computers, their status and policy."),
    ReportType.alert: ("Alert Report", "Alerts raised in the period."),
    ReportType.attack: ("Attack Report", "Firewall and intrusion prevention activity."),
    ReportType.anti_malware: ("Anti-Malware Report", "Malware found and what was done."),
    ReportType.web_reputation: ("Web Reputation Report", "Blocked and suspicious URLs."),
    ReportType.firewall: ("Firewall Report", "Firewall events."),
    ReportType.intrusion_prevention: ("Intrusion Prevention Report", "IPS events."),
    ReportType.integrity_monitoring: ("Integrity Monitoring Report", "Changes detected."),
    ReportType.log_inspection: ("Log Inspection Report", "Log inspection events."),
    ReportType.application_control: ("Application Control Report", "Software events."),
    ReportType.system_event: ("System Event Report", "Console events, the audit trail too."),
    ReportType.security_module_usage: (
        "Security Module Usage Report",
        "Protection modules on each computer.",
    ),
}
#: The SDK's time units and their relativedelta keyword.
UNITS = {"hour": "hours", "day": "days", "week": "weeks", "month": "months"}


def template_to_api(template_id: int, kind: ReportType) -> dict[str, Any]:
    name, description = TEMPLATE_TEXT[kind]
    return {
        "ID": template_id,
        "name": name,
        "description": description,
        "reportType": kind.value,
        "timeFilterSupported": True,
        "computerFilterSupported": True,
        "tagFilterSupported": True,
        "supportedFormats": list(FORMATS),
    }


def list_templates() -> list[dict[str, Any]]:
    return [template_to_api(i, kind) for i, kind in sorted(REPORT_TEMPLATE_IDS.items())]


def get_template(template_id: int) -> dict[str, Any]:
    kind = REPORT_TEMPLATE_IDS.get(template_id)
    if kind is None:
        raise NotFound(f"no report template with ID {template_id}")
    return template_to_api(template_id, kind)


class TimeRangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: Literal["hour", "day", "week", "month"] = "day"
    value: int = Field(7, ge=1, le=3660)


class RecipientsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allAdministratorsAndContacts: bool | None = Field(
        None, description="Every contact of the account (reportd sends to contacts)."
    )
    contactIDs: list[BodyID] | None = None
    administratorIDs: list[BodyID] | None = None


class ComputerFilterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal[
        "all-computers",
        "computer",
        "computers-in-group",
        "computers-in-group-or-subgroup",
        "computers-using-policy",
        "computers-using-policy-or-subpolicy",
    ]
    computerID: BodyID | None = None
    computerGroupID: BodyID | None = None
    policyID: BodyID | None = None


class TagFilterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["all", "untagged", "specific-tags"]
    tags: list[str] | None = None


class ReportBody(BaseModel):
    """A one-off report: the SDK's ``GenerateReportTaskParameters`` plus ``attachCSV``."""

    model_config = ConfigDict(extra="forbid")

    reportTemplateID: BodyID
    format: Literal["pdf", "csv"] = "pdf"
    classification: Classification = Classification.blank
    recipients: RecipientsBody
    timeRange: TimeRangeBody = Field(default_factory=TimeRangeBody)
    computerFilter: ComputerFilterBody | None = None
    tagFilter: TagFilterBody | None = None
    attachCSV: bool = False

    def parameters(self) -> dict[str, Any]:
        """The run's parameters, as ``reportd send`` writes them."""
        parameters: dict[str, Any] = {
            "format": self.format,
            "classification": self.classification.value,
            "timeRange": {"units": self.timeRange.units, "value": self.timeRange.value},
            "attachCSV": self.attachCSV,
        }
        if self.computerFilter is not None:
            parameters["computerFilter"] = self.computerFilter.model_dump(exclude_none=True)
        if self.tagFilter is not None:
            parameters["tagFilter"] = self.tagFilter.model_dump(exclude_none=True)
        return parameters


def request_report(session: Session, caller: Caller, body: ReportBody, *, now: datetime) -> int:
    """Create the run and its deliveries; returns the run ID (enqueue after commit)."""
    can_write_tasks(caller)
    kind = REPORT_TEMPLATE_IDS.get(body.reportTemplateID)
    if kind is None:
        raise InvalidInput(f"reportTemplateID: no report template {body.reportTemplateID}")
    everyone = bool(body.recipients.allAdministratorsAndContacts)
    recipients = Recipients(
        all_contacts=everyone,
        all_users=everyone,
        contact_ids=tuple(body.recipients.contactIDs or ()),
        user_ids=tuple(body.recipients.administratorIDs or ()),
    )
    span = relativedelta(**{UNITS[body.timeRange.units]: body.timeRange.value})
    try:
        start = now - span
    except OverflowError:
        raise InvalidInput("timeRange: reaches before year 1") from None
    new = new_report_run(
        session,
        account_id=caller.account_id,
        report_type=kind.value,
        parameters=body.parameters(),
        recipients=recipients,
        triggered_by=caller.actor,
        period_start=start,
        period_end=now,
        now=now,
    )
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.report_requested,
        description=audit.describe_values(
            f"run {new.run_id}: {kind.value} to {len(new.delivery_ids)} recipient(s)",
            body.parameters(),
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return new.run_id


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _delivery_api(delivery: Delivery) -> dict[str, Any]:
    data = {
        "ID": delivery.id,
        "contactID": delivery.contact_id,
        "administratorID": delivery.user_id,
        "recipientName": delivery.recipient_name,
        "recipientAddress": delivery.recipient_address,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "sentTime": _millis(delivery.sent_at),
        "possibleDuplicate": delivery.possible_duplicate,
    }
    return {k: v for k, v in data.items() if v is not None}


def get_run(session: Session, caller: Caller, run_id: int) -> dict[str, Any]:
    can_read_tasks(caller)
    run = session.scalars(
        select(ReportRun).where(ReportRun.account_id == caller.account_id, ReportRun.id == run_id)
    ).one_or_none()
    if run is None:
        raise NotFound(f"no report run with ID {run_id}")
    deliveries = session.scalars(
        select(Delivery).where(Delivery.run_id == run.id).order_by(Delivery.id)
    )
    template_id = next((i for i, k in REPORT_TEMPLATE_IDS.items() if k.value == run.report_type), 0)
    data = {
        "ID": run.id,
        "reportTemplateID": template_id,
        "reportType": run.report_type,
        "parameters": run.parameters,
        "triggeredBy": run.triggered_by,
        "scheduledTaskID": run.scheduled_task_id,
        "created": _millis(run.created),
        "finished": _millis(run.finished),
        "periodStart": _millis(run.period_start),
        "periodEnd": _millis(run.period_end),
        "total": run.total,
        "sent": run.sent,
        "failed": run.failed,
        "deliveries": [_delivery_api(d) for d in deliveries],
    }
    return {k: v for k, v in data.items() if v is not None}
