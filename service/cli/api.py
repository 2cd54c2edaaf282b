"""Commands for the HTTP API: ``reportd api`` serves it, ``reportd apikeys`` manages keys."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import click

from actors.dispatch import open_dispatcher
from service.api.keys import key_to_api, list_keys, new_key
from service.cli import App, cli, pass_app
from service.cli.params import REF, Text
from service.directory import audit
from service.directory.accounts import find_account, find_role
from service.errors import InvalidInput
from service.fields import Description, Name
from service.runtime.schema import require_migrated_unless_down

#: Where ``reportd api`` listens unless told otherwise.
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


@cli.command("api")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True)
@pass_app
def api(app: App, host: str, port: int) -> None:
    """Serve the REST API (base path /api, OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from service.api.app import create_app

    require_migrated_unless_down(app.raw_engine)  # before anything starts
    # uvicorn shuts down on SIGTERM, then raises the signal again; with the default action
    # that killed the process before the embedded dispatcher below stopped its worker, Chromium and
    # encryption helper (left running with parent 1). Raised as SystemExit, it unwinds.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with open_dispatcher(app.settings) as dispatcher:
        uvicorn.run(create_app(app.settings, dispatcher=dispatcher), host=host, port=port)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@cli.group()
def apikeys() -> None:
    """API keys of the web service API."""


def _expiry(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--expires {text!r}: use ISO 8601, e.g. 2027-01-31T00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@apikeys.command("create")
@click.option(
    "--role", type=REF, required=True, help="Role (ID or name); it must allow the web service API."
)
@click.option(
    "--name", type=Text(Name), required=True, help="A name for the key, unique in the account."
)
@click.option("--description", type=Text(Description), default="")
@click.option("--expires", help="Expiry time, ISO 8601 (default: never).")
@pass_app
def apikeys_create(app: App, role: str, name: str, description: str, expires: str | None) -> None:
    """Create an API key and print its secret, once: it is stored only as a hash."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        found = find_role(session, account.id, role)
        if not found.allow_web_service:
            raise InvalidInput(f"role {found.name!r} does not allow the web service API")
        key, secret = new_key(
            session,
            account_id=account.id,
            role_id=found.id,
            name=name,
            description=description,
            expiry=_expiry(expires),
        )
        audit.record(
            session,
            account_id=account.id,
            code=audit.AuditCode.api_key_created,
            description=audit.describe_values(
                f"API key {key.key_name!r} (ID {key.id})", key_to_api(key)
            ),
            actor=audit.cli_actor(),
            origin=audit.cli_origin(),
        )
    click.echo(f"created API key {name!r} (ID {key.id}) with role {found.name!r}")
    click.echo("secret (shown once, keep it safe):")
    click.echo(secret)


@apikeys.command("list")
@pass_app
def apikeys_list(app: App) -> None:
    """The account's API keys (never their secrets)."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        for key in list_keys(session, account_id=account.id):
            state = "active" if key.active else "disabled"
            expiry = f"expires {key.expiry_date:%Y-%m-%d %H:%M}" if key.expiry_date else "no expiry"
            click.echo(f"{key.id:>5}  {key.key_name:<30} role {key.role_id}  {state}  {expiry}")
