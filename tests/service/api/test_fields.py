"""Every text field the API stores refuses NUL and control characters with a 400 naming the
field, on SQLite and on PostgreSQL (which raised ``psycopg.DataError``, a 500); report
passwords PDF encryption cannot use, non-strict and out-of-range IDs and over-long text are
400s too (issue 15, rows 3, 6, 8, 9, 10 and 11)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.api.app import create_app
from service.config import Settings
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Alert, Contact, SecurityEvent, SystemEvent
from tests.conftest import drop_postgres_database, need, postgres_engine
from tests.service.api.conftest import SECRET, VERSION, ApiServer, Tenant, build_tenant

NOW_MS = int(datetime.now(UTC).timestamp() * 1000)
CONTACT = {"name": "ok", "emailAddress": "o@example.com"}
ADMIN = {"username": "u1", "fullName": "U One", "emailAddress": "u1@example.com"}


@dataclass
class World:
    client: httpx.Client
    sessions: sessionmaker[Session]
    tenant: Tenant

    def post(self, path: str, body: Any, role: str = "Full Access") -> Any:
        headers = {"api-version": VERSION, "api-secret-key": self.tenant.secrets[role]}
        return self.client.post(path.lstrip("/"), json=body, headers=headers)

    def count(self, model: type) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    engine: Engine | None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fields') / 'api.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
    else:
        base = Path(tmp_path_factory.getbasetemp()).name.replace("-", "_")
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/reportd_test_fields_{base}"
        engine = postgres_engine(url)
        need("PostgreSQL", engine is not None, f"cannot create a database at {url}")
        assert engine is not None
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        tenant = build_tenant(session, "Fields")
    app = create_app(Settings(database_url=url, secret_key=SECRET), console=False)
    with ApiServer(app) as server, httpx.Client(base_url=server.base + "/", timeout=30) as client:
        yield World(client=client, sessions=sessions, tenant=tenant)
    app.state.services.sessions.kw["bind"].dispose()  # the API's own engine
    if request.param == "postgresql":
        drop_postgres_database(engine)
    else:
        engine.dispose()


def _task(name: str, contact_id: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "generate-report",
        "scheduleDetails": {
            "timeZone": "UTC",
            "recurrenceType": "daily",
            "dailyScheduleParameters": {"startTime": NOW_MS, "frequencyType": "everyday"},
        },
        "generateReportTaskParameters": {
            "reportTemplateID": 1,
            "format": "pdf",
            "recipients": {"contactIDs": [contact_id]},
        },
    }


def _bodies(world: World, bad: str) -> list[tuple[str, Any, str]]:
    """(path, body, field the 400 must name) for each text the API stores."""
    computer = _any_computer(world)
    contact = next(iter(world.tenant.contacts.values()))
    return [
        ("/contacts", {"name": bad, "emailAddress": "n@example.com", "roleID": None}, "name"),
        ("/contacts", {**CONTACT, "description": bad}, "description"),
        (f"/contacts/{contact}", {"phoneNumber": bad}, "phoneNumber"),
        ("/administrators", {**ADMIN, "fullName": bad}, "fullName"),
        ("/roles", {"name": bad}, "name"),
        ("/roles", {"name": "r", "description": bad}, "description"),
        ("/apikeys", {"keyName": bad, "roleID": world.tenant.roles["Auditor"]}, "keyName"),
        ("/computers", {"hostName": bad}, "hostName"),
        ("/computers", {"hostName": "h", "description": bad}, "description"),
        ("/computergroups", {"name": bad}, "name"),
        ("/policies", {"name": bad}, "name"),
        ("/scheduledtasks", _task(bad, contact), "name"),
        ("/ingest", _rows("events", computer, details=bad), "events.0.details"),
        ("/ingest", _rows("systemEvents", computer, name=bad), "systemEvents.0.name"),
        ("/ingest", _rows("alerts", computer, description=bad), "alerts.0.description"),
    ]  # fmt: skip


def _rows(kind: str, computer: int, **text: str) -> dict[str, Any]:
    """An ``/ingest`` body of one row of ``kind`` about ``computer`` with ``text``."""
    row: dict[str, Any] = {"computerID": computer, **text}
    if kind == "events":
        row.update(module="firewall", time=NOW_MS)
    elif kind == "systemEvents":
        row.update(time=NOW_MS)
    else:
        row.update(timeRaised=NOW_MS)
    return {kind: [row]}


def _any_computer(world: World) -> int:
    from storage.models import Computer

    with world.sessions() as session:
        return int(
            session.scalars(
                select(Computer.id).where(Computer.account_id == world.tenant.account_id)
            ).first()
            or 0
        )


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb"])
def test_control_characters_are_a_400_naming_the_field_at_every_endpoint(
    world: World, bad: str
) -> None:
    before = [world.count(m) for m in (Contact, SecurityEvent, SystemEvent, Alert)]
    for path, body, field in _bodies(world, bad):
        answer = world.post(path, body)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["message"].startswith(f"{field}: "), (path, answer.text)
        assert "control characters" in answer.json()["message"], (path, answer.text)
    assert [world.count(m) for m in (Contact, SecurityEvent, SystemEvent, Alert)] == before


def test_a_key_name_with_a_line_break_cannot_forge_an_audit_line(world: World) -> None:
    answer = world.post("/apikeys", {"keyName": "a\nb", "roleID": world.tenant.roles["Auditor"]})
    assert answer.status_code == 400 and answer.json()["message"].startswith("keyName: ")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/contacts", {"name": "cjk", "emailAddress": "cjk@example.com", "roleID": None}),
        ("/administrators", {**ADMIN, "username": "cjk", "emailAddress": "cjk@example.org"}),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    ("password", "problem"),
    [("漢" * 43, "at most 127 bytes of UTF-8"), ("a" * 128, "not 128"), ("x\x00", "U+0000")],
)  # fmt: skip
def test_a_report_password_encryption_cannot_use_is_a_400_naming_it(
    world: World, path: str, body: dict[str, Any], password: str, problem: str
) -> None:
    sent = {**body, "reportPDFPasswordEnabled": True, "reportPDFPassword": password}
    answer = world.post(path, sent)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("reportPDFPassword: ")
    assert problem in answer.json()["message"]


def test_a_127_byte_report_password_is_accepted(world: World) -> None:
    body = {
        "name": "longest",
        "emailAddress": "longest@example.com",
        "roleID": None,
        "reportPDFPasswordEnabled": True,
        "reportPDFPassword": "漢" * 42 + "a",  # 127 bytes
    }
    assert world.post("/contacts", body).status_code == 200


@pytest.mark.parametrize("role_id", [True, "1", 1.0, 0, 2**31, 10**30])
def test_a_role_id_must_be_a_strict_integer_in_range(world: World, role_id: object) -> None:
    body = {"name": f"strict {role_id!r}", "emailAddress": "s@example.com", "roleID": role_id}
    answer = world.post("/contacts", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("roleID: ")


def test_a_search_id_beyond_the_tables_is_a_400(world: World) -> None:
    body = {"searchCriteria": [{"fieldName": "ID", "idTest": "equal", "idValue": 10**400}]}
    answer = world.post("/contacts/search", body)
    assert answer.status_code == 400, answer.text
    assert "idValue" in answer.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {**CONTACT, "description": "x" * 10_001}, "description"),
        ("/roles", {"name": "big", "description": "x" * 10_001}, "description"),
        ("/computers", {"hostName": "h" * 256}, "hostName"),
        ("/contacts", {"name": "n" * 256, "emailAddress": "n@example.com"}, "name"),
    ],
)  # fmt: skip
def test_text_beyond_the_tables_length_is_a_400(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    answer = world.post(path, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(f"{field}: String should have at most")


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "right/UTC"])
def test_a_zone_that_is_not_a_place_is_a_400(world: World, zone: str) -> None:
    body = {"name": f"z {zone}", "emailAddress": "z@example.com", "timeZone": zone}
    answer = world.post("/contacts", body)
    assert answer.status_code == 400 and answer.json()["message"].startswith("timeZone: ")


def test_an_address_with_a_non_ascii_local_part_is_a_400(world: World) -> None:
    answer = world.post("/contacts", {"name": "jörg", "emailAddress": "jörg@example.com"})
    assert answer.status_code == 400 and answer.json()["message"].startswith("emailAddress: ")


def test_a_key_on_a_role_without_web_service_access_is_refused(world: World) -> None:
    body = {"keyName": "never signs in", "roleID": world.tenant.roles["No API"]}
    answer = world.post("/apikeys", body)
    assert answer.status_code == 400, answer.text
    assert (
        answer.json()["message"].startswith("roleID: ")
        and "web service" in answer.json()["message"]
    )


def _group_ids(world: World) -> dict[str, int]:
    from storage.models import ComputerGroup

    with world.sessions() as session:
        rows = session.execute(
            select(ComputerGroup.name, ComputerGroup.id).where(
                ComputerGroup.account_id == world.tenant.account_id
            )
        )
        return {name: group_id for name, group_id in rows}


def _report(group_id: int, contact_id: int) -> dict[str, Any]:
    return {
        "reportTemplateID": 1,
        "computerFilter": {"type": "computers-in-group", "computerGroupID": group_id},
        "recipients": {"contactIDs": [contact_id]},
    }


@pytest.mark.parametrize("role", ["Full Access", "Contact Manager"])
def test_a_filter_on_a_group_that_does_not_exist_or_is_not_visible_is_a_400(
    world: World, role: str
) -> None:
    # Given a group that does not exist, and one outside the restricted key's selection
    groups = _group_ids(world)
    hidden = next(i for name, i in groups.items() if name != "Web Servers")
    contact = next(iter(world.tenant.contacts.values()))
    targets = [2**31 - 1] + ([hidden] if role == "Contact Manager" else [])
    for group_id in targets:
        # When a report or a task is asked for, filtered on it
        report = world.post("/reports", _report(group_id, contact), role)
        task = _task(f"filtered {role} {group_id}", contact)
        task["generateReportTaskParameters"]["computerFilter"] = _report(group_id, contact)[
            "computerFilter"
        ]
        created = world.post("/scheduledtasks", task, role)
        # Then both are 400s naming the filter, with the same words for absent and hidden
        for answer in (report, created):
            assert answer.status_code == 400, answer.text
            assert answer.json()["message"] == (
                f"computerFilter.computerGroupID: no computer group with ID {group_id}"
                " among the computers you may see"
            )


def test_a_filter_on_a_visible_group_is_accepted(world: World) -> None:
    contact = next(iter(world.tenant.contacts.values()))
    task = _task("filtered on web servers", contact)
    task["generateReportTaskParameters"]["computerFilter"] = _report(
        _group_ids(world)["Web Servers"], contact
    )["computerFilter"]
    assert world.post("/scheduledtasks", task, "Contact Manager").status_code == 200
