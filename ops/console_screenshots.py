"""Screenshots of every console page, for docs/CONSOLE.md: ``python3 ops/console_screenshots.py``.

It runs ``reportd demo`` in a temporary folder (the sample account, a weekly Summary sent to
three contacts, the demo administrator), gives the demo administrator a password and an
Auditor membership of a second account (so the account switcher shows), serves ``reportd
api``'s application on a free port, signs in through the sign-in form in Debian's Chromium
and saves each page as ``docs/console/<name>.png`` (1280 px wide, the whole page). Pages the
second half of the console adds go in :data:`PAGES` too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from service.api.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.delivery.pdf import find_chromium  # noqa: E402
from service.directory.accounts import create_account, find_role  # noqa: E402
from service.directory.secretbox import SecretBox  # noqa: E402
from service.directory.users import add_user, find_identity, set_password  # noqa: E402
from service.scheduling.scheduler import create_task  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.models import Contact, ReportRun, Role  # noqa: E402

#: The demo administrator's password for the screenshots.
PASSWORD = "demo-console-password-1"
ADMINISTRATOR = "admin@example.com"
#: (file name, path) of every page a Full Access administrator opens, in the docs' order.
PAGES: list[tuple[str, str]] = [
    ("overview", "/"),
    ("contacts", "/contacts"),
    ("contact", "/contacts/{hanako}"),
    ("contact-new", "/contacts/new"),
    ("contact-edit", "/contacts/{jonas}/edit"),
    ("roles", "/roles"),
    ("role-preset", "/roles/{full_access}"),
    ("role-new", "/roles/new"),
    ("role-custom", "/roles/{web_team}"),
    ("administrators", "/administrators"),
    ("administrator", "/administrators/{admin}"),
    ("administrator-invite", "/administrators/new"),
    ("profile", "/profile"),
    ("tasks", "/tasks"),
    ("task", "/tasks/{task}"),
    ("task-new", "/tasks/new"),
    ("task-edit", "/tasks/{task}/edit"),
    ("task-delete", "/tasks/{task}/delete"),
    ("send", "/reports/new"),
    ("runs", "/runs"),
    ("run", "/runs/{run}"),
    ("preview", "/preview"),
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(folder: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REPORTD_DATA_DIR": str(folder / "data")}
    subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "demo"],
        cwd=folder,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return folder / "data" / "demo.sqlite3"


def prepare(settings: Settings) -> dict[str, int]:
    """The demo administrator's password, a second account, and the ids the paths name."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    box = SecretBox(settings.secret_key.get_secret_value())
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        user = find_identity(session, ADMINISTRATOR)
        assert user is not None, "reportd demo made no demo administrator"
        set_password(session, user_id=user.id, password=PASSWORD, now=now)
        other = create_account(session, name="Other Corp", region="eu-central-1")
        auditor = find_role(session, other.id, "Auditor")
        add_user(
            session,
            account_id=other.id,
            box=box,
            now=now,
            email_address=ADMINISTRATOR,
            role_id=auditor.id,
        )
        contacts = {c.email_address: c.id for c in session.scalars(select(Contact))}
        roles = {
            r.name: r.id for r in session.scalars(select(Role).where(Role.account_id != other.id))
        }
        run = session.scalars(select(ReportRun.id).order_by(ReportRun.id.desc())).first()
        assert run is not None, "reportd demo sent no report"
        task = weekly_task(
            session,
            run,
            [contacts["hanako.sato@example.jp"], contacts["jonas.weber@example.de"]],
            now,
        )
        return {
            "task": task,
            "run": run,
            "hanako": contacts["hanako.sato@example.jp"],
            "jonas": contacts["jonas.weber@example.de"],
            "full_access": roles["Full Access"],
            "web_team": roles["Web Team"],
            "admin": user.id,
        }


def weekly_task(session: Session, run_id: int, contact_ids: list[int], now: datetime) -> int:
    """A weekly task of the demo account (the demo sends once; the task pages need one)."""
    account_id = session.scalars(select(ReportRun.account_id).where(ReportRun.id == run_id)).one()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1, hours=8)
    task = create_task(
        session,
        account_id=account_id,
        task={
            "name": "Weekly summary",
            "scheduleDetails": {
                "timeZone": "Asia/Tokyo",
                "recurrenceType": "weekly",
                "weeklyScheduleParameters": {
                    "startTime": round(start.timestamp() * 1000),
                    "interval": 1,
                    "days": ["monday", "thursday"],
                },
            },
            "generateReportTaskParameters": {
                "reportTemplateID": 1,
                "format": "pdf",
                "timeRange": {"units": "week", "value": 1},
                "recipients": {"contactIDs": contact_ids},
            },
        },
        now=now,
    )
    return task.id


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/signin")
    page.get_by_label("Email address").fill(ADMINISTRATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temp:
        database = run_demo(Path(temp))
        port = free_port()
        settings = Settings(
            database_url=f"sqlite:///{database}", console_url=f"http://127.0.0.1:{port}"
        )
        ids = prepare(settings)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=find_chromium(), args=["--no-sandbox", "--disable-gpu"]
                )
                shoot(browser, base, ids, args.out)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def shoot(browser: object, base: str, ids: dict[str, int], out: Path) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    size = {"width": 1280, "height": 800}
    signed_out = browser.new_context(viewport=size, locale="en-US")
    page = signed_out.new_page()
    page.goto(base + "/signin")
    page.screenshot(path=out / "signin.png", full_page=True)
    page.goto(base + "/set-password?token=example")
    page.screenshot(path=out / "set-password.png", full_page=True)
    signed_out.close()

    context = browser.new_context(viewport=size, locale="en-US")
    page = context.new_page()
    sign_in(page, base)
    for name, path in PAGES:
        page.goto(base + path.format(**ids))
        page.screenshot(path=out / f"{name}.png", full_page=True)
        print(f"{name}: {path.format(**ids)}")
    two_factor(page, base, out)
    # The same overview and a contact form in Japanese, the administrator's language switched.
    page.goto(base + "/profile")
    page.get_by_label("Language of the console").select_option("ja-JP")
    page.get_by_label("Time zone", exact=True).select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    page.goto(base + "/")
    page.screenshot(path=out / "overview-ja.png", full_page=True)
    page.goto(base + "/contacts/new")
    page.screenshot(path=out / "contact-new-ja.png", full_page=True)
    page.goto(base + "/tasks/{task}".format(**ids))
    page.screenshot(path=out / "task-ja.png", full_page=True)
    page.goto(base + "/runs/{run}".format(**ids))
    page.screenshot(path=out / "run-ja.png", full_page=True)
    context.close()


def two_factor(page: Page, base: str, out: Path) -> None:
    """Turning two-factor sign-in on (the key shown is this run's, thrown away), the recovery
    codes, the profile with it on; then off again, so the pages after are as before."""
    import pyotp

    page.goto(base + "/profile")
    page.get_by_role("button", name="Turn two-factor sign-in on").click()
    page.wait_for_url(base + "/profile/totp")
    page.screenshot(path=out / "profile-totp.png", full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "").strip()
    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn it on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    page.screenshot(path=out / "profile-recovery-codes.png", full_page=True)
    codes = page.locator(".codes code").all_inner_texts()
    page.goto(base + "/profile")
    page.screenshot(path=out / "profile-totp-on.png", full_page=True)
    panel = page.get_by_role("region", name="Two-factor sign-in")
    panel.get_by_label("Password").fill(PASSWORD)
    panel.get_by_label("Authentication code").fill(codes[0])
    panel.get_by_role("button", name="Turn two-factor sign-in off").click()
    page.get_by_role("status").wait_for()
    print("two-factor: /profile/totp, the recovery codes, /profile")


if __name__ == "__main__":
    main()
