"""From a scope and a report's spec to the plain :class:`ReportData` a template renders.

Each report kind reads only the parts its row in ``service.reports.kinds`` names, and only the
events of its modules. All filtering (clearance, the spec's filters, modules) happens in the
scoped SQL of ``storage.scoped``; nothing here drops rows in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.reports.kinds import Part, kind_of
from service.reports.model import (
    AppliedFilter,
    FilterKind,
    PeriodCounts,
    ReportData,
    ReportType,
)
from service.reports.spec import ReportSpec
from storage import smart_folders
from storage.concurrent import read_concurrently, reads_in_parallel
from storage.scoped import (
    ComputerFilterType,
    ReportFilter,
    Scope,
    TagFilterType,
    count_window,
    filter_subject,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
    viewable_policies,
)


@dataclass(frozen=True)
class ReportRequest:
    """One report as a run asks for it: its spec, over the run's window, made at a time."""

    spec: ReportSpec
    period_start: datetime
    period_end: datetime
    generated_at: datetime

    @property
    def report_type(self) -> ReportType:
        return self.spec.kind


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
    kind = kind_of(request.report_type)
    window = (request.period_start, request.period_end)
    flt = smart_folders.resolve(session, scope.account_id, request.spec.report_filter)
    # The kind's modules are a condition of the events' SQL; one that reads them all has none.
    modules = None if kind.reads_every_module else frozenset(m.value for m in kind.modules)
    # The period before, of the same length: what the Summary's figures compare with.
    before = (
        request.period_start - (request.period_end - request.period_start),
        request.period_start,
    )
    reads: dict[Part, Callable[[Session], Any]] = {
        Part.computers: lambda s: permitted_computers(s, scope, flt),
        Part.events: lambda s: permitted_events(
            s, scope, *window, modules=modules, report_filter=flt
        ),
        Part.alerts: lambda s: permitted_alerts(s, scope, *window, report_filter=flt),
        Part.system_events: lambda s: permitted_system_events(s, scope, *window, report_filter=flt),
        Part.policies: lambda s: viewable_policies(s, scope),
        Part.previous: lambda s: _counts(s, scope, *before, flt, modules),
    }
    wanted = [part for part in reads if part in kind.parts]
    if sessions is not None and len(wanted) > 1 and reads_in_parallel(sessions):
        results = read_concurrently(sessions, [reads[name] for name in wanted])
    else:
        results = [reads[name](session) for name in wanted]
    rows: dict[Part, Any] = {part: [] for part in reads} | dict(zip(wanted, results, strict=True))
    return ReportData(
        report_type=kind.report_type,
        account_name=account_name,
        recipient_name="",
        locale=locale,
        time_zone=time_zone,
        period_start=request.period_start,
        period_end=request.period_end,
        generated_at=request.generated_at,
        classification=request.spec.classification,
        computers=rows[Part.computers],
        events=rows[Part.events],
        alerts=rows[Part.alerts],
        system_events=rows[Part.system_events],
        policies=rows[Part.policies],
        filters=applied_filters(session, scope, flt),
        previous=rows[Part.previous] or None,
        span=request.spec.span,
    )


def _counts(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    report_filter: ReportFilter,
    modules: frozenset[str] | None,
) -> PeriodCounts:
    """The kind's figures for ``[start, end)``: its events (of its modules), alerts and
    system events, as its own statements would find them."""
    counts = count_window(session, scope, start, end, modules=modules, report_filter=report_filter)
    return PeriodCounts(
        period_start=start,
        period_end=end,
        events=counts.events,
        alerts=counts.alerts,
        system_events=counts.system_events,
    )


#: The title block's name of each computer filter, and which of its ids it names.
_COMPUTER_FILTER_KINDS: dict[ComputerFilterType, tuple[FilterKind, str]] = {
    ComputerFilterType.computer: (FilterKind.computer, "computer_id"),
    ComputerFilterType.computers_in_group: (FilterKind.group, "computer_group_id"),
    ComputerFilterType.computers_in_group_or_subgroup: (FilterKind.group_tree, "computer_group_id"),
    ComputerFilterType.computers_using_policy: (FilterKind.policy, "policy_id"),
    ComputerFilterType.computers_using_policy_or_subpolicy: (FilterKind.policy_tree, "policy_id"),
    ComputerFilterType.computers_in_smart_folder: (FilterKind.smart_folder, "smart_folder_id"),
}


def applied_filters(
    session: Session, scope: Scope, report_filter: ReportFilter
) -> tuple[AppliedFilter, ...]:
    """The report's own filters as its title names them: what each selects by, by name
    where the scope may know it, else by id (``#12``)."""
    applied = []
    known = _COMPUTER_FILTER_KINDS.get(report_filter.computer_filter)
    if known is not None:
        kind, id_field = known
        name = filter_subject(session, scope, report_filter)
        applied.append(AppliedFilter(kind, name or f"#{getattr(report_filter, id_field)}"))
    if report_filter.tag_filter is TagFilterType.specific_tags:
        applied.append(AppliedFilter(FilterKind.tags, ", ".join(sorted(report_filter.tags))))
    elif report_filter.tag_filter is TagFilterType.untagged:
        applied.append(AppliedFilter(FilterKind.untagged))
    return tuple(applied)
