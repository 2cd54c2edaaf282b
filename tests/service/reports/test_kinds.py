"""The table of report kinds holds together, and the builder reads what a kind's row says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from report_templates import TEMPLATES_DIR
from service.directory.accounts import create_account
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.reports.builder import ReportRequest, build_report
from service.reports.kinds import BY_TEMPLATE_ID, BY_TYPE, KINDS, Part
from service.reports.model import EventModule, ReportFormat, ReportType
from service.reports.spec import ReportSpec
from storage.models import Contact
from storage.records import load_role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_report_type_has_one_row_with_a_template_formats_and_stable_ids() -> None:
    assert [kind.report_type for kind in KINDS] == list(ReportType)
    assert [kind.template_id for kind in KINDS] == list(range(1, len(ReportType) + 1))
    assert set(BY_TYPE) == set(ReportType) and set(BY_TEMPLATE_ID) == set(range(1, 14))
    for kind in KINDS:
        assert (TEMPLATES_DIR / kind.template).is_file(), kind.template
        assert ReportFormat.pdf in kind.formats and kind.title and kind.description


def test_a_kind_reads_events_exactly_when_it_shows_some_modules() -> None:
    for kind in KINDS:
        assert (Part.events in kind.parts) == bool(kind.modules), kind.report_type
        assert set(kind.primary) <= kind.parts, kind.report_type
    assert BY_TYPE[ReportType.summary].reads_every_module
    assert BY_TYPE[ReportType.attack].modules == (
        EventModule.firewall,
        EventModule.intrusion_prevention,
    )
    # Each module has its own report, showing that module alone.
    for module in EventModule:
        assert BY_TYPE[ReportType(module.value)].modules == (module,)


@pytest.fixture
def full_scope(session: Session):  # type: ignore[no-untyped-def]
    account = create_account(session, name=f"Kinds {id(session)}")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    contact = session.scalars(
        select(Contact).where(
            Contact.account_id == account.id, Contact.email_address == "alex.morgan@example.com"
        )
    ).one()
    return scope_for(load_role(session, account.id, contact.role_id), account.id)


def build(session: Session, scope, kind: ReportType):  # type: ignore[no-untyped-def]
    request = ReportRequest(
        spec=ReportSpec(kind=kind),
        period_start=NOW - timedelta(days=8),
        period_end=NOW + timedelta(days=1),
        generated_at=NOW,
    )
    return build_report(
        session, scope=scope, request=request, account_name="a", locale="en-US", time_zone="UTC"
    )


def test_given_events_of_every_module_when_a_module_report_is_built_then_sql_reads_its_own(
    session: Session, full_scope
) -> None:
    # Given the sample account, with events of every module in the week
    summary = build(session, full_scope, ReportType.summary)
    assert {e.module for e in summary.events} == {m.value for m in EventModule}

    # When the Attack and the Firewall reports are built
    attack = build(session, full_scope, ReportType.attack)
    firewall = build(session, full_scope, ReportType.firewall)

    # Then each holds its own modules' events, every one of them, and nothing else
    assert {e.module for e in attack.events} == {"firewall", "intrusion-prevention"}
    assert {e.id for e in firewall.events} == {
        e.id for e in summary.events if e.module == "firewall"
    }
    # And a kind that shows no events reads none
    computer = build(session, full_scope, ReportType.computer)
    assert computer.events == [] and computer.computers and computer.policies


def test_a_kind_holds_something_of_its_period_by_its_timed_parts_or_else_its_computers() -> None:
    # The content skipIfEmpty looks at: the primary rows of the period; a kind of no period
    # (Computer, Security Module Usage) by its computers.
    for kind in KINDS:
        assert kind.content and set(kind.content) <= set(kind.primary), kind.report_type
        assert Part.previous not in kind.parts or kind.report_type is ReportType.summary
    assert BY_TYPE[ReportType.summary].content == (Part.events, Part.alerts, Part.system_events)
    assert BY_TYPE[ReportType.computer].content == (Part.computers,)
    assert BY_TYPE[ReportType.security_module_usage].content == (Part.computers,)
    assert BY_TYPE[ReportType.firewall].content == (Part.events,)
