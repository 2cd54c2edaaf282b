"""A console that sends: ``reportd api``'s application with a dispatcher (the embedded worker on
dramatiq's in-process broker, one Chromium) and a real SMTP server that refuses the
addresses a test names (550), over its own SQLite file with the console tests' accounts,
roles and users. Used by the tests of the tasks, send-now, runs and preview pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from playwright.sync_api import BrowserContext, Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actors.embedded import EmbeddedDispatcher
from service.api.app import create_app
from service.config import Settings
from service.console.sessions import start_session
from service.console.web import SESSION_COOKIE
from service.delivery.mail import SmtpConfig
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Deps
from service.delivery.render_cache import RenderCache
from service.delivery.smtp_sink import OutboxHandler, SmtpSink
from service.directory.accounts import create_role
from service.directory.rights import NEW_ROLE_DEFAULTS
from service.directory.secretbox import SecretBox
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Contact, Delivery, Membership, User
from tests.service.console.conftest import AppServer, _build, free_port

SECRET = "console-sending-key"


class Refusing(OutboxHandler):
    """Stores every mail, but answers 550 to the addresses in ``refused``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.refused: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class SendingWorld:
    settings: Settings
    sessions: sessionmaker[Session]
    sink: SmtpSink
    base: str
    account_id: int
    other_account_id: int
    roles: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def refused(self) -> set[str]:
        handler = self.sink.handler
        assert isinstance(handler, Refusing)
        return handler.refused

    def session_token(self, user: str) -> str:
        with transaction(self.sessions) as session:
            started = start_session(
                session, user_id=self.users[user], account_id=self.account_id, now=datetime.now(UTC)
            )
        return started.token

    def contact_id(self, email: str) -> int:
        with transaction(self.sessions) as session:
            found = session.scalars(
                select(Contact.id).where(
                    Contact.account_id == self.account_id, Contact.email_address == email
                )
            ).one()
        return int(found)

    def add_contact(self, name: str, email: str, role: str | None = None) -> int:
        with transaction(self.sessions) as session:
            contact = Contact(
                account_id=self.account_id,
                name=name,
                email_address=email,
                role_id=self.roles[role] if role else None,
                locale="en-US",
                time_zone="UTC",
            )
            session.add(contact)
            session.flush()
            return contact.id

    def deliveries(self, run_id: int) -> list[Delivery]:
        with transaction(self.sessions) as session:
            rows = session.scalars(select(Delivery).where(Delivery.run_id == run_id))
            return list(rows)

    def mails_to(self, address: str) -> int:
        return sum(address in mail.rcpt_tos for mail in self.sink.received)

    def wait_for(self, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            time.sleep(0.1)


def _task_viewer(session: Session, account_id: int) -> tuple[int, int]:
    """A role with Tasks at View-Only (and Contacts at View-Only), and a user holding it."""
    rights = replace(
        NEW_ROLE_DEFAULTS,
        other_rights={
            **NEW_ROLE_DEFAULTS.other_rights,
            "scheduledTaskRights": "view-only",
            "contactRights": "view-only",
        },
    )
    role = create_role(session, account_id=account_id, name="Task Viewer", rights=rights)
    user = User(
        email_address="tina@example.com", name="Tina Taskviewer", locale="en-US", time_zone="UTC"
    )
    session.add(user)
    session.flush()
    session.add(Membership(account_id=account_id, user_id=user.id, role_id=role.id))
    session.flush()
    return role.id, user.id


def sending_world(folder: Path) -> Iterator[SendingWorld]:
    """The world, running until the generator is closed."""
    sink = SmtpSink(folder / "outbox", handler_factory=Refusing)
    sink.start()
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'reportd.sqlite3'}",
        secret_key=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_security="none",
        console_url=f"http://127.0.0.1:{port}",
    )
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    sessions = make_session_factory(engine)
    box = SecretBox(SECRET)
    with transaction(sessions) as session:
        account_id, other_id, roles, users = _build(session, box)
        roles["Task Viewer"], users["taskviewer"] = _task_viewer(session, account_id)
    renderer = PdfRenderer.from_settings(settings)
    deps = Deps(
        sessions=sessions,
        box=box,
        renderer=renderer,
        smtp=SmtpConfig(host="127.0.0.1", port=sink.port, timeout=10),
        mail_from="reportd <reports@reportd.test>",
        cache=RenderCache(),
        lease=timedelta(seconds=30),
        max_attempts=3,
        min_backoff=timedelta(milliseconds=100),
    )
    worker = EmbeddedDispatcher(settings, deps, threads=2)
    worker.worker.start()
    server = AppServer(create_app(settings, dispatcher=worker), port)
    server.start()
    try:
        yield SendingWorld(
            settings=settings,
            sessions=sessions,
            sink=sink,
            base=f"http://127.0.0.1:{port}",
            account_id=account_id,
            other_account_id=other_id,
            roles=roles,
            users=users,
        )
    finally:
        server.stop()
        worker.stop()
        renderer.close()
        sink.stop()
        engine.dispose()


def open_as(world: SendingWorld, context: BrowserContext, user: str) -> Page:
    """A page of ``context`` signed in as ``user`` (a session made in the database)."""
    context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": world.session_token(user),
                "url": world.base,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return context.new_page()
