"""Operator commands: ``reportd check``."""

from __future__ import annotations

import click

from service.cli import App, cli, pass_app
from service.health.checks import run_checks


@cli.command()
@pass_app
def check(app: App) -> None:
    """Check the configuration: database, secret key, broker, SMTP, Chromium, fonts."""
    results = run_checks(app.settings)
    for result in results:
        mark = "PROBLEM" if not result.ok else "WARNING" if result.warning else "ok     "
        click.echo(f"{mark} {result.name:<9} {result.detail}")
    if not all(r.ok for r in results):
        raise SystemExit(1)
