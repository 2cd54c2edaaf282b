"""The console in real Chromium: ``reportd api`` (uvicorn in a thread) over a SQLite file with
the sample account, one browser for the package's tests (Debian's Chromium through Playwright's sync
API) and a fresh browser context per test.

``console_world`` holds the accounts, roles and users the tests sign in as. ``signed_in(user)``
gives a page whose context carries a session made directly in the database (no sign-in form:
the sign-in tests go through the form themselves). ``axe(page)`` runs the vendored axe-core
and returns the serious and critical violations.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.api.app import create_app
from service.config import Settings
from service.console.sessions import start_session
from service.console.web import SESSION_COOKIE
from service.delivery.pdf import find_chromium
from service.delivery.smtp_sink import SmtpSink
from service.directory.accounts import create_account, create_role
from service.directory.importing import import_dataset, parse_dataset
from service.directory.rights import NEW_ROLE_DEFAULTS, RoleRights, UserRightsPreset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.directory.users import set_password
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import ComputerGroup, Membership, Role, RoleComputerGroup, User
from tests.conftest import chromium_available, need

NOW = datetime.now(UTC).replace(microsecond=0)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: Chromium flags for a container (no user namespaces) and a small /dev/shm.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """uvicorn serving an application in a thread until ``stop``."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the console did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Server(AppServer):
    """uvicorn serving ``reportd api``'s application in a thread until ``stop``."""

    def __init__(self, settings: Settings, port: int) -> None:
        super().__init__(create_app(settings), port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _with_contacts(rights: RoleRights, level: str) -> RoleRights:
    return replace(rights, other_rights={**rights.other_rights, "contactRights": level})


#: Custom roles of the tests: name -> (rights, restricted to the "Web Servers" group).
def custom_roles() -> dict[str, tuple[RoleRights, bool]]:
    web_only = replace(NEW_ROLE_DEFAULTS, all_computers=False, can_view_other_computers=False)
    return {
        "Contact Viewer": (_with_contacts(NEW_ROLE_DEFAULTS, "view-only"), False),
        "No Contacts": (NEW_ROLE_DEFAULTS, False),
        "Web Contact Manager": (
            _with_contacts(web_only, "full").with_user_rights(UserRightsPreset.change_own_password),
            True,
        ),
    }


#: Users of the tests: key -> (email, name, role in account A, role in account B or None).
USERS: dict[str, tuple[str, str, str, str | None]] = {
    "admin": ("ada@example.com", "Ada Admin", "Full Access", "Auditor"),
    "viewer": ("viv@example.com", "Viv Viewer", "Contact Viewer", None),
    "nocontacts": ("nora@example.com", "Nora Nocontacts", "No Contacts", None),
    "webmanager": ("wes@example.com", "Wes Webmanager", "Web Contact Manager", None),
}


#: Every test user's password (sign-in tests use it; others start sessions directly).
PASSWORD = "violet-harbour-lantern-7"


@dataclass
class ConsoleWorld:
    settings: Settings
    sessions: sessionmaker[Session]
    server: Server
    sink: SmtpSink
    account_id: int
    other_account_id: int
    roles: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def email(self, user: str) -> str:
        return USERS[user][0]

    @property
    def base(self) -> str:
        return self.server.base

    def url(self, path: str) -> str:
        return self.base + path

    def session_token(self, user: str, account_id: int | None = None) -> str:
        """A console session for ``user``, made directly (the tests' principal helper)."""
        with transaction(self.sessions) as session:
            started = start_session(
                session,
                user_id=self.users[user],
                account_id=account_id or self.account_id,
                now=datetime.now(UTC),
            )
        return started.token

    def set_user(self, user: str, **values: Any) -> None:
        with transaction(self.sessions) as session:
            row = session.get(User, self.users[user])
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)


def _build(session: Session, box: SecretBox) -> tuple[int, int, dict[str, int], dict[str, int]]:
    account = create_account(session, name="Example Corp", region="ap-northeast-1")
    other = create_account(session, name="Other Corp", region="eu-central-1")
    for target in (account, other):
        dataset = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=target.id, dataset=dataset, box=box)
    web = session.scalars(
        select(ComputerGroup).where(
            ComputerGroup.account_id == account.id, ComputerGroup.name == "Web Servers"
        )
    ).one()
    for name, (rights, web_only) in custom_roles().items():
        role = create_role(session, account_id=account.id, name=name, rights=rights)
        if web_only:
            role.computer_groups = [RoleComputerGroup(group_id=web.id)]
    session.flush()
    roles = {
        r.name: r.id for r in session.scalars(select(Role).where(Role.account_id == account.id))
    }
    other_roles = {
        r.name: r.id for r in session.scalars(select(Role).where(Role.account_id == other.id))
    }
    users = {}
    for key, (email, name, role_a, role_b) in USERS.items():
        user = User(email_address=email, name=name, locale="en-US", time_zone="Europe/London")
        session.add(user)
        session.flush()
        set_password(session, user_id=user.id, password=PASSWORD, now=NOW)
        session.add(Membership(account_id=account.id, user_id=user.id, role_id=roles[role_a]))
        if role_b is not None:
            session.add(
                Membership(account_id=other.id, user_id=user.id, role_id=other_roles[role_b])
            )
        users[key] = user.id
    session.flush()
    return account.id, other.id, roles, users


@pytest.fixture(scope="package")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    folder = tmp_path_factory.mktemp("console")
    sink = SmtpSink(folder / "outbox")
    sink.start()
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'reportd.sqlite3'}",
        secret_key="console-test-key",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_security="none",
        console_url=f"http://127.0.0.1:{port}",
    )
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    sessions = make_session_factory(engine)
    box = SecretBox(settings.secret_key.get_secret_value())
    with transaction(sessions) as session:
        account_id, other_id, roles, users = _build(session, box)
    server = Server(settings, port)
    server.start()
    try:
        yield ConsoleWorld(
            settings=settings,
            sessions=sessions,
            server=server,
            sink=sink,
            account_id=account_id,
            other_account_id=other_id,
            roles=roles,
            users=users,
        )
    finally:
        server.stop()
        sink.stop()
        engine.dispose()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the console's tests, closed after them: Playwright's sync API keeps an
    event loop on the main thread while it runs, which later tests' ``asyncio.run`` refuses."""
    need("Chromium", chromium_available(), "the console tests drive Debian's Chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=find_chromium(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts for one test, closed after it."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def signed_in(
    console_world: ConsoleWorld, new_context: Callable[..., BrowserContext]
) -> Callable[..., Page]:
    """``signed_in("admin")``: a page of a context whose cookie is a live session of the user."""

    def open_as(user: str, *, account_id: int | None = None, **options: Any) -> Page:
        context = new_context(**options)
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": console_world.session_token(user, account_id),
                    "url": console_world.base,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        return context.new_page()

    return open_as


def axe(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical accessibility violations (axe-core, vendored)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
