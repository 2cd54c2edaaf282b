"""Administrators as report recipients: a task to "all administrators and contacts" mails
every active user and contact once, each PDF scoped by its own role in that account.

Real worker (dramatiq's stub broker), real Chromium, real SMTP (aiosmtpd).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pypdf
import pytest
from sqlalchemy import select

from actors.embedded import EmbeddedDispatcher
from service.delivery.pdf import PdfRenderer
from service.directory.accounts import create_account, find_role
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.directory.users import add_user, edit_user
from service.scheduling.scheduler import create_task, tick
from storage.db import transaction
from storage.models import Delivery
from tests.actors.conftest import ALEX, HANAKO, JONAS, NOW, PASSWORDS, SECRET, World, pdf_text

#: Computers of the sample by group: the Web Team sees web-* and fron-* only.
WEB = ["web-01", "web-06", "fron-01", "fron-06"]
ELSEWHERE = ["data-01", "data-06", "lapt-01", "lapt-06"]
BOX = SecretBox(SECRET)
WEB_ADMIN = "web.admin@example.com"
OFF_ADMIN = "switched.off@example.com"
REPORT_PASSWORD = "web-admin-report-pw"


@pytest.fixture
def worker(world: World, renderer: PdfRenderer) -> Iterator[EmbeddedDispatcher]:
    with EmbeddedDispatcher(world.settings, world.deps(renderer)) as embedded:
        yield embedded


def everyone_task(name: str) -> dict[str, object]:
    return {
        "name": name,
        "type": "generate-report",
        "runNow": True,
        "scheduleDetails": {
            "timeZone": "UTC",
            "recurrenceType": "none",
            "onceOnlyScheduleParameters": {
                "startTime": int((NOW + timedelta(days=1)).timestamp() * 1000)
            },
        },
        "generateReportTaskParameters": {
            "reportTemplateID": 2,  # Computer Report: each computer by name
            "format": "pdf",
            "recipients": {"allAdministratorsAndContacts": True},
            "timeRange": {"units": "day", "value": 7},
        },
    }


def fire(world: World, worker: EmbeddedDispatcher, account_id: int, name: str) -> int:
    with transaction(world.sessions) as session:
        create_task(session, account_id=account_id, task=everyone_task(name), now=NOW)
        fired = tick(session, now=NOW + timedelta(seconds=1))
    [run] = fired
    worker.start_runs([run.run_id])
    finished = world.wait_finished(run.run_id, timeout=120)
    assert finished.failed == 0, world.states(run.run_id)
    return run.run_id


def text_with(message: EmailMessage, password: str) -> str:
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            reader = pypdf.PdfReader(io.BytesIO(part.get_payload(decode=True)))
            assert reader.is_encrypted and reader.decrypt(password)
            return "\n".join(page.extract_text() for page in reader.pages)
    raise AssertionError("no PDF attached")


def test_a_task_to_everyone_mails_each_active_user_and_contact_once_scoped_by_role(
    world: World, worker: EmbeddedDispatcher
) -> None:
    # Given, beside the three sample contacts: a Web Team administrator with a report
    # password, a switched-off administrator, and Alex, a contact (Full Access) who is also
    # a user of the account with the Web Team role
    account_id = world.account_id
    with transaction(world.sessions) as session:
        web_team = find_role(session, account_id, "Web Team").id
        full = find_role(session, account_id, "Full Access").id
        for address, name, role in (
            (WEB_ADMIN, "Web Admin", web_team),
            (OFF_ADMIN, "Switched Off", full),
            (ALEX, "Alex Morgan", web_team),
        ):
            extra = (
                {"report_pdf_password_enabled": True, "report_pdf_password": REPORT_PASSWORD}
                if address == WEB_ADMIN
                else {}
            )
            added = add_user(
                session,
                account_id=account_id,
                box=BOX,
                now=NOW,
                email_address=address,
                name=name,
                role_id=role,
                **extra,
            )
            if address == OFF_ADMIN:
                edit_user(
                    session,
                    account_id=account_id,
                    user_id=added.member.id,
                    box=BOX,
                    now=NOW,
                    active=False,
                )

    # When a scheduled task to allAdministratorsAndContacts fires
    run_id = fire(world, worker, account_id, "Everyone")

    # Then every active user and contact got exactly one mail, the switched-off user none
    recipients = [m["To"].addresses[0].addr_spec for m in world.mails()]
    assert sorted(recipients) == sorted([ALEX, HANAKO, JONAS, WEB_ADMIN])
    with world.sessions() as session:
        deliveries = session.scalars(select(Delivery).where(Delivery.run_id == run_id)).all()
        kinds = {d.recipient_address: ("user" if d.user_id else "contact") for d in deliveries}
    assert kinds == {ALEX: "user", HANAKO: "contact", JONAS: "contact", WEB_ADMIN: "user"}
    # And each PDF holds what its own role allows: Alex's as the user (Web Team) ...
    alex = pdf_text(world.mails_to(ALEX)[0])
    assert all(n in alex for n in WEB) and not any(n in alex for n in ELSEWHERE)
    # ... the administrator's is protected by their report password and scoped the same
    admin = text_with(world.mails_to(WEB_ADMIN)[0], REPORT_PASSWORD)
    assert all(n in admin for n in WEB) and not any(n in admin for n in ELSEWHERE)
    # ... and the contacts' by their clearances, as before
    jonas = pdf_text(world.mails_to(JONAS)[0])
    assert all(n in jonas for n in WEB + ELSEWHERE)
    assert PASSWORDS[JONAS] != REPORT_PASSWORD


def test_a_user_in_two_accounts_gets_each_accounts_report_scoped_by_that_role(
    world: World, worker: EmbeddedDispatcher
) -> None:
    # Given a user who is Web Team in account A and Full Access in account B
    with transaction(world.sessions) as session:
        other = create_account(session, name=f"Second {world.account_id}")
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=other.id, dataset=data, box=BOX)
        for account_id, role in ((world.account_id, "Web Team"), (other.id, "Full Access")):
            add_user(
                session,
                account_id=account_id,
                box=BOX,
                now=NOW,
                email_address=WEB_ADMIN,
                name="Web Admin",
                role_id=find_role(session, account_id, role).id,
            )
        other_id = other.id

    # When each account's task to everyone fires
    fire(world, worker, world.account_id, "Everyone in A")
    [in_a] = world.mails_to(WEB_ADMIN)
    fire(world, worker, other_id, "Everyone in B")
    in_b = [m for m in world.mails_to(WEB_ADMIN) if m["Message-ID"] != in_a["Message-ID"]]

    # Then A's report holds the web servers only, B's every computer
    assert len(in_b) == 1
    text_a, text_b = pdf_text(in_a), pdf_text(in_b[0])
    assert all(n in text_a for n in WEB) and not any(n in text_a for n in ELSEWHERE)
    assert all(n in text_b for n in WEB + ELSEWHERE)
