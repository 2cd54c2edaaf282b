"""Who a report went to needs the rights to view the recipients: a key with full task rights
but contact rights Hide sees runs by IDs only, and naming contacts by ID gets one answer
whether the IDs exist or not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service.api.keys import new_key
from service.delivery import run_admin
from service.delivery.ledger import Recipients
from service.directory.accounts import create_role
from service.directory.principal import Principal
from service.directory.rights import NEW_ROLE_DEFAULTS
from service.errors import Forbidden
from service.reports.spec import ReportSpec
from service.scheduling.overview import overview_for
from storage.db import transaction
from storage.models import Delivery
from storage.records import load_role
from tests.service.api.conftest import NOW, ApiServer, ApiWorld, make_api_world

BLIND = "Tasks Without Contacts"


class RecordingDispatcher:
    def __init__(self) -> None:
        self.started: list[int] = []

    def start_runs(self, run_ids: Sequence[int]) -> None:
        self.started.extend(run_ids)

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    settings, sessions, a, b, app = make_api_world(
        Path(tmp_path_factory.mktemp("recipient-rights")), dispatcher=RecordingDispatcher()
    )
    with transaction(sessions) as session:
        rights = replace(
            NEW_ROLE_DEFAULTS,
            allow_web_service=True,
            other_rights={
                **NEW_ROLE_DEFAULTS.other_rights,
                "scheduledTaskRights": "full",
                "contactRights": "hide",
            },
        )
        role = create_role(session, account_id=a.account_id, name=BLIND, rights=rights)
        session.flush()
        a.roles[BLIND] = role.id
        _, a.secrets[BLIND] = new_key(
            session, account_id=a.account_id, role_id=role.id, name="key blind"
        )
    with ApiServer(app) as server:
        yield ApiWorld(settings=settings, sessions=sessions, server=server, a=a, b=b)


def report(recipients: dict[str, Any]) -> dict[str, Any]:
    return {
        "reportTemplateID": 1,
        "timeRange": {"units": "day", "value": 7},
        "recipients": recipients,
    }


def task(contact_ids: list[int]) -> dict[str, Any]:
    start = int((NOW + timedelta(days=1)).timestamp() * 1000)
    return {
        "name": f"task {contact_ids}",
        "type": "generate-report",
        "scheduleDetails": {
            "timeZone": "UTC",
            "recurrenceType": "daily",
            "dailyScheduleParameters": {"startTime": start, "frequencyType": "everyday"},
        },
        "generateReportTaskParameters": {**report({"contactIDs": contact_ids})},
    }


def addresses_in(body: object) -> list[str]:
    text = repr(body)
    return [word for word in ("@example.", "Alex", "Morgan") if word in text]


def test_a_key_that_may_not_view_contacts_sees_a_run_by_ids_only(world: ApiWorld) -> None:
    # Given a key with full task rights and contact rights Hide
    with world.http(BLIND) as blind, world.http("Full Access") as full:
        # When it sends a report to all contacts
        posted = blind.post("/reports", json=report({"allAdministratorsAndContacts": True}))
        assert posted.status_code == 200, posted.text
        run = posted.json()
        # Then its answer names no recipient, only their IDs
        assert run["deliveries"] and all(
            "contactID" in d or "administratorID" in d for d in run["deliveries"]
        )
        assert all(
            d.get("recipientName") is None and d.get("recipientAddress") is None
            for d in run["deliveries"]
        )
        assert addresses_in(run) == []
        # ... and so does the run read back
        again = blind.get(f"/reportruns/{run['ID']}")
        assert again.status_code == 200 and addresses_in(again.json()) == []
        # ... while a key that may view contacts sees who got it
        seen = full.get(f"/reportruns/{run['ID']}").json()
        assert any("@example." in d["recipientAddress"] for d in seen["deliveries"])


def test_naming_contacts_by_id_gets_one_answer_whether_they_exist_or_not(
    world: ApiWorld,
) -> None:
    existing, absent = next(iter(world.a.contacts.values())), 999_999
    with world.http(BLIND) as blind:
        answers = {}
        for contact_id in (existing, absent):
            made = blind.post("/scheduledtasks", json=task([contact_id]))
            sent = blind.post("/reports", json=report({"contactIDs": [contact_id]}))
            assert made.status_code == sent.status_code == 400
            answers[contact_id] = (
                made.json()["message"].replace(str(contact_id), "N"),
                sent.json()["message"].replace(str(contact_id), "N"),
            )
    # Then the answers differ only by the ID given back
    assert answers[existing] == answers[absent]
    assert "may view" in answers[absent][0]


def test_the_console_functions_hide_recipients_from_such_a_caller(world: ApiWorld) -> None:
    with transaction(world.sessions) as session:
        role = load_role(session, world.a.account_id, world.a.roles[BLIND])
        assert role is not None
        caller = Principal(account_id=world.a.account_id, key_id=1, key_name="t", role=role)
        run_id = run_admin.request_report_for(
            session,
            caller,
            ReportSpec.from_api({"reportTemplateID": 1}),
            Recipients(all_contacts=True),
            now=NOW,
        )
        first = session.query(Delivery).filter(Delivery.run_id == run_id).first()
        assert first is not None
        first.state, first.last_error = "failed", f"550 <{first.recipient_address}> unknown"
        first.updated = NOW
        session.flush()

        ledger = run_admin.ledger_for(session, caller, run_id)
        overview = overview_for(session, caller, now=NOW + timedelta(seconds=1))
        with pytest.raises(Forbidden):
            run_admin.runs_page_for(session, caller, run_admin.RunFilter(recipient="alex"))

        assert all(d.hidden and d.recipient_address == "" for d in ledger.deliveries)
        assert addresses_in([(d.recipient_name, d.last_error) for d in ledger.deliveries]) == []
        failure = next(f for f in overview.failures if f.run_id == run_id)
        assert failure.hidden and addresses_in(failure) == []
        session.rollback()
