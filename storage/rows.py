"""Plain rows that scoped queries return: no ORM objects leave ``storage``.

Templates and CSV writers receive these (through ``service.reports.model.ReportData``), so
rendering can never lazy-load something the clearance did not allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


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


class EventRow(NamedTuple):
    """One security event. A NamedTuple, not a frozen dataclass like the others: a report
    reads tens of thousands of these, and a frozen dataclass's ``__init__`` cost about four
    times as much per row (``docs/BENCHMARKS.md``, scope.py)."""

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
