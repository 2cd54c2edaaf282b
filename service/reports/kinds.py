"""The report kinds: one row per report type, read by the builder, the renderer and the API.

A row says everything that differs between kinds: the console's stable ``reportTemplateID``,
the template's title and description (``/reporttemplates``), the parts of the data it reads
(``build_report`` reads only those), the event modules it shows (a condition of the events'
SQL, never a filter in Python), the parts whose rows make it non-empty, and the formats
reportd makes of it. Adding a kind means a row here and a template
``report_templates/reports/<type>.html``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from service.reports.model import EventModule, ReportFormat, ReportType


class Part(StrEnum):
    """A part of the data a report can read (a field of ``ReportData``): rows, or the
    figures of the period before its own (``previous``, which the Summary compares with)."""

    computers = "computers"
    events = "events"
    alerts = "alerts"
    system_events = "system_events"
    policies = "policies"
    previous = "previous"


#: The parts that happen in a period (rows with a time); the others are states of the scope.
PERIOD_PARTS = frozenset({Part.events, Part.alerts, Part.system_events})
#: The formats every kind is made in.
FORMATS = (ReportFormat.pdf, ReportFormat.csv)


@dataclass(frozen=True)
class ReportKind:
    """One report type and what it is made of."""

    report_type: ReportType
    #: The console's ``reportTemplateID``: stable, used in tasks and ``POST /reports``.
    template_id: int
    title: str
    description: str
    parts: frozenset[Part]
    #: The modules whose security events the kind shows; empty when it reads no events.
    modules: tuple[EventModule, ...] = ()
    #: The parts whose rows make the report non-empty (an empty one says so on its page).
    primary: tuple[Part, ...] = (Part.events,)
    formats: tuple[ReportFormat, ...] = FORMATS

    @property
    def template(self) -> str:
        """The Jinja2 template of the report's HTML, relative to ``report_templates``."""
        return f"reports/{self.report_type.value}.html"

    @property
    def content(self) -> tuple[Part, ...]:
        """The parts whose rows mean the report holds something of its period (``skipIfEmpty``
        leaves out a recipient whose report has none): its primary parts that happen in a
        period; a kind of no period (Computer, Security Module Usage) its primary ones."""
        return tuple(part for part in self.primary if part in PERIOD_PARTS) or self.primary

    @property
    def reads_every_module(self) -> bool:
        return set(self.modules) == set(EventModule)


def _events(
    report_type: ReportType, template_id: int, title: str, description: str, *modules: EventModule
) -> ReportKind:
    """A kind about security events: the events of ``modules`` and the computers they are about."""
    return ReportKind(
        report_type,
        template_id,
        title,
        description,
        parts=frozenset({Part.computers, Part.events}),
        modules=modules,
    )


KINDS: tuple[ReportKind, ...] = (
    ReportKind(
        ReportType.summary,
        1,
        "Summary Report",
        "Computers, events and alerts at a glance.",
        parts=frozenset(Part),
        modules=tuple(EventModule),
        primary=(Part.computers, Part.events, Part.alerts, Part.system_events),
    ),
    ReportKind(
        ReportType.computer,
        2,
        "Computer Report",
        "The computers, their status and policy.",
        parts=frozenset({Part.computers, Part.policies}),
        primary=(Part.computers,),
    ),
    ReportKind(
        ReportType.alert,
        3,
        "Alert Report",
        "Alerts raised in the period.",
        parts=frozenset({Part.alerts}),
        primary=(Part.alerts,),
    ),
    _events(
        ReportType.attack,
        4,
        "Attack Report",
        "Firewall and intrusion prevention activity.",
        EventModule.firewall,
        EventModule.intrusion_prevention,
    ),
    _events(
        ReportType.anti_malware,
        5,
        "Anti-Malware Report",
        "Malware found and what was done.",
        EventModule.anti_malware,
    ),
    _events(
        ReportType.web_reputation,
        6,
        "Web Reputation Report",
        "Blocked and suspicious URLs.",
        EventModule.web_reputation,
    ),
    _events(ReportType.firewall, 7, "Firewall Report", "Firewall events.", EventModule.firewall),
    _events(
        ReportType.intrusion_prevention,
        8,
        "Intrusion Prevention Report",
        "IPS events.",
        EventModule.intrusion_prevention,
    ),
    _events(
        ReportType.integrity_monitoring,
        9,
        "Integrity Monitoring Report",
        "Changes detected.",
        EventModule.integrity_monitoring,
    ),
    _events(
        ReportType.log_inspection,
        10,
        "Log Inspection Report",
        "Log inspection events.",
        EventModule.log_inspection,
    ),
    _events(
        ReportType.application_control,
        11,
        "Application Control Report",
        "Software events.",
        EventModule.application_control,
    ),
    ReportKind(
        ReportType.system_event,
        12,
        "System Event Report",
        "Console events, the audit trail too.",
        parts=frozenset({Part.system_events}),
        primary=(Part.system_events,),
    ),
    ReportKind(
        ReportType.security_module_usage,
        13,
        "Security Module Usage Report",
        "Protection modules on each computer.",
        parts=frozenset({Part.computers}),
        primary=(Part.computers,),
    ),
)

#: Each kind by its report type, and by its ``reportTemplateID``.
BY_TYPE: Mapping[ReportType, ReportKind] = {kind.report_type: kind for kind in KINDS}
BY_TEMPLATE_ID: Mapping[int, ReportKind] = {kind.template_id: kind for kind in KINDS}


def kind_of(report_type: ReportType | str) -> ReportKind:
    """The row of ``report_type``; a ``ValueError`` naming the known types for another."""
    try:
        return BY_TYPE[ReportType(report_type)]
    except ValueError:
        known = ", ".join(t.value for t in ReportType)
        raise ValueError(f"report type {report_type!r} is unknown; use one of {known}") from None


def known_templates() -> str:
    """``1 (summary), 2 (computer), ...``: what a message offers instead of a bad ID."""
    return ", ".join(f"{kind.template_id} ({kind.report_type.value})" for kind in KINDS)
