"""The plain data a report is made from: what templates and CSV writers receive.

Built by the pipeline from scoped queries; never holds ORM objects, so rendering cannot lazy-load
anything the clearance did not allow. Everything a template shows is in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True)
class ComputerRow:
    id: int
    host_name: str
    display_name: str
    platform: str
    group_path: str  # "Root / Servers / Web"; "" when ungrouped
    policy_name: str | None
    agent_status: str  # "active", "offline", "warning", "error", "unmanaged"
    last_communication: datetime | None
    tags: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()  # EventModule values enabled on the computer


@dataclass(frozen=True)
class EventRow:
    id: int
    time: datetime  # aware, UTC
    module: str  # EventModule value
    severity: str  # "info", "low", "medium", "high", "critical"
    computer_id: int
    computer_name: str
    name: str  # the rule / malware / URL / file the event is about
    action: str  # "detected", "blocked", "quarantined", "allowed", ...
    details: str


@dataclass(frozen=True)
class AlertRow:
    id: int
    raised: datetime
    severity: str  # "warning", "critical"
    name: str
    description: str
    computer_id: int | None
    computer_name: str | None
    dismissed: bool


@dataclass(frozen=True)
class SystemEventRow:
    id: int
    time: datetime
    event_code: int  # the console's system event ID, e.g. 600
    level: str  # "info", "warning", "error"
    name: str
    description: str
    computer_id: int | None
    computer_name: str | None
    actor: str  # who did it: a user, "System", an API key name


@dataclass(frozen=True)
class PolicyRow:
    id: int
    name: str
    parent_name: str | None


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
