"""A report's full table rows as CSV: what the PDF leaves out because of its row cap.

Choices, so scripts and spreadsheets can rely on them:

- The header row names the columns in the recipient's language ("Zeit", "Computer"...;
  ``column_ids`` gives their stable ids); values are stable ids (``high``, ``firewall``,
  ``on``/``off``), names as given.
- Times are ISO 8601 in the recipient's time zone, with the offset (``2026-11-21T00:00:00+09:00``).
- UTF-8 with a BOM (Excel then reads Japanese correctly), CRLF line ends, every field quoted
  when needed (RFC 4180).
- Text cells beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading
  apostrophe, so a spreadsheet shows them instead of evaluating a formula (CSV injection).
- Rows come in the PDF's order. The Summary's CSV is one row per computer with its event counts.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo

from service.reports.model import EventModule, ReportData, ReportType
from service.reports.rendering import (
    alerts_sorted,
    as_utc,
    attachment_basename,
    computer_name,
    computers_sorted,
    csv_headers,
    events_sorted,
    recipient_zone,
    system_events_sorted,
)

#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Table = tuple[Sequence[str], Iterable[Sequence[object]]]

_MODULES = tuple(module.value for module in EventModule)
_COMPUTER_COLUMNS = ("computer_id", "computer", "host_name")


def render_csv(data: ReportData) -> bytes:
    """The report type's table, every row, as UTF-8 CSV with a BOM."""
    zone = recipient_zone(data.time_zone)
    header, rows = _TABLES.get(data.report_type, _events)(data, zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_header_names(header, data.locale))
    writer.writerows([_neutralize(cell) for cell in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def column_ids(data: ReportData) -> list[str]:
    """The stable ids of the columns ``render_csv`` writes for ``data``, in their order."""
    header, _rows = _TABLES.get(data.report_type, _events)(data, recipient_zone(data.time_zone))
    return list(header)


def _header_names(header: Sequence[str], locale: str) -> list[str]:
    """Column ids in the recipient's language; a module's event count reads
    "Security events (Firewall)"."""
    names = csv_headers(locale)
    translated = []
    for column in header:
        module = column.removeprefix("events_").replace("_", "-")
        if column.startswith("events_") and module in names:
            translated.append(f"{names['events']} ({names[module]})")
        else:
            translated.append(names.get(column, column))
    return translated


def csv_filename(data: ReportData) -> str:
    """``Summary-Report_2026-11-23.csv``, next to the PDF's name."""
    return f"{attachment_basename(data)}.csv"


def _neutralize(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell


def _time(moment: datetime | None, zone: tzinfo) -> str:
    return "" if moment is None else as_utc(moment).astimezone(zone).isoformat()


def _events(data: ReportData, zone: tzinfo) -> Table:
    header = (
        "id",
        "time",
        "module",
        "severity",
        "computer_id",
        "computer",
        "name",
        "action",
        "details",
    )
    rows = (
        (
            e.id,
            _time(e.time, zone),
            e.module,
            e.severity,
            e.computer_id,
            e.computer_name,
            e.name,
            e.action,
            e.details,
        )
        for e in events_sorted(data)
    )
    return header, rows


def _computers(data: ReportData, zone: tzinfo) -> Table:
    header = (
        *_COMPUTER_COLUMNS,
        "platform",
        "group",
        "policy",
        "status",
        "last_communication",
        "tags",
        "modules",
    )
    rows = (
        (
            c.id,
            computer_name(c),
            c.host_name,
            c.platform,
            c.group_path,
            c.policy_name or "",
            c.agent_status,
            _time(c.last_communication, zone),
            "; ".join(c.tags),
            "; ".join(c.modules),
        )
        for c in computers_sorted(data)
    )
    return header, rows


def _module_usage(data: ReportData, zone: tzinfo) -> Table:
    header = (*_COMPUTER_COLUMNS, "status", *_MODULES)
    rows = (
        (
            c.id,
            computer_name(c),
            c.host_name,
            c.agent_status,
            *("on" if m in c.modules else "off" for m in _MODULES),
        )
        for c in computers_sorted(data)
    )
    return header, rows


def _summary(data: ReportData, zone: tzinfo) -> Table:
    """One row per computer: status and its security events per module, alerts."""
    events = Counter((e.computer_id, e.module) for e in events_sorted(data))
    alerts = Counter(a.computer_id for a in data.alerts if a.computer_id is not None)
    header = (
        *_COMPUTER_COLUMNS,
        "platform",
        "group",
        "policy",
        "status",
        "events",
        *(f"events_{m.replace('-', '_')}" for m in _MODULES),
        "alerts",
    )
    rows = (
        (
            c.id,
            computer_name(c),
            c.host_name,
            c.platform,
            c.group_path,
            c.policy_name or "",
            c.agent_status,
            sum(events[c.id, m] for m in _MODULES),
            *(events[c.id, m] for m in _MODULES),
            alerts[c.id],
        )
        for c in computers_sorted(data)
    )
    return header, rows


def _alerts(data: ReportData, zone: tzinfo) -> Table:
    header = (
        "id",
        "raised",
        "severity",
        "name",
        "computer_id",
        "computer",
        "dismissed",
        "description",
    )
    rows = (
        (
            a.id,
            _time(a.raised, zone),
            a.severity,
            a.name,
            "" if a.computer_id is None else a.computer_id,
            a.computer_name or "",
            "true" if a.dismissed else "false",
            a.description,
        )
        for a in alerts_sorted(data)
    )
    return header, rows


def _system_events(data: ReportData, zone: tzinfo) -> Table:
    header = (
        "id",
        "time",
        "event_id",
        "level",
        "name",
        "computer_id",
        "computer",
        "actor",
        "description",
    )
    rows = (
        (
            e.id,
            _time(e.time, zone),
            e.event_code,
            e.level,
            e.name,
            "" if e.computer_id is None else e.computer_id,
            e.computer_name or "",
            e.actor,
            e.description,
        )
        for e in system_events_sorted(data)
    )
    return header, rows


#: The table each report type exports; the eight event report types use ``_events``.
_TABLES: dict[ReportType, Callable[[ReportData, tzinfo], Table]] = {
    ReportType.summary: _summary,
    ReportType.computer: _computers,
    ReportType.security_module_usage: _module_usage,
    ReportType.alert: _alerts,
    ReportType.system_event: _system_events,
}
