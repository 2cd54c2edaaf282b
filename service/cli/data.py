"""Commands over the stored data: database, accounts, roles, contacts, scope, import, export."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select

from service.cli import App, cli, pass_app
from service.cli.params import PERIOD, REF, OutputFile, Text
from service.cli.report_options import parse_last
from service.directory import audit
from service.directory.accounts import create_account, find_account, find_role
from service.directory.contacts import (
    add_contact,
    delete_contact,
    edit_contact,
    find_contact,
    list_contacts,
)
from service.directory.export import export_dataset
from service.directory.importing import IMPORTED_TABLES, import_dataset, parse_dataset
from service.directory.scope_summary import summarize_scope
from service.directory.task_recipients import CONTACTS, forget_recipient
from service.fields import Description, EmailAddress, Name, PhoneNumber, TimeZone
from service.reports.spec import period_of
from storage.db import refresh_statistics
from storage.migrate import upgrade
from storage.models import Account, Role
from storage.records import role_record

Command = TypeVar("Command", bound=Callable[..., Any])


def _account(app: App, session: Any) -> Account:
    return find_account(session, app.account_name)


# --- db -----------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Create or migrate the tables to the newest version."""
    upgrade(app.raw_engine)
    click.echo(f"database is up to date: {app.raw_engine.url.render_as_string(hide_password=True)}")


# --- accounts -----------------------------------------------------------------------------


@cli.group()
def accounts() -> None:
    """Accounts (tenants)."""


@accounts.command("create")
@click.argument("name", type=Text(Name))
@click.option("--region", default="", help="The account's region, e.g. us-1.")
@pass_app
def accounts_create(app: App, name: str, region: str) -> None:
    """Create an account with the five preconfigured roles."""
    with app.transaction() as session:
        account = create_account(session, name=name, region=region)
        click.echo(f"created account {account.name!r} (ID {account.id})")


@accounts.command("list")
@pass_app
def accounts_list(app: App) -> None:
    """List the accounts."""
    with app.transaction() as session:
        for account in session.scalars(select(Account).order_by(Account.id)):
            click.echo(f"{account.id:>5}  {account.name}  {account.region}")


# --- roles --------------------------------------------------------------------------------


@cli.group()
def roles() -> None:
    """Roles and their rights (read only here)."""


@roles.command("list")
@pass_app
def roles_list(app: App) -> None:
    """List the account's roles."""
    with app.transaction() as session:
        account = _account(app, session)
        statement = select(Role).where(Role.account_id == account.id).order_by(Role.id)
        for role in session.scalars(statement):
            flags = " (immutable)" if role.immutable else ""
            click.echo(f"{role.id:>5}  {role.name}{flags}")


@roles.command("show")
@click.argument("role", type=REF)
@pass_app
def roles_show(app: App, role: str) -> None:
    """Show every right of ROLE (an ID or a name)."""
    with app.transaction() as session:
        account = _account(app, session)
        record = role_record(find_role(session, account.id, role))
        click.echo(f"{record.name} (ID {record.id}){' immutable' if record.immutable else ''}")
        for key, value in sorted(record.rights.items()):
            if key != "other_rights":
                click.echo(f"  {key}: {value}")
        click.echo(f"  selected groups: {sorted(record.computer_group_ids)}")
        click.echo(f"  selected computers: {sorted(record.computer_ids)}")
        click.echo(f"  selected policies: {sorted(record.policy_ids)}")
        click.echo("  other rights:")
        for key, level in record.rights["other_rights"].items():
            click.echo(f"    {key}: {level}")


# --- contacts -----------------------------------------------------------------------------


@cli.group()
def contacts() -> None:
    """Contacts: people who receive reports but cannot sign in."""


@contacts.command("list")
@pass_app
def contacts_list(app: App) -> None:
    """List the account's contacts."""
    with app.transaction() as session:
        account = _account(app, session)
        names = {r.id: r.name for r in session.scalars(select(Role))}
        for c in list_contacts(session, account_id=account.id):
            clearance = names.get(c.role_id, "(none)") if c.role_id else "(none)"
            lock = "  [password protected]" if c.report_pdf_password_enabled else ""
            click.echo(f"{c.id:>5}  {c.name}  <{c.email_address}>  {c.locale}  {clearance}{lock}")


def _contact_options(required: bool) -> Callable[[Command], Command]:
    def decorate(command: Command) -> Command:
        options = [
            click.option("--name", type=Text(Name), required=required),
            click.option("--email", "email_address", type=Text(EmailAddress), required=required),
            click.option(
                "--role", type=REF, help="The clearance: a role ID or name.", required=required
            ),
            click.option("--description", type=Text(Description)),
            click.option("--locale", help="e.g. en-US, ja-JP."),
            click.option("--time-zone", type=Text(TimeZone), help="e.g. Asia/Tokyo."),
            click.option("--phone", "phone_number", type=Text(PhoneNumber)),
            click.option("--mobile", "mobile_number", type=Text(PhoneNumber)),
            click.option("--pager", "pager_number", type=Text(PhoneNumber)),
            click.option(
                "--password-protected/--no-password-protected",
                "report_pdf_password_enabled",
                default=None,
            ),
            click.option(
                "--report-password",
                "report_password_prompt",
                is_flag=True,
                help="Prompt for the report password (never given on the command line).",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _contact_values(
    app: App, session: Any, account_id: int, given: dict[str, Any]
) -> dict[str, Any]:
    prompt = given.pop("report_password_prompt")
    role = given.pop("role")
    values = {k: v for k, v in given.items() if v is not None}
    if role is not None:
        values["role_id"] = find_role(session, account_id, role).id
    if prompt:
        values["report_pdf_password"] = click.prompt(
            "Report password", hide_input=True, confirmation_prompt=True
        )
    return values


@contacts.command("add")
@_contact_options(required=True)
@pass_app
def contacts_add(app: App, /, **given: Any) -> None:
    """Add a contact."""
    with app.transaction() as session:
        account = _account(app, session)
        values = _contact_values(app, session, account.id, given)
        view = add_contact(session, account_id=account.id, box=app.box, **values)
        subject = f"contact {view.name!r} (ID {view.id})"
        audit.record_cli(
            session,
            account_id=account.id,
            code=audit.AuditCode.contact_created,
            description=audit.describe_values(subject, view.to_api()),
        )
        click.echo(f"added contact {view.name!r} (ID {view.id})")


@contacts.command("edit")
@click.argument("contact", type=REF)
@_contact_options(required=False)
@pass_app
def contacts_edit(app: App, /, contact: str, **given: Any) -> None:
    """Change some fields of CONTACT (an ID, name or email address)."""
    with app.transaction() as session:
        account = _account(app, session)
        target = find_contact(session, account_id=account.id, ref=contact)
        values = _contact_values(app, session, account.id, given)
        view = edit_contact(
            session, account_id=account.id, contact_id=target.id, box=app.box, **values
        )
        changed = {
            **view.to_api(),
            **({"reportPDFPassword": "(new)"} if values.get("report_pdf_password") else {}),
        }
        audit.record_cli(
            session,
            account_id=account.id,
            code=audit.AuditCode.contact_updated,
            description=audit.describe_changes(
                f"contact {view.name!r} (ID {view.id})", target.to_api(), changed
            ),
        )
        click.echo(f"updated contact {view.name!r} (ID {view.id})")


@contacts.command("delete")
@click.argument("contact", type=REF)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def contacts_delete(app: App, contact: str, yes: bool) -> None:
    """Delete CONTACT (an ID, name or email address)."""
    with app.transaction() as session:
        account = _account(app, session)
        target = find_contact(session, account_id=account.id, ref=contact)
        if not yes:
            click.confirm(f"Delete contact {target.name!r}?", abort=True)
        delete_contact(session, account_id=account.id, contact_id=target.id)
        audit.record_cli(
            session,
            account_id=account.id,
            code=audit.AuditCode.contact_deleted,
            description=f"contact {target.name!r} (ID {target.id}, {target.email_address})",
        )
        forget_recipient(
            session,
            account_id=account.id,
            field=CONTACTS,
            recipient_id=target.id,
            who=f"{target.name!r} (ID {target.id})",
            actor=audit.cli_actor(),
            origin=audit.cli_origin(),
        )
        click.echo(f"deleted contact {target.name!r}")


# --- scope --------------------------------------------------------------------------------


@cli.command()
@click.argument("contact", type=REF)
@click.option(
    "--last", type=PERIOD, default="7d", show_default=True, help="Event window: 24h, 7d, 2w, 1m."
)
@click.option("--verbose", "-v", is_flag=True, help="List the names, not just the counts.")
@pass_app
def scope(app: App, contact: str, last: str, verbose: bool) -> None:
    """What CONTACT's clearance lets it see."""
    start, end = period_of(parse_last(last), end=datetime.now(UTC))
    with app.transaction() as session:
        account = _account(app, session)
        target = find_contact(session, account_id=account.id, ref=contact)
        seen = summarize_scope(
            session,
            account_id=account.id,
            role_id=target.role_id,
            start=start,
            end=end,
            names=verbose,
        )
    counts = seen.counts
    click.echo(f"contact: {target.name} <{target.email_address}>")
    click.echo(f"clearance: {seen.role_name or '(none: sees nothing)'}")
    click.echo(f"computers: {counts.computers}")
    click.echo(f"security events (last {last}): {counts.events}")
    click.echo(f"alerts (last {last}): {counts.alerts}")
    click.echo(f"system events (last {last}): {counts.system_events}")
    unrelated = "yes" if seen.not_related_to_computers else "no"
    click.echo(f"events not related to computers: {unrelated}")
    click.echo(f"policies: {counts.policies}")
    for computer in seen.computers:
        click.echo(f"  computer  {computer.display_name}  ({computer.group_path or '-'})")
    for policy in seen.policies:
        click.echo(f"  policy    {policy.name}")


# --- import / export ----------------------------------------------------------------------


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def import_command(app: App, file: Path) -> None:
    """Load a dataset (JSON, see docs/IMPORT_FORMAT.md) into the account: all or nothing."""
    dataset = parse_dataset(file.read_bytes())
    with app.transaction() as session:
        account = _account(app, session)
        summary = import_dataset(session, account_id=account.id, dataset=dataset, box=app.box)
    with app.transaction() as session:
        refresh_statistics(session, IMPORTED_TABLES)
    parts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in vars(summary).items())
    click.echo(f"imported into {account.name!r}: {parts}")
    if summary.users:
        click.echo(
            "users new to reportd have no password yet: give each a set-password token with "
            "'reportd users passwd EMAIL --token'"
        )


@cli.command("export")
@click.option("-o", "--output", type=OutputFile())
@pass_app
def export_command(app: App, output: Path | None) -> None:
    """Write the account as a dataset (report passwords and sign-in secrets excluded)."""
    with app.transaction() as session:
        account = _account(app, session)
        data = export_dataset(session, account_id=account.id).model_dump(mode="json", by_alias=True)
    for record in data["contacts"] + data["users"]:
        record.pop("reportPDFPassword", None)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"exported {account.name!r} to {output}")
    else:
        click.echo(text)
