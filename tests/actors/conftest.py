"""Fixtures for distribution tests: a real database file, a real SMTP server, real Chromium.

``World`` is one sample account in a migrated SQLite file with an SMTP sink; ``renderer`` is
one Chromium for the whole session (launching it per test would dominate the suite's time).
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.delivery.ledger import FINAL_STATES, Recipients
from service.delivery.mail import SmtpConfig
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Deps
from service.delivery.render_cache import RenderCache
from service.delivery.request import new_report_run
from service.delivery.smtp_sink import SmtpSink
from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.reports.kinds import BY_TYPE
from service.reports.model import ReportType
from service.reports.spec import ReportSpec
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Contact, Delivery, ReportRun

NOW = datetime.now(UTC).replace(microsecond=0)
#: The sample contacts (service.directory.sample) and their report passwords.
ALEX, HANAKO, JONAS = "alex.morgan@example.com", "hanako.sato@example.jp", "jonas.weber@example.de"
PASSWORDS = {JONAS: "weber-2026"}
SECRET = "test-secret-key"


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    account_id: int
    sink: SmtpSink
    outbox: Path
    contacts: dict[str, int] = field(default_factory=dict)  # email -> contact id

    def deps(self, renderer: PdfRenderer, **overrides: object) -> Deps:
        values: dict[str, object] = {
            "sessions": self.sessions,
            "box": SecretBox(SECRET),
            "renderer": renderer,
            "smtp": SmtpConfig(host="127.0.0.1", port=self.sink.port, timeout=10),
            "mail_from": "reportd <reports@reportd.test>",
            "cache": RenderCache(),
            "lease": timedelta(seconds=30),
            "max_attempts": 5,
            "min_backoff": timedelta(milliseconds=100),
        }
        values.update(overrides)
        return Deps(**values)  # type: ignore[arg-type]

    def new_run(
        self, recipients: Recipients | None = None, **parameters: object
    ) -> tuple[int, list[int]]:
        with transaction(self.sessions) as session:
            kind = BY_TYPE[ReportType(str(parameters.pop("report_type", "summary")))]
            spec = ReportSpec.from_api({"reportTemplateID": kind.template_id, **parameters})
            new = new_report_run(
                session,
                account_id=self.account_id,
                spec=spec,
                recipients=recipients or Recipients(all_contacts=True),
                triggered_by="test",
                period_start=NOW - timedelta(days=7),
                period_end=NOW,
                now=NOW,
            )
        return new.run_id, new.delivery_ids

    def wait_finished(self, run_id: int, timeout: float = 60) -> ReportRun:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as session:
                run = session.get(ReportRun, run_id)
                if run is not None and run.finished is not None:
                    return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish in {timeout} s: {self.states(run_id)}")

    def states(self, run_id: int) -> dict[str, str]:
        with self.sessions() as session:
            rows = session.execute(
                select(Delivery.recipient_address, Delivery.state).where(Delivery.run_id == run_id)
            ).all()
        return {address: state for address, state in rows}

    def delivery(self, delivery_id: int) -> Delivery:
        with self.sessions() as session:
            found = session.get(Delivery, delivery_id)
            assert found is not None
            return found

    def all_final(self, run_id: int) -> bool:
        return all(s in FINAL_STATES for s in self.states(run_id).values())

    def mails(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(self.outbox.glob("*.eml"))
        ]

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails() if address in str(m["To"])]


def make_world(tmp_path: Path, sink: SmtpSink, database_url: str | None = None) -> World:
    url = database_url or f"sqlite:///{tmp_path / 'reportd.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        account = create_account(session, name=f"Sample {tmp_path.name}")
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account.id, dataset=data, box=SecretBox(SECRET))
        contacts = {
            c.email_address: c.id
            for c in session.scalars(select(Contact).where(Contact.account_id == account.id))
        }
    settings = Settings(
        database_url=url,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        secret_key=SECRET,  # type: ignore[arg-type]
        mail_from="reportd <reports@reportd.test>",
    )
    return World(
        settings=settings,
        sessions=sessions,
        account_id=account.id,
        sink=sink,
        outbox=sink.directory,
        contacts=contacts,
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with SmtpSink(tmp_path / "outbox") as sink:
        yield make_world(tmp_path, sink)


def pdf_text(message: EmailMessage) -> str:
    """The text of the mail's PDF, opened with the recipient's password when protected."""
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            reader = pypdf.PdfReader(io.BytesIO(part.get_payload(decode=True)))
            if reader.is_encrypted:
                address = message["To"].addresses[0].addr_spec
                assert reader.decrypt(PASSWORDS[address])
            return "\n".join(page.extract_text() for page in reader.pages)
    raise AssertionError("no PDF attached")
