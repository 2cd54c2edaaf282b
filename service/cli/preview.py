"""``reportd render``: what a contact would get, written to a file for an admin to check (the
same report as the console's preview: ``service.delivery.preview``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from service.cli import App, cli, pass_app
from service.cli.params import REF, OutputFile
from service.cli.report_options import report_options, report_spec, smart_folder_ids
from service.delivery.encryption import EmbeddedFile, encrypt_pdf
from service.delivery.pdf import PdfRenderer
from service.delivery.preview import (
    RecipientKind,
    RecipientRef,
    find_recipient,
    print_pdf,
    report_for,
)
from service.directory.accounts import find_account
from service.directory.contacts import find_contact, report_password
from service.reports.csv_export import csv_filename, render_csv
from service.reports.model import ReportFormat
from service.reports.rendering import holds_nothing
from storage.models import Contact


@cli.command()
@click.option("--contact", type=REF, required=True, help="The contact (ID, name or email).")
@report_options
@click.option("--encrypt", is_flag=True, help="Encrypt as the contact would receive it.")
@click.option("-o", "--output", required=True, type=OutputFile())
@pass_app
def render(app: App, /, contact: str, output: Path, encrypt: bool, **options: Any) -> None:
    """Render the report CONTACT would receive now, without sending it."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        spec = report_spec(options, folders=smart_folder_ids(session, account.id))
        target = find_contact(session, account_id=account.id, ref=contact)
        recipient = find_recipient(
            session,
            account_id=account.id,
            ref=RecipientRef(RecipientKind.contact, target.id),
        )
        data = report_for(session, account_id=account.id, recipient=recipient, spec=spec, now=now)
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
            pdf = print_pdf(data, renderer)
        if password:
            inside = [EmbeddedFile(csv_filename(data), render_csv(data), "text/csv")]
            pdf = encrypt_pdf(pdf, password, inside if with_csv else [])
        output.write_bytes(pdf)
    click.echo(
        f"wrote {output}: {spec.kind.value} for {target.name} "
        f"({len(data.computers)} computers, {len(data.events)} events, "
        f"{len(data.alerts)} alerts, {len(data.system_events)} system events)"
    )
