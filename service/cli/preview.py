"""``reportd render``: what a contact would get, written to a file for an admin to check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from service.cli import App, cli, pass_app
from service.cli.report_options import report_options, report_spec
from service.delivery.compaction import compact_pdf
from service.delivery.encryption import EmbeddedFile, encrypt_pdf
from service.delivery.pdf import PdfRenderer
from service.directory.accounts import find_account
from service.directory.clearance import scope_for
from service.directory.contacts import find_contact, report_password
from service.reports.builder import ReportRequest, build_report
from service.reports.csv_export import csv_filename, render_csv
from service.reports.model import ReportFormat
from service.reports.rendering import holds_nothing, render_footer_html, render_report_html
from storage.models import Contact
from storage.records import load_role


@cli.command()
@click.option("--contact", required=True, help="The contact (ID, name or email).")
@report_options
@click.option("--encrypt", is_flag=True, help="Encrypt as the contact would receive it.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def render(app: App, /, contact: str, output: Path, encrypt: bool, **options: Any) -> None:
    """Render the report CONTACT would receive now, without sending it."""
    now = datetime.now(UTC)
    spec = report_spec(options)
    start, end = spec.period(end=now)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        target = find_contact(session, account_id=account.id, ref=contact)
        scope = scope_for(load_role(session, account.id, target.role_id), account.id)
        request = ReportRequest(
            spec=spec,
            period_start=start,
            period_end=end,
            generated_at=now,
        )
        data = build_report(
            session,
            scope=scope,
            request=request,
            account_name=account.name,
            locale=target.locale,
            time_zone=target.time_zone,
        )
        stored = session.get(Contact, target.id)
        assert stored is not None
        password = report_password(stored, app.box) if encrypt else None
    if spec.skip_if_empty and holds_nothing(data):
        click.echo(
            f"nothing written: {target.name} would get no mail, the {spec.kind.value} report"
            " holds nothing of its period (--skip-if-empty)"
        )
        return
    with_csv = spec.format is ReportFormat.csv or spec.attach_csv
    if spec.format is ReportFormat.csv and not password:
        output.write_bytes(render_csv(data))
    else:  # a protected contact's rows travel inside the encrypted PDF, as mailed
        with PdfRenderer.from_settings(app.settings) as renderer:
            pdf = compact_pdf(renderer.render(render_report_html(data), render_footer_html(data)))
        if password:
            inside = [EmbeddedFile(csv_filename(data), render_csv(data), "text/csv")]
            pdf = encrypt_pdf(pdf, password, inside if with_csv else [])
        output.write_bytes(pdf)
    click.echo(
        f"wrote {output}: {spec.kind.value} for {target.name} "
        f"({len(data.computers)} computers, {len(data.events)} events, "
        f"{len(data.alerts)} alerts, {len(data.system_events)} system events)"
    )
