"""A deleted contact (or removed administrator) leaves every scheduled task that named it; the
account's audit trail says which task lost whom, and a task left with nobody is disabled."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import contact_admin
from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.principal import Principal
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.directory.task_recipients import USERS, forget_recipient
from service.errors import InvalidInput
from service.scheduling import task_admin
from storage.models import Contact, Role, SystemEvent
from storage.records import load_role
from storage.tasks import ScheduledTaskRow

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RECIPIENTS_REMOVED = 8405


def _full_access(session: Session) -> tuple[Principal, list[int]]:
    account = create_account(session, name=f"Recipients {uuid.uuid4().hex}")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    role_id = session.scalars(
        select(Role.id).where(Role.account_id == account.id, Role.name == "Full Access")
    ).one()
    record = load_role(session, account.id, role_id)
    assert record is not None
    contacts = list(
        session.scalars(
            select(Contact.id).where(Contact.account_id == account.id).order_by(Contact.id)
        )
    )
    return Principal(account_id=account.id, key_id=1, key_name="test", role=record), contacts


def _task(
    session: Session, caller: Principal, name: str, recipients: dict[str, Any]
) -> dict[str, Any]:
    start = int((NOW + timedelta(days=1)).timestamp() * 1000)
    body = task_admin.ScheduledTaskBody.from_api(
        {
            "name": name,
            "type": "generate-report",
            "scheduleDetails": {
                "timeZone": "UTC",
                "recurrenceType": "daily",
                "dailyScheduleParameters": {"startTime": start, "frequencyType": "everyday"},
            },
            "generateReportTaskParameters": {
                "reportTemplateID": 1,
                "format": "pdf",
                "recipients": recipients,
                "timeRange": {"units": "day", "value": 7},
            },
        }
    )
    return task_admin.create_for(session, caller, body, now=NOW).task


def _row(session: Session, task_id: int) -> ScheduledTaskRow:
    row = session.get(ScheduledTaskRow, task_id)
    assert row is not None
    session.refresh(row)
    return row


def _trail(session: Session, account_id: int) -> list[str]:
    events = session.scalars(
        select(SystemEvent.description)
        .where(SystemEvent.account_id == account_id, SystemEvent.event_code == RECIPIENTS_REMOVED)
        .order_by(SystemEvent.id)
    )
    return list(events)


def test_a_deleted_contact_leaves_every_task_that_named_it_and_the_trail_says_so(
    session: Session,
) -> None:
    # Given two tasks naming contact A, one of them also contact B, and one naming B alone
    caller, [a, b, *_] = _full_access(session)
    both = _task(session, caller, "both", {"contactIDs": [a, b]})
    only_a = _task(session, caller, "only a", {"contactIDs": [a]})
    only_b = _task(session, caller, "only b", {"contactIDs": [b]})

    # When contact A is deleted
    contact_admin.delete_for(session, caller, a)

    # Then the tasks forgot A; the one left with nobody was disabled; B's own is untouched
    assert _row(session, both["ID"]).parameters["recipients"] == {"contactIDs": [b]}
    assert _row(session, both["ID"]).enabled
    emptied = _row(session, only_a["ID"])
    assert "contactIDs" not in emptied.parameters["recipients"] and not emptied.enabled
    assert _row(session, only_b["ID"]).parameters["recipients"] == {"contactIDs": [b]}
    # ... and the account's trail tells which task lost whom, and why one is off
    trail = _trail(session, caller.account_id)
    assert len(trail) == 2
    assert f"'both' (ID {both['ID']}): contact" in trail[0] and f"(ID {a})" in trail[0]
    assert "disabled" not in trail[0]
    assert "no recipient left and was disabled" in trail[1]


def test_a_task_disabled_for_want_of_recipients_needs_new_ones_to_be_enabled(
    session: Session,
) -> None:
    caller, [a, b, *_] = _full_access(session)
    task = _task(session, caller, "lonely", {"contactIDs": [a]})
    contact_admin.delete_for(session, caller, a)

    with pytest.raises(InvalidInput, match="nobody"):
        task_admin.set_enabled_for(session, caller, task["ID"], True, now=NOW)

    body = task_admin.ScheduledTaskBody.from_api(
        {
            "enabled": True,
            "generateReportTaskParameters": {
                **_row(session, task["ID"]).parameters,
                "recipients": {"contactIDs": [b]},
            },
        }
    )
    assert task_admin.modify_for(session, caller, task["ID"], body, now=NOW).task["enabled"]


def test_a_removed_administrator_leaves_the_tasks_that_named_them(session: Session) -> None:
    caller, [a, *_] = _full_access(session)
    task = _task(session, caller, "mixed", {"contactIDs": [a]})
    row = _row(session, task["ID"])
    row.parameters = {**row.parameters, "recipients": {"contactIDs": [a], "administratorIDs": [7]}}
    session.flush()

    changes = forget_recipient(
        session,
        account_id=caller.account_id,
        field=USERS,
        recipient_id=7,
        who="admin@example.com (ID 7)",
        actor="test",
        origin="",
    )

    assert [(c.task_id, c.disabled) for c in changes] == [(task["ID"], False)]
    assert _row(session, task["ID"]).parameters["recipients"] == {"contactIDs": [a]}
    assert "administrator admin@example.com (ID 7)" in _trail(session, caller.account_id)[0]
