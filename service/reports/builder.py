"""From a scope and report parameters to the plain :class:`ReportData` a template renders.

Each report type fetches only the kinds of rows it shows. All filtering by clearance happens
in the scoped SQL of ``storage.scoped``; nothing here drops rows in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.errors import InvalidInput
from service.reports.model import Classification, EventModule, ReportData, ReportType
from storage.concurrent import read_concurrently, reads_in_parallel
from storage.scoped import (
    ComputerFilterType,
    ReportFilter,
    Scope,
    TagFilterType,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
    viewable_policies,
)

_MODULE_OF_TYPE: dict[ReportType, frozenset[str]] = {
    ReportType.attack: frozenset(
        {EventModule.firewall.value, EventModule.intrusion_prevention.value}
    ),
    **{
        ReportType(module.value): frozenset({module.value})
        for module in EventModule
        if module.value in ReportType._value2member_map_
    },
}

#: What each report type shows besides its header.
_PARTS: dict[ReportType, frozenset[str]] = {
    ReportType.summary: frozenset({"computers", "events", "alerts", "system_events", "policies"}),
    ReportType.computer: frozenset({"computers", "events", "policies"}),
    ReportType.alert: frozenset({"alerts"}),
    ReportType.system_event: frozenset({"system_events"}),
    ReportType.security_module_usage: frozenset({"computers"}),
}
_EVENT_REPORT_PARTS = frozenset({"computers", "events"})


@dataclass(frozen=True)
class ReportRequest:
    """One report as a run asks for it: what, for which window, narrowed how."""

    report_type: ReportType
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    classification: Classification = Classification.blank
    report_filter: ReportFilter = ReportFilter()


def request_from_parameters(
    report_type: str,
    parameters: dict[str, Any],
    *,
    period_start: datetime,
    period_end: datetime,
    generated_at: datetime,
) -> ReportRequest:
    """A request from a run's stored parameters (the console's names: ``computerFilter``...)."""
    try:
        kind = ReportType(report_type)
        classification = Classification(parameters.get("classification", "blank"))
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    return ReportRequest(
        report_type=kind,
        period_start=period_start,
        period_end=period_end,
        generated_at=generated_at,
        classification=classification,
        report_filter=report_filter_from(parameters),
    )


def report_filter_from(parameters: dict[str, Any]) -> ReportFilter:
    """The computer and tag filter of report parameters; a bad one is InvalidInput."""
    computer = parameters.get("computerFilter") or {}
    tags = parameters.get("tagFilter") or {}
    try:
        return ReportFilter(
            computer_filter=ComputerFilterType(computer.get("type", "all-computers")),
            computer_id=computer.get("computerID"),
            computer_group_id=computer.get("computerGroupID"),
            policy_id=computer.get("policyID"),
            tag_filter=TagFilterType(tags.get("type", "all")),
            tags=frozenset(tags.get("tags") or ()),
        )
    except ValueError as error:
        raise InvalidInput(f"computerFilter/tagFilter: {error}") from None


def build_report(
    session: Session,
    *,
    scope: Scope,
    request: ReportRequest,
    account_name: str,
    locale: str,
    time_zone: str,
    sessions: sessionmaker[Session] | None = None,
) -> ReportData:
    """The report as this scope may see it. The recipient's name is left out on purpose:
    it would make every copy unique and defeat render sharing (the mail greets them).

    With ``sessions`` on a server database, the report's parts are read at the same time,
    each in a session of its own (``storage.concurrent``); otherwise one after another in
    ``session``.
    """
    kind = request.report_type
    parts = _PARTS.get(kind, _EVENT_REPORT_PARTS)
    window = (request.period_start, request.period_end)
    flt = request.report_filter
    reads: dict[str, Callable[[Session], list[Any]]] = {
        "computers": lambda s: permitted_computers(s, scope, flt),
        "events": lambda s: permitted_events(
            s, scope, *window, modules=_MODULE_OF_TYPE.get(kind), report_filter=flt
        ),
        "alerts": lambda s: permitted_alerts(s, scope, *window, report_filter=flt),
        "system_events": lambda s: permitted_system_events(s, scope, *window, report_filter=flt),
        "policies": lambda s: viewable_policies(s, scope),
    }
    wanted = [name for name in reads if name in parts]
    if sessions is not None and len(wanted) > 1 and reads_in_parallel(sessions):
        results = read_concurrently(sessions, [reads[name] for name in wanted])
    else:
        results = [reads[name](session) for name in wanted]
    rows: dict[str, list[Any]] = {name: [] for name in reads} | dict(
        zip(wanted, results, strict=True)
    )
    return ReportData(
        report_type=kind,
        account_name=account_name,
        recipient_name="",
        locale=locale,
        time_zone=time_zone,
        period_start=request.period_start,
        period_end=request.period_end,
        generated_at=request.generated_at,
        classification=request.classification,
        computers=rows["computers"],
        events=rows["events"],
        alerts=rows["alerts"],
        system_events=rows["system_events"],
        policies=rows["policies"],
    )
