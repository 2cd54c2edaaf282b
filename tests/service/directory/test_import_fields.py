"""The import refuses what the API refuses, naming the record: control characters (NUL among
them, which PostgreSQL cannot store), over-long text, report passwords PDF encryption cannot
use, non-strict IDs, the audit trail's event codes and immutable custom roles (issue 15, rows
3, 6, 8, 10 and 11). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.errors import ImportFormatError
from storage.models import Computer, Contact, Role, SystemEvent

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BOX = SecretBox("import-fields")
Mutation = Callable[[dict[str, Any]], None]


def _set(kind: str, index: int, **fields: Any) -> Mutation:
    return lambda data: data[kind][index].update(fields)


def _protected(password: str) -> Mutation:
    return _set("contacts", 1, reportPDFPasswordEnabled=True, reportPDFPassword=password)


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (_set("contacts", 2, name="a\x00b"), "contacts[2].name", "U+0000"),
        (_set("contacts", 0, description="a\x00"), "contacts[0].description", "U+0000"),
        (_set("roles", 0, name="a\nb"), "roles[0].name", "U+000A"),
        (_set("computerGroups", 0, name="a\x1b"), "computerGroups[0].name", "U+001B"),
        (_set("policies", 0, description="\x00"), "policies[0].description", "U+0000"),
        (_set("computers", 3, hostName="h\x00"), "computers[3].hostName", "U+0000"),
        (_set("computers", 3, tags=["ok", "t\x00"]), "computers[3].tags[1]", "U+0000"),
        (_set("events", 1, details="d\x00"), "events[1].details", "U+0000"),
        (_set("systemEvents", 0, actionPerformedBy="apikey:a\nb"),
         "systemEvents[0].actionPerformedBy", "U+000A"),
        (_set("alerts", 0, description="\x00"), "alerts[0].description", "U+0000"),
        (_set("computers", 0, hostName="h" * 1_000_000), "computers[0].hostName", "at most 255"),
        (_set("contacts", 0, description="d" * 10_001), "contacts[0].description", "at most 10000"),
        (_set("events", 0, details="d" * 10_001), "events[0].details", "at most 10000"),
        (_protected("漢" * 43), "contacts[1].reportPDFPassword", "at most 127 bytes"),
        (_protected("pw\x00"), "contacts[1].reportPDFPassword", "U+0000"),
        (_set("contacts", 0, roleID=True), "contacts[0].roleID", "valid integer"),
        (_set("contacts", 0, roleID=2**40), "contacts[0].roleID", "2147483647"),
        (_set("contacts", 0, emailAddress="jörg@example.com"),
         "contacts[0].emailAddress", "valid address"),
        (_set("contacts", 0, timeZone="posixrules"), "contacts[0].timeZone", "unknown time zone"),
        (_set("systemEvents", 0, eventID=8100), "systemEvents[0].eventID", "audit trail"),
        (_set("roles", 0, name="Made Up", immutable=True), "roles[0].immutable", "preconfigured"),
    ],
)  # fmt: skip
def test_a_bad_field_names_the_record_and_nothing_is_written(
    session: Session, mutate: Mutation, where: str, problem: str
) -> None:
    # Given the sample with one bad field
    data = sample_dataset(now=NOW)
    mutate(data)
    before = {m: _count(session, m) for m in (Computer, Contact, Role, SystemEvent)}
    account = create_account(session, name=f"Bad {where}")
    savepoint = session.begin_nested()
    # When it is imported
    with pytest.raises(ImportFormatError) as refused:
        import_dataset(
            session, account_id=account.id, dataset=parse_dataset(json.dumps(data)), box=BOX
        )
    savepoint.rollback()
    # Then the error names the record and field, and nothing of the file was written
    assert refused.value.where == where
    assert problem in refused.value.problem
    after = {m: _count(session, m) for m in before}
    assert {m: after[m] for m in (Computer, Contact, SystemEvent)} == {
        m: before[m] for m in (Computer, Contact, SystemEvent)
    }


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
