"""CSV export: full rows, Excel-friendly encoding, no formula injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.reports.csv_export import FORMULA_TRIGGERS, column_ids, csv_filename, render_csv
from service.reports.model import (
    AlertRow,
    ComputerRow,
    EventModule,
    EventRow,
    ReportData,
    ReportType,
    SystemEventRow,
)
from service.reports.rendering import DEFAULT_MAX_ROWS, csv_headers

EVENT_TIME = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def computer(id: int, name: str, modules: tuple[str, ...] = ()) -> ComputerRow:
    return ComputerRow(
        id=id,
        host_name=f"host-{id}",
        display_name=name,
        platform="Linux",
        group_path="Root",
        policy_name=None,
        agent_status="active",
        last_communication=None,
        modules=modules,
    )


def event(
    id: int,
    name: str = "Eicar",
    module: str = "anti-malware",
    computer_id: int = 1,
    details: str = "",
) -> EventRow:
    return EventRow(
        id=id,
        time=EVENT_TIME - timedelta(minutes=id),
        module=module,
        severity="high",
        computer_id=computer_id,
        computer_name=f"pc-{computer_id}",
        name=name,
        action="quarantined",
        details=details,
    )


def report(report_type: ReportType, **fields: object) -> ReportData:
    values: dict[str, object] = dict(
        report_type=report_type,
        account_name="Example",
        recipient_name="Alex",
        locale="ja-JP",
        time_zone="Asia/Tokyo",
        period_start=EVENT_TIME - timedelta(days=7),
        period_end=EVENT_TIME + timedelta(days=1),
        generated_at=EVENT_TIME + timedelta(days=1),
    )
    values.update(fields)
    return ReportData(**values)  # type: ignore[arg-type]


def parse(payload: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(payload.decode("utf-8-sig"), newline="")))


def test_given_more_events_than_the_pdf_cap_when_exporting_then_every_row_is_there():
    # Given more Anti-Malware events than a PDF table shows (the builder reads no others)
    events = [event(i) for i in range(DEFAULT_MAX_ROWS + 50)]
    data = report(ReportType.anti_malware, events=events)

    # When the CSV is rendered and parsed back
    payload = render_csv(data)
    header, *rows = parse(payload)

    # Then it opens with a BOM, has stable column ids, named in the recipient's language,
    # and all in-scope rows, newest first
    assert payload.startswith(b"\xef\xbb\xbf")
    assert header == [csv_headers("ja-JP")[column] for column in column_ids(data)]
    assert column_ids(data) == [
        "id",
        "time",
        "module",
        "severity",
        "computer_id",
        "computer",
        "name",
        "action",
        "details",
    ]
    assert len(rows) == DEFAULT_MAX_ROWS + 50
    assert {row[2] for row in rows} == {"anti-malware"}
    assert rows[0][0] == "0"
    assert rows[0][1] == "2026-11-21T00:00:00+09:00"


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_given_a_cell_starting_a_formula_when_exporting_then_it_is_neutralized(trigger):
    # Given an event whose name a spreadsheet would evaluate
    payload = f'{trigger}HYPERLINK("http://evil.example","x")'
    data = report(ReportType.anti_malware, events=[event(1, name=payload, details=payload)])

    # When exported
    _header, row = parse(render_csv(data))

    # Then the cell starts with an apostrophe and keeps its text
    assert row[6] == "'" + payload
    assert row[8] == "'" + payload


def test_given_japanese_and_awkward_text_when_exporting_then_it_survives():
    name = 'ウイルス検出, "引用" と改行\nあり'
    data = report(ReportType.anti_malware, events=[event(1, name=name)])

    _header, row = parse(render_csv(data))

    assert row[6] == name
    assert "ウイルス検出".encode() in render_csv(data)


def test_given_security_module_usage_when_exporting_then_modules_are_on_off_columns():
    data = report(
        ReportType.security_module_usage,
        computers=[computer(2, "b", ("firewall",)), computer(1, "a")],
    )

    _header, first, second = parse(render_csv(data))
    header = column_ids(data)

    assert header[:4] == ["computer_id", "computer", "host_name", "status"]
    assert header[4:] == [m.value for m in EventModule]
    assert first[:2] == ["1", "a"] and set(first[4:]) == {"off"}
    assert second[4:][header[4:].index("firewall")] == "on"


def test_given_a_summary_when_exporting_then_one_row_per_computer_with_event_counts():
    data = report(
        ReportType.summary,
        computers=[computer(1, "一号機"), computer(2, "二号機")],
        events=[event(1), event(2), event(3, module="firewall"), event(4, computer_id=2)],
        alerts=[
            AlertRow(
                id=1,
                raised=EVENT_TIME,
                severity="critical",
                name="x",
                description="",
                computer_id=2,
                computer_name="二号機",
                dismissed=False,
            )
        ],
    )

    _header, first, second = parse(render_csv(data))
    column = {name: index for index, name in enumerate(column_ids(data))}

    assert first[column["computer"]] == "一号機"
    assert first[column["events"]] == "3"
    assert first[column["events_anti_malware"]] == "2"
    assert first[column["events_firewall"]] == "1"
    assert second[column["events"]] == "1"
    assert second[column["alerts"]] == "1"


def test_given_alerts_and_system_events_when_exporting_then_their_columns_are_filled():
    alerts = report(
        ReportType.alert,
        alerts=[
            AlertRow(
                id=5,
                raised=EVENT_TIME,
                severity="warning",
                name="Offline",
                description="-1 heartbeat",
                computer_id=None,
                computer_name=None,
                dismissed=True,
            )
        ],
    )
    system = report(
        ReportType.system_event,
        system_events=[
            SystemEventRow(
                id=6,
                time=EVENT_TIME,
                event_code=600,
                level="info",
                name="Sign in",
                description="",
                computer_id=None,
                computer_name=None,
                actor="@admin",
            )
        ],
    )

    _h1, alert_row = parse(render_csv(alerts))
    _h2, system_row = parse(render_csv(system))

    assert alert_row == [
        "5",
        "2026-11-21T00:00:00+09:00",
        "warning",
        "Offline",
        "",
        "",
        "true",
        "'-1 heartbeat",
    ]
    assert system_row[2] == "600"
    assert system_row[7] == "'@admin"


@pytest.mark.parametrize(
    ("locale", "names"),
    [
        ("en-US", ["ID", "Time", "Module", "Severity", "Computer ID", "Computer", "Name"]),
        ("de-DE", ["ID", "Zeit", "Modul", "Schweregrad", "Computer-ID", "Computer", "Name"]),
        ("ja-JP", ["ID", "日時", "モジュール", "重要度", "コンピュータID", "コンピュータ", "名前"]),
    ],
)
def test_given_a_recipient_language_when_exporting_then_the_columns_are_named_in_it(locale, names):
    data = report(ReportType.firewall, locale=locale, events=[event(1, module="firewall")])
    header, _row = parse(render_csv(data))

    assert header[: len(names)] == names


def test_given_a_summary_when_exporting_then_each_module_count_names_its_module():
    header, *_rows = parse(render_csv(report(ReportType.summary, locale="de-DE")))

    assert "Sicherheitsereignisse (Firewall)" in header
    assert "Sicherheitsereignisse (Integritätsüberwachung)" in header


def test_given_an_empty_scope_when_exporting_then_only_the_header_row():
    rows = parse(render_csv(report(ReportType.computer)))

    assert len(rows) == 1


def test_given_a_report_when_naming_the_csv_then_it_has_the_local_generation_date():
    # generated 2026-11-21T15:00Z, which is already the 22nd in Tokyo
    name = csv_filename(report(ReportType.web_reputation))

    assert name == "Web-Reputation-Report_2026-11-22.csv"


@given(st.text())
def test_given_any_text_when_exported_then_it_parses_back_inert(text):
    # Given any text as an event's name
    data = report(ReportType.anti_malware, events=[event(1, name=text)])

    # When exported and parsed back
    _header, row = parse(render_csv(data))

    # Then the cell never starts a formula and holds the text (after a protective apostrophe)
    expected = "'" + text if text.startswith(FORMULA_TRIGGERS) else text
    assert row[6] == expected
    assert not row[6].startswith(FORMULA_TRIGGERS)
