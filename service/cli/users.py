"""``reportd users``: administrators (people who sign in) of the account, and their passwords.

The operator's tool: it may change anything, also a user's identity when they belong to
several accounts. Passwords are prompted for (hidden, twice) or read from standard input,
never taken from the command line, and never printed; a set-password token is printed once
(and mailed when SMTP is configured, ``REPORTD_SMTP_HOST``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli import App, cli, pass_app
from service.cli.params import REF, Text
from service.delivery.invitations import Invitations
from service.directory import audit
from service.directory.accounts import find_account, find_role
from service.directory.task_recipients import USERS, forget_recipient, forget_user_everywhere
from service.directory.user_tokens import DEFAULT_TOKEN_LIFETIME, IssuedToken, issue_token
from service.directory.users import (
    Member,
    add_user,
    delete_identity,
    disable_second_factor,
    edit_user,
    find_identity,
    find_member,
    get_member,
    list_members,
    pending_tokens,
    remove_user,
    set_password,
)
from service.errors import InvalidInput, ReportdError
from service.fields import Description, EmailAddress, Name, PhoneNumber, TimeZone, Username
from storage.models import Account, Membership, Role, User

Command = TypeVar("Command", bound=Callable[..., Any])


@cli.group()
def users() -> None:
    """Administrators: people who sign in, with a role in this account."""


def _identity_options(command: Command) -> Command:
    options = [
        click.option(
            "--username",
            type=Text(Username),
            help="Sign-in name shown by the API (default: the address).",
        ),
        click.option(
            "--description",
            type=Text(Description),
            help="This account's description of the user.",
        ),
        click.option("--locale", help="e.g. en-US, de-DE, ja-JP."),
        click.option("--time-zone", type=Text(TimeZone), help="e.g. Europe/Berlin."),
        click.option("--time-format", type=click.Choice(["12", "24"])),
        click.option("--phone", "phone_number", type=Text(PhoneNumber)),
        click.option("--mobile", "mobile_number", type=Text(PhoneNumber)),
        click.option("--pager", "pager_number", type=Text(PhoneNumber)),
        click.option("--read-only/--no-read-only", "read_only", default=None),
        click.option("--notifications/--no-notifications", "receive_notifications", default=None),
        click.option(
            "--password-protected/--no-password-protected",
            "report_pdf_password_enabled",
            default=None,
            help="Protect the user's reports with their report password.",
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


def _token_options(command: Command) -> Command:
    options = [
        click.option(
            "--token-hours",
            type=click.IntRange(1, 24 * 30),
            default=int(DEFAULT_TOKEN_LIFETIME.total_seconds() // 3600),
            show_default=True,
            help="How long the set-password token works.",
        ),
        click.option(
            "--mail/--no-mail",
            default=None,
            help="Mail the token (default: when REPORTD_SMTP_HOST is set).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _values(session: Session, account_id: int, given: dict[str, Any]) -> dict[str, Any]:
    prompt = given.pop("report_password_prompt", False)
    role = given.pop("role", None)
    values = {k: v for k, v in given.items() if v is not None}
    if role is not None:
        values["role_id"] = find_role(session, account_id, role).id
    if prompt:
        values["report_pdf_password"] = click.prompt(
            "Report password", hide_input=True, confirmation_prompt=True
        )
    return values


def _role_names(session: Session, account_id: int) -> dict[int, str]:
    statement = select(Role.id, Role.name).where(Role.account_id == account_id)
    return {role_id: name for role_id, name in session.execute(statement)}


def _state(member: Member, now: datetime) -> str:
    flags = []
    if not member.active:
        flags.append("inactive")
    if member.read_only:
        flags.append("read-only")
    if member.unlock_time is not None and member.unlock_time > now:
        flags.append("locked")
    if not member.password_set:
        flags.append("no password yet")
    if member.mfa_type != "none":
        flags.append("totp")
    return f"  [{', '.join(flags)}]" if flags else ""


@users.command("list")
@pass_app
def users_list(app: App) -> None:
    """List the account's administrators."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        roles = _role_names(session, account.id)
        for m in list_members(session, account_id=account.id):
            role = roles.get(m.role_id, "(none)") if m.role_id else "(none)"
            click.echo(f"{m.id:>5}  {m.name}  <{m.email_address}>  {role}{_state(m, now)}")


def _millis_text(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


@users.command("show")
@click.argument("user", type=REF)
@pass_app
def users_show(app: App, user: str) -> None:
    """USER (an ID, email address or username): every field but passwords."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        m = find_member(session, account_id=account.id, ref=user)
        roles = _role_names(session, account.id)
        tokens = pending_tokens(session, m.id, now)
    rows = [
        ("ID", m.id),
        ("username", m.username),
        ("full name", m.name),
        ("email", m.email_address),
        ("role", roles.get(m.role_id, "(none)") if m.role_id else "(none)"),
        ("active", m.active),
        ("read-only", m.read_only),
        ("notifications", m.receive_notifications),
        ("description", m.description or "-"),
        ("language", m.locale),
        ("time zone", m.time_zone),
        ("time format", m.time_format),
        ("phone", m.phone_number or "-"),
        ("mobile", m.mobile_number or "-"),
        ("pager", m.pager_number or "-"),
        ("report password", "on" if m.report_pdf_password_enabled else "off"),
        ("password", "set" if m.password_set else "not set"),
        ("set-password tokens pending", tokens),
        ("second factor", m.mfa_type),
        ("created", _millis_text(m.created)),
        ("last password change", _millis_text(m.last_password_change)),
        ("last sign-in", _millis_text(m.last_sign_in)),
        ("failed sign-ins", m.unsuccessful_sign_in_attempts),
        ("locked until", _millis_text(m.unlock_time) if m.unlock_time else "not locked"),
        ("other accounts", len(m.other_accounts)),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<29} {value}")


def _deliver_token(
    app: App, member: Member, issued: IssuedToken, account_name: str, mail: bool | None
) -> None:
    """Print the token once; mail it when asked, or by default when SMTP is configured."""
    click.echo(
        f"set-password token for {member.email_address} (works once, until "
        f"{issued.expires:%Y-%m-%d %H:%M} UTC):\n  {issued.token}"
    )
    if mail is False or (mail is None and not app.settings.smtp_configured):
        return
    invitations = Invitations.from_settings(app.settings, always=True)
    assert invitations is not None
    try:
        invitations.send(member, issued, account_name=account_name)
    except (ReportdError, OSError) as error:
        click.echo(f"the token was not mailed: {error}", err=True)
        return
    click.echo(f"mailed to {member.email_address}")


@users.command("add")
@click.option("--email", "email_address", type=Text(EmailAddress), required=True)
@click.option("--name", type=Text(Name), required=True, help="Full name.")
@click.option("--role", type=REF, required=True, help="The role in this account: an ID or name.")
@_identity_options
@_token_options
@pass_app
def users_add(app: App, /, token_hours: int, mail: bool | None, **given: Any) -> None:
    """Add a new user to the account; prints a set-password token (once)."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        if find_identity(session, given["email_address"]) is not None:
            raise InvalidInput(
                f"{given['email_address']} is already a user: add them to this account with "
                "'reportd users invite'"
            )
        values = _values(session, account.id, given)
        added = add_user(session, account_id=account.id, box=app.box, now=now, **values)
        issued = issue_token(
            session, user_id=added.member.id, now=now, lifetime=timedelta(hours=token_hours)
        )
        _audit_created(session, account, added.member, values, new=True)
        member, name = added.member, account.name
    click.echo(f"added user {member.email_address} (ID {member.id})")
    _deliver_token(app, member, issued, name, mail)


@users.command("invite")
@click.argument("email")
@click.option("--role", type=REF, required=True, help="The role in this account: an ID or name.")
@click.option(
    "--name", type=Text(Name), help="Full name (needed when the address is not a user yet)."
)
@click.option("--new-token", is_flag=True, help="Issue a token even if they have a password.")
@_token_options
@pass_app
def users_invite(
    app: App,
    email: str,
    role: str,
    name: str | None,
    new_token: bool,
    token_hours: int,
    mail: bool | None,
) -> None:
    """Give EMAIL a role in this account (a user elsewhere, or a new one).

    A user without a password (or with --new-token) gets a set-password token.
    """
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        values: dict[str, Any] = {
            "email_address": email,
            "role_id": find_role(session, account.id, role).id,
        }
        if find_identity(session, email) is None:
            if not name:
                raise InvalidInput(f"--name: {email} is not a user yet; give their full name")
            values["name"] = name
        added = add_user(session, account_id=account.id, box=app.box, now=now, **values)
        member = added.member
        issued = None
        if new_token or not member.password_set:
            issued = issue_token(
                session, user_id=member.id, now=now, lifetime=timedelta(hours=token_hours)
            )
        _audit_created(session, account, member, values, new=added.new_identity)
        account_name = account.name
    how = "new user" if added.new_identity else "existing user"
    click.echo(f"invited {member.email_address} (ID {member.id}, {how}) to {account_name}")
    if issued is not None:
        _deliver_token(app, member, issued, account_name, mail)


def _audit_created(
    session: Session, account: Account, member: Member, values: dict[str, Any], *, new: bool
) -> None:
    notes = {"reportPDFPassword": "(new)"} if "report_pdf_password" in values else {}
    audit.record_cli(
        session,
        account_id=account.id,
        code=audit.AuditCode.user_created,
        description=audit.describe_values(
            f"administrator {member.email_address} (ID {member.id})"
            + ("" if new else ", an existing user"),
            {**member.audit_values(), **notes},
        ),
    )


@users.command("edit")
@click.argument("user", type=REF)
@click.option("--email", "email_address", type=Text(EmailAddress))
@click.option("--name", type=Text(Name), help="Full name.")
@click.option("--role", type=REF, help="The role in this account: an ID or name.")
@click.option("--active/--inactive", "active", default=None)
@_identity_options
@click.option("--mfa-off", is_flag=True, help="Switch the second factor off (lost phone).")
@click.option("--unlock", is_flag=True, help="End a lockout and reset the failure count.")
@pass_app
def users_edit(app: App, /, user: str, mfa_off: bool, unlock: bool, **given: Any) -> None:
    """Change fields of USER (an ID, email address or username)."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        before = find_member(session, account_id=account.id, ref=user)
        values = _values(session, account.id, given)
        after = edit_user(
            session, account_id=account.id, user_id=before.id, box=app.box, now=now, **values
        )
        changes = []
        if mfa_off:
            disable_second_factor(session, user_id=before.id)
            changes.append("second factor switched off")
        if unlock:
            row = session.get(User, before.id)
            assert row is not None
            row.unlock_time, row.unsuccessful_sign_in_attempts = None, 0
            changes.append("unlocked")
        after = get_member(session, account_id=account.id, user_id=before.id)
        notes = {"reportPDFPassword": "(new)"} if "report_pdf_password" in values else {}
        subject = f"administrator {after.email_address} (ID {after.id})"
        audit.record_cli(
            session,
            account_id=account.id,
            code=audit.AuditCode.user_updated,
            description=audit.describe_changes(
                subject + "".join(f", {c}" for c in changes),
                before.audit_values(),
                {**after.audit_values(), **notes},
            ),
        )
        if mfa_off:
            audit.record_for_user(
                session,
                user_id=after.id,
                code=audit.AuditCode.user_second_factor_changed,
                description=f"{subject}: switched off by the operator",
                actor=audit.cli_actor(),
                origin=audit.cli_origin(),
            )
    click.echo(f"updated user {after.email_address} (ID {after.id})")


@users.command("remove")
@click.argument("user", type=REF)
@click.option("--everywhere", is_flag=True, help="Delete the user from every account.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def users_remove(app: App, user: str, everywhere: bool, yes: bool) -> None:
    """Take USER out of this account (the user goes when no account is left)."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        target = find_member(session, account_id=account.id, ref=user)
        where = "every account" if everywhere else account.name
        if not yes:
            click.confirm(f"Remove {target.email_address} from {where}?", abort=True)
        subject = f"administrator {target.email_address} (ID {target.id})"
        if everywhere:
            audit.record_for_user(
                session,
                user_id=target.id,
                code=audit.AuditCode.user_removed,
                description=f"{subject} (deleted from every account)",
                actor=audit.cli_actor(),
                origin=audit.cli_origin(),
            )
            forget_user_everywhere(
                session,
                account_ids=session.scalars(
                    select(Membership.account_id).where(Membership.user_id == target.id)
                ),
                user_id=target.id,
                who=f"{target.email_address} (ID {target.id})",
                actor=audit.cli_actor(),
                origin=audit.cli_origin(),
            )
            delete_identity(session, user_id=target.id)
            gone = True
        else:
            gone = remove_user(session, account_id=account.id, user_id=target.id)
            audit.record_cli(
                session,
                account_id=account.id,
                code=audit.AuditCode.user_removed,
                description=subject + (" (the user is deleted: no account left)" if gone else ""),
            )
            forget_recipient(
                session,
                account_id=account.id,
                field=USERS,
                recipient_id=target.id,
                who=f"{target.email_address} (ID {target.id})",
                actor=audit.cli_actor(),
                origin=audit.cli_origin(),
            )
    click.echo(f"removed {target.email_address} from {where}" + (" (user deleted)" if gone else ""))


@users.command("passwd")
@click.argument("user", type=REF)
@click.option("--token", "want_token", is_flag=True, help="Issue a set-password token instead.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@_token_options
@pass_app
def users_passwd(
    app: App,
    user: str,
    want_token: bool,
    password_stdin: bool,
    token_hours: int,
    mail: bool | None,
) -> None:
    """Set USER's password (prompted, hidden), or issue a set-password token (--token)."""
    now = datetime.now(UTC)
    issued = None
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        target = find_member(session, account_id=account.id, ref=user)
        subject = f"administrator {target.email_address} (ID {target.id})"
        if want_token:
            issued = issue_token(
                session, user_id=target.id, now=now, lifetime=timedelta(hours=token_hours)
            )
        else:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
            set_password(session, user_id=target.id, password=password, now=now)
            audit.record_for_user(
                session,
                user_id=target.id,
                code=audit.AuditCode.user_password_changed,
                description=f"{subject}: set by the operator",
                actor=audit.cli_actor(),
                origin=audit.cli_origin(),
                now=now,
            )
        account_name = account.name
    if issued is not None:
        _deliver_token(app, target, issued, account_name, mail)
    else:
        click.echo(f"password of {target.email_address} changed")
