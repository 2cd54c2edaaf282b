"""The plain data a report is made from: what templates and CSV writers receive.

Built by the pipeline from scoped queries; never holds ORM objects, so rendering cannot lazy-load
anything the clearance did not allow. Everything a template shows is in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from storage.rows import AlertRow, ComputerRow, EventRow, PolicyRow, SystemEventRow

__all__ = [
    "AlertRow",
    "AppliedFilter",
    "Classification",
    "ComputerRow",
    "EventModule",
    "EventRow",
    "FilterKind",
    "PeriodCounts",
    "PeriodSpan",
    "PolicyRow",
    "ReportFormat",
    "ReportData",
    "ReportType",
    "SystemEventRow",
    "TimeUnit",
]


class ReportType(StrEnum):
    """The console's report list (ids are stable and used in URLs, CLI and tasks)."""

    summary = "summary"
    computer = "computer"
    alert = "alert"
    attack = "attack"  # firewall and intrusion prevention
    anti_malware = "anti-malware"
    web_reputation = "web-reputation"
    firewall = "firewall"
    intrusion_prevention = "intrusion-prevention"
    integrity_monitoring = "integrity-monitoring"
    log_inspection = "log-inspection"
    application_control = "application-control"
    system_event = "system-event"
    security_module_usage = "security-module-usage"


class EventModule(StrEnum):
    """Protection modules that write security events about a computer."""

    anti_malware = "anti-malware"
    web_reputation = "web-reputation"
    firewall = "firewall"
    intrusion_prevention = "intrusion-prevention"
    integrity_monitoring = "integrity-monitoring"
    log_inspection = "log-inspection"
    application_control = "application-control"


class ReportFormat(StrEnum):
    """The console API's report formats (``format``); which ones reportd makes for a report
    type is in ``service.reports.kinds``."""

    pdf = "pdf"
    csv = "csv"
    html = "html"
    plaintext = "plaintext"
    rtf = "rtf"
    xls = "xls"
    xml = "xml"


class Classification(StrEnum):
    """The banner printed on each page; values follow the console API's ``classification``."""

    blank = "blank"
    topsecret = "topsecret"
    secret = "secret"
    confidential = "confidential"
    official = "official"
    les = "les"
    limited = "limited"
    unclassified = "unclassified"
    internal = "internal"


class FilterKind(StrEnum):
    """How a report's own filter narrows it, as its title block names it."""

    computer = "computer"
    group = "group"
    group_tree = "group-tree"  # the group and its sub-groups
    policy = "policy"
    policy_tree = "policy-tree"  # the policy and its sub-policies
    smart_folder = "smart-folder"  # the computers of a saved query (``storage.criteria``)
    tags = "tags"
    untagged = "untagged"


@dataclass(frozen=True)
class AppliedFilter:
    """One filter the report applies: its kind and what it names (a computer, a group's path,
    a policy, the tags; ``#id`` when the recipient's clearance may not know the name)."""

    kind: FilterKind
    name: str = ""


class TimeUnit(StrEnum):
    """The SDK's ``TimeRange.units``. Hours are elapsed time; days, weeks and months are
    calendar ones in the window's zone (the month before 31 March ends on 28 February)."""

    hour = "hour"
    day = "day"
    week = "week"
    month = "month"


@dataclass(frozen=True)
class PeriodSpan:
    """The window as it was asked for ("the last 1 month"): what the report calls it, rather
    than its length in days ("4 weeks" for a month)."""

    value: int
    unit: TimeUnit


@dataclass(frozen=True)
class PeriodCounts:
    """A report's figures for another period of the same length (the one before its own)."""

    period_start: datetime
    period_end: datetime
    events: int
    alerts: int
    system_events: int


@dataclass(frozen=True)
class ReportData:
    """One report as a recipient of one clearance may see it."""

    report_type: ReportType
    account_name: str
    recipient_name: str
    locale: str  # IETF tag, e.g. "ja-JP"
    time_zone: str  # IANA zone of the recipient, e.g. "Asia/Tokyo"
    period_start: datetime  # aware
    period_end: datetime  # aware
    generated_at: datetime  # aware
    classification: Classification = Classification.blank
    computers: list[ComputerRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    system_events: list[SystemEventRow] = field(default_factory=list)
    policies: list[PolicyRow] = field(default_factory=list)
    #: Rows left out of the PDF tables because of the row cap (they are all in the CSV).
    truncated: dict[str, int] = field(default_factory=dict)
    #: The report's own filters, for its title block; none when it shows the whole scope.
    filters: tuple[AppliedFilter, ...] = ()
    #: The same figures for the period before (the Summary compares with it).
    previous: PeriodCounts | None = None
    #: The window as asked ("1 month"), when it was asked as the last N units.
    span: PeriodSpan | None = None
