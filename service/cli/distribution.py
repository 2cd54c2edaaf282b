"""Commands that send reports: send, runs, deliveries, reconcile, worker, smtp-sink, render."""

from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from actors.dispatch import open_dispatcher
from service.cli import App, cli, pass_app
from service.cli.params import ID_PARAM, LIST_LENGTH, REF
from service.cli.report_options import report_options, report_spec, smart_folder_ids
from service.delivery.ledger import FINAL_STATES, Recipients, retry_failed
from service.delivery.request import check_filter, new_report_run, whole_account
from service.directory.accounts import find_account
from service.directory.contacts import find_contact
from service.directory.users import find_member
from service.errors import InvalidInput
from service.runtime.schema import require_migrated_unless_down
from service.scheduling.loops import DEFAULT_RECONCILE_EVERY, StopSignal, run_reconciler
from storage.models import Delivery, DeliveryTransition, ReportRun

log = logging.getLogger(__name__)

#: How often ``--wait`` looks at the ledger (seconds).
POLL_INTERVAL = 0.25
#: Seconds a stopping worker lets the deliveries in hand finish (a render of a long report
#: takes a few seconds, a send well under one); systemd's TimeoutStopSec must be longer.
DEFAULT_SHUTDOWN_GRACE = 20.0


def wait_for_run(app: App, run_id: int, *, show_progress: bool) -> ReportRun:
    """Poll the ledger until the run is finished; a progress bar when asked."""
    with app.sessions() as session:
        total = session.get(ReportRun, run_id).total  # type: ignore[union-attr]
    done_before = 0
    # Without a bar, it draws into a buffer nobody reads (an unclosed /dev/null leaked a file).
    with click.progressbar(
        length=total, label="delivering", file=None if show_progress else io.StringIO()
    ) as bar:
        while True:
            with app.sessions() as session:
                run = session.get(ReportRun, run_id)
                assert run is not None
                done = session.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.run_id == run_id,
                        Delivery.state.in_([s.value for s in FINAL_STATES]),
                    )
                )
            bar.update((done or 0) - done_before)
            done_before = done or 0
            if run.finished is not None:
                return run
            time.sleep(POLL_INTERVAL)


def print_outcomes(app: App, run_id: int) -> None:
    with app.sessions() as session:
        run = session.get(ReportRun, run_id)
        assert run is not None
        deliveries = session.scalars(
            select(Delivery).where(Delivery.run_id == run_id).order_by(Delivery.id)
        ).all()
    state = "finished" if run.finished else "in progress"
    click.echo(
        f"run {run.id}: {run.report_type}, {state}, {run.sent} sent, {run.failed} failed,"
        f" {run.skipped} skipped"
        f" of {run.total}  (period {run.period_start:%Y-%m-%d %H:%M} to"
        f" {run.period_end:%Y-%m-%d %H:%M} UTC, by {run.triggered_by})"
    )
    click.echo(f"  {'ID':>6}  {'state':<9} {'tries':>5}  recipient")
    for d in deliveries:
        dup = "  (possible duplicate)" if d.possible_duplicate else ""
        error = f"  -- {d.last_error}" if d.last_error and d.state != "sent" else ""
        click.echo(
            f"  {d.id:>6}  {d.state:<9} {d.attempts:>5}  {d.recipient_name}"
            f" <{d.recipient_address}>{dup}{error}"
        )


@cli.command()
@report_options
@click.option(
    "--contact", "contacts", type=REF, multiple=True, help="A contact (ID, name or email)."
)
@click.option("--user", "users", type=REF, multiple=True, help="A user (ID, email or username).")
@click.option("--all-contacts", is_flag=True, help="Every contact of the account.")
@click.option("--all", "everyone", is_flag=True, help="Every contact and active user.")
@click.option("--wait/--no-wait", default=False, help="Wait and show each recipient's outcome.")
@pass_app
def send(app: App, /, **options: Any) -> None:
    """Send a one-off report to contacts and users (administrators)."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        spec = report_spec(options, folders=smart_folder_ids(session, account.id))
        start, end = spec.period(end=now)
        named = bool(options["contacts"] or options["users"])
        if named == (options["all_contacts"] or options["everyone"]):
            raise InvalidInput(
                "name recipients with --contact and --user, or use --all or --all-contacts"
            )
        ids = [find_contact(session, account_id=account.id, ref=c).id for c in options["contacts"]]
        user_ids = [find_member(session, account_id=account.id, ref=u).id for u in options["users"]]
        recipients = Recipients(
            all_contacts=options["all_contacts"] or options["everyone"],
            all_users=options["everyone"],
            contact_ids=ids,
            user_ids=user_ids,
        )
        check_filter(session, whole_account(account.id), spec)
        new = new_report_run(
            session,
            account_id=account.id,
            spec=spec,
            recipients=recipients,
            triggered_by=f"cli:{os.environ.get('USER', 'admin')}",
            period_start=start,
            period_end=end,
            now=now,
        )
    click.echo(f"run {new.run_id}: {len(new.delivery_ids)} deliveries")
    embedded = not app.settings.broker_url
    with open_dispatcher(app.settings) as dispatcher:
        dispatcher.start_runs([new.run_id])
        if options["wait"] or embedded:
            if embedded and not options["wait"]:
                click.echo("(embedded broker: waiting for the in-process worker)")
            wait_for_run(app, new.run_id, show_progress=sys.stderr.isatty())
    if options["wait"] or embedded:
        print_outcomes(app, new.run_id)


@cli.group()
def runs() -> None:
    """Report runs and their deliveries."""


@runs.command("list")
@click.option("--limit", type=LIST_LENGTH, default=20, show_default=True)
@pass_app
def runs_list(app: App, limit: int) -> None:
    """The newest runs of the account."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        statement = (
            select(ReportRun)
            .where(ReportRun.account_id == account.id)
            .order_by(ReportRun.id.desc())
            .limit(limit)
        )
        for run in session.scalars(statement):
            state = "finished" if run.finished else "open"
            click.echo(
                f"{run.id:>6}  {run.created:%Y-%m-%d %H:%M}  {run.report_type:<22} {state:<8}"
                f" {run.sent}/{run.total} sent, {run.failed} failed, {run.skipped} skipped"
                f"  {run.triggered_by}"
            )


@runs.command("show")
@click.argument("run_id", type=ID_PARAM)
@click.option("--history", is_flag=True, help="Every state change of every delivery.")
@pass_app
def runs_show(app: App, run_id: int, history: bool) -> None:
    """One run with each recipient's outcome."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        run = session.get(ReportRun, run_id)
        if run is None or run.account_id != account.id:
            raise InvalidInput(f"no run {run_id} in this account")
    print_outcomes(app, run_id)
    if history:
        with app.sessions() as session:
            rows = session.execute(
                select(DeliveryTransition)
                .join(Delivery, Delivery.id == DeliveryTransition.delivery_id)
                .where(Delivery.run_id == run_id)
                .order_by(DeliveryTransition.id)
            ).scalars()
            for t in rows:
                click.echo(
                    f"  {t.at:%H:%M:%S}  delivery {t.delivery_id}: {t.from_state} -> {t.to_state}"
                    f"  {t.note}"
                )


@cli.group()
def deliveries() -> None:
    """Single deliveries."""


@deliveries.command("retry")
@click.argument("delivery_id", type=ID_PARAM)
@pass_app
def deliveries_retry(app: App, delivery_id: int) -> None:
    """Send a failed delivery again."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        run_id = retry_failed(
            session, account_id=account.id, delivery_id=delivery_id, now=datetime.now(UTC)
        )
    with open_dispatcher(app.settings) as dispatcher:
        dispatcher.enqueue_deliveries([delivery_id])
        if not app.settings.broker_url:
            wait_for_run(app, run_id, show_progress=False)
    click.echo(f"delivery {delivery_id} queued again")


@cli.command()
@click.option("--loop", is_flag=True, help="Keep reconciling every --interval seconds.")
@click.option("--interval", default=DEFAULT_RECONCILE_EVERY, show_default=True)
@pass_app
def reconcile(app: App, loop: bool, interval: float) -> None:
    """Re-enqueue deliveries whose message was lost (broker restart) or whose worker died."""
    with open_dispatcher(app.settings) as dispatcher:
        with StopSignal() as stop:
            lost = run_reconciler(
                app.transaction,
                dispatcher,
                stop=stop,
                interval=interval,
                pending_for=timedelta(seconds=app.settings.reconcile_after),
                once=not loop,
                say=click.echo,
                warn=lambda line: click.echo(line, err=True),
            )
        # The embedded worker is this process: the lost work is done before it stops.
        if not loop and lost.deliveries and not app.settings.broker_url:
            _wait_until_final(app, lost.deliveries)


def _wait_until_final(app: App, ids: list[int]) -> None:
    while True:
        with app.sessions() as session:
            open_ = session.scalar(
                select(func.count(Delivery.id)).where(
                    Delivery.id.in_(ids), Delivery.state.not_in([s.value for s in FINAL_STATES])
                )
            )
        if not open_:
            return
        time.sleep(POLL_INTERVAL)


@cli.command()
@click.option("--processes", default=1, show_default=True, help="Worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per process.")
@click.option(
    "--http-host",
    envvar="dramatiq_prom_host",
    default="0.0.0.0",
    show_default=True,
    help="Address of /metrics, /healthz and /readyz (env dramatiq_prom_host).",
)
@click.option(
    "--http-port",
    envvar="dramatiq_prom_port",
    default=9191,
    show_default=True,
    help="Their port, one per worker on a machine (env dramatiq_prom_port).",
)
@click.option(
    "--shutdown-grace",
    default=DEFAULT_SHUTDOWN_GRACE,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds a stopping worker lets the deliveries in hand finish; what is still "
    "being rendered then is given back to the queue.",
)
@pass_app
def worker(
    app: App,
    processes: int,
    threads: int,
    http_host: str,
    http_port: int,
    shutdown_grace: float,
) -> None:
    """Run dramatiq workers on Redis. Renders in flight per process are bounded by
    REPORTD_RENDER_SLOTS (one Chromium render keeps more than one core busy).
    The worker answers /metrics, /healthz and /readyz on --http-port. On SIGTERM it stops
    taking messages, finishes or gives back what it holds within --shutdown-grace, stops
    its browser and helpers, and exits (within the grace plus about 10 s)."""
    require_migrated_unless_down(app.raw_engine)  # before anything starts
    if not app.settings.broker_url:
        raise InvalidInput(
            "set REPORTD_BROKER_URL (redis://...) for a separate worker; the embedded broker "
            "runs inside 'reportd send' and 'reportd demo'"
        )
    os.environ["dramatiq_prom_host"] = http_host
    os.environ["dramatiq_prom_port"] = str(http_port)
    if "dramatiq_prom_db" not in os.environ:
        from service.health.worker_http import fresh_metrics_dir

        # dramatiq's command keeps this process's id (execv): the folder is this worker's.
        folder = fresh_metrics_dir(Path(tempfile.gettempdir()), os.getpid())
        os.environ["dramatiq_prom_db"] = str(folder)
    command = [
        sys.executable,
        "-m",
        "dramatiq",
        "actors.worker_main",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--worker-shutdown-timeout",
        str(int(shutdown_grace * 1000)),
    ]
    os.execv(sys.executable, command)


@cli.command("smtp-sink")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True)
def smtp_sink(directory: Path, host: str, port: int) -> None:
    """A local SMTP server writing every mail it receives into DIRECTORY as an .eml file."""
    from service.delivery.smtp_sink import SmtpSink

    sink = SmtpSink(directory, host=host, port=port)
    sink.run_forever(
        on_ready=lambda s: click.echo(f"smtp sink on {host}:{s.port} writing to {directory}")
    )
