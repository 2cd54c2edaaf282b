"""``reportd demo``: the whole job end to end on the embedded default, on a fresh machine.

SQLite, the in-process broker and worker, and the SMTP sink writing into ``./outbox/``. It
creates a sample account, sends the weekly Summary to three contacts of different clearances
and shows where each mail went and what it holds. Last it makes a demo administrator (Full
Access) and prints how to open the web console on the demo data: the ``reportd api`` command
and a one-time link to choose the administrator's password.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pikepdf

from actors.dispatch import open_dispatcher
from service.cli import App, cli, pass_app
from service.cli.api import DEFAULT_HOST, DEFAULT_PORT
from service.cli.distribution import print_outcomes, wait_for_run
from service.config import SmtpSecurity
from service.delivery.ledger import Recipients
from service.delivery.request import new_report_run
from service.delivery.smtp_sink import SmtpSink
from service.directory.accounts import create_account, find_role
from service.directory.contacts import list_contacts
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.scope_summary import summarize_scope
from service.directory.user_tokens import issue_token
from service.directory.users import add_user
from service.reports.model import ReportType
from service.reports.spec import LAST_WEEK, ReportSpec
from storage.migrate import upgrade


@cli.command()
@click.option(
    "--outbox",
    default="outbox",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the SMTP sink writes the mails.",
)
@pass_app
def demo(app: App, outbox: Path) -> None:
    """Send the weekly Summary of a sample account to three contacts, into ./outbox/."""
    database = (app.settings.data_dir / "demo.sqlite3").resolve()
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()
    outbox.mkdir(parents=True, exist_ok=True)
    with SmtpSink(outbox) as sink:
        settings = app.settings.model_copy(
            update={
                "database_url": f"sqlite:///{database}",
                "broker_url": "",
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_security": SmtpSecurity.none,
                "smtp_username": "",
            }
        )
        demo_app = App(settings=settings)
        now = datetime.now(UTC).replace(microsecond=0)
        upgrade(demo_app.raw_engine)
        click.echo(f"database: {database}")
        with demo_app.transaction() as session:
            account = create_account(session, name="Example Corp", region="ap-northeast-1")
            dataset = parse_dataset(json.dumps(sample_dataset(now=now)))
            summary = import_dataset(
                session, account_id=account.id, dataset=dataset, box=demo_app.box
            )
            click.echo(
                f"sample account 'Example Corp': {summary.computers} computers in "
                f"{summary.computer_groups} groups, {summary.events} events over 7 days, "
                f"{summary.contacts} contacts"
            )
            spec = ReportSpec(kind=ReportType.summary, time_range=LAST_WEEK)
            start, end = spec.period(end=now)
            run = new_report_run(
                session,
                account_id=account.id,
                spec=spec,
                recipients=Recipients(all_contacts=True),
                triggered_by="demo",
                period_start=start,
                period_end=end,
                now=now,
            )
        click.echo(f"weekly Summary: run {run.run_id}, {len(run.delivery_ids)} deliveries")
        with open_dispatcher(demo_app.settings) as dispatcher:
            dispatcher.start_runs([run.run_id])
            wait_for_run(demo_app, run.run_id, show_progress=False)
        print_outcomes(demo_app, run.run_id)
        click.echo("")
        contents = what_each_sees(demo_app, account.id, now - timedelta(days=7), now)
        for received in sink.received:
            describe(received.path, contents)
    token = demo_administrator(demo_app, account.id, now)
    url = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    click.echo("")
    click.echo("web console on the demo data: start it with")
    click.echo(f"  REPORTD_DATABASE_URL=sqlite:///{database} reportd api")
    click.echo(f"then open {url}/set-password?token={token}")
    click.echo(
        f"to choose the password of {DEMO_ADMINISTRATOR} (Full Access; the link works once), "
        f"and sign in at {url}/"
    )


#: The demo's administrator, who signs in to the console.
DEMO_ADMINISTRATOR = "admin@example.com"


def demo_administrator(app: App, account_id: int, now: datetime) -> str:
    """A Full Access administrator without a password, and their one-time set-password token."""
    with app.transaction() as session:
        role = find_role(session, account_id, "Full Access")
        added = add_user(
            session,
            account_id=account_id,
            box=app.box,
            now=now,
            email_address=DEMO_ADMINISTRATOR,
            name="Demo Administrator",
            role_id=role.id,
        )
        issued = issue_token(session, user_id=added.member.id, now=now)
    return issued.token


#: The sample contacts' report passwords, to show that the protected PDF opens with it.
SAMPLE_PASSWORDS = {"jonas.weber@example.de": "weber-2026"}


def what_each_sees(app: App, account_id: int, start: datetime, end: datetime) -> dict[str, str]:
    """Email address -> a line saying what that contact's clearance let into the report."""
    lines = {}
    with app.transaction() as session:
        for contact in list_contacts(session, account_id=account_id):
            seen = summarize_scope(
                session, account_id=account_id, role_id=contact.role_id, start=start, end=end
            )
            counts = seen.counts
            unrelated = "shown" if seen.not_related_to_computers else "hidden"
            names = [c.display_name for c in seen.computers]
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            lines[contact.email_address] = (
                f"clearance {seen.role_name or '(none)'}: {counts.computers} computers "
                f"({shown}), {counts.events} security events, {counts.alerts} alerts, "
                f"{counts.system_events} system events; events not about computers {unrelated}"
            )
    return lines


def describe(path: Path, contents: dict[str, str]) -> None:
    """Where a mail is, whom it is for, and what its PDF holds."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    to = str(message["To"])
    click.echo(f"{path}")
    click.echo(f"  to:      {to}")
    click.echo(f"  subject: {message['Subject']}")
    address = message["To"].addresses[0].addr_spec if message["To"] else ""
    if address in contents:
        click.echo(f"  holds:   {contents[address]}")
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        line = f"  attachment: {part.get_filename()} ({len(payload) // 1024} KiB"
        if part.get_content_type() == "application/pdf":
            line += _pdf_facts(payload, to)
        click.echo(line + ")")


def _pdf_facts(pdf: bytes, to: str) -> str:
    try:
        with pikepdf.open(io.BytesIO(pdf)) as document:
            return f", {len(document.pages)} pages"
    except pikepdf.PasswordError:
        pass
    password = next((p for a, p in SAMPLE_PASSWORDS.items() if a in to), None)
    if password is None:
        return ", encrypted"
    with pikepdf.open(io.BytesIO(pdf), password=password) as document:
        info = document.encryption
        return (
            f", {len(document.pages)} pages, encrypted AES-{info.bits} R={info.R},"
            f" opens with '{password}'"
        )
