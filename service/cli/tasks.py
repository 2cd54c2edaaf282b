"""Scheduled task commands: ``reportd tasks list|show|add|edit|delete|run-now|next|history``,
and ``reportd scheduler``, the loop that fires them."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from typing import IO, Any
from zoneinfo import ZoneInfo

import click

from actors.dispatch import open_dispatcher
from service.cli import App, cli, pass_app
from service.cli.params import LIST_LENGTH, RECURRENCE_COUNT, REF, Text
from service.cli.report_options import report_json, report_options, smart_folder_ids
from service.delivery.request import check_filter, whole_account
from service.directory.accounts import find_account
from service.directory.audit import AuditCode, describe_changes, describe_values, record_cli
from service.directory.contacts import find_contact
from service.directory.users import find_member
from service.errors import InvalidInput
from service.fields import Description, Name, TimeZone
from service.runtime.metrics import serve_metrics
from service.scheduling.loops import (
    DEFAULT_RECONCILE_EVERY,
    DEFAULT_TICK_INTERVAL,
    SchedulerTiming,
    StopSignal,
    run_scheduler,
)
from service.scheduling.scheduler import (
    DEFAULT_TICK_LIMIT,
    TaskView,
    create_task,
    delete_task,
    edit_task,
    find_task,
    list_tasks,
    request_run_now,
    task_history,
    upcoming,
)
from service.scheduling.task_schema import (
    DailyScheduleParameters,
    DayOfWeek,
    GenerateReportTaskParameters,
    HourlyScheduleParameters,
    MisfirePolicy,
    MonthlyScheduleParameters,
    WeeklyScheduleParameters,
    zone_named,
)

log = logging.getLogger(__name__)

#: Occurrences ``reportd tasks next`` shows.
DEFAULT_NEXT_COUNT = 10
#: Tasks a scheduler pass takes per commit, at most (a huge one overflowed the LIMIT).
MAX_TICK_LIMIT = 100_000

_HH_MM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAYS = {day.value[:3]: day for day in DayOfWeek}
_SCHEDULE_FLAGS = ("daily", "weekdays", "weekly", "monthly", "hourly", "once")


@cli.group()
def tasks() -> None:
    """Scheduled tasks: reports sent on a recurrence (the console's generate-report tasks)."""


def _schedule_options(command: Any) -> Any:
    options = [
        click.option("--daily", metavar="HH:MM", help="Every day at this time."),
        click.option("--weekdays", metavar="HH:MM", help="Monday to Friday at this time."),
        click.option("--weekly", metavar="DAYS@HH:MM", help="e.g. mon,fri@08:00."),
        click.option("--monthly", metavar="DAY@HH:MM", help="e.g. 15@06:00 or last@23:00."),
        click.option("--hourly", metavar="MM", help="Minutes past each hour (0, 5 ... 55)."),
        click.option("--once", metavar="'YYYY-MM-DD HH:MM'", help="Once, at this local time."),
        click.option(
            "--time-zone",
            type=Text(TimeZone),
            help="IANA zone the times are read in (default UTC).",
        ),
        click.option("--count", type=RECURRENCE_COUNT, help="Stop after this many runs."),
        click.option("--until", metavar="'YYYY-MM-DD HH:MM'", help="No run after this time."),
        click.option("--misfire", type=click.Choice([p.value for p in MisfirePolicy])),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@tasks.command("list")
@pass_app
def tasks_list(app: App) -> None:
    """The account's tasks with their next run in the task's zone."""
    with app.transaction() as session:
        account = find_account(session, app.account_name)
        found = list_tasks(session, account_id=account.id)
    for task in found:
        zone = task.zone
        next_run = _local(task.next_run, zone) if task.next_run else "(ended)"
        if task.broken:
            next_run = "(none while broken)"
        state = "on " if task.enabled else "off"
        now = " +run-now" if task.run_now else ""
        policy = task.misfire_policy.value if task.misfire_policy else "?"
        click.echo(
            f"{task.id:>5}  {state}  {task.name:<30}  {_summary(task):<36} next {next_run}"
            f"  [{policy}]{now}"
        )
        if task.broken:
            since = f" since {_local(task.broken_since, zone)}" if task.broken_since else ""
            click.echo(
                f"       BROKEN{since}: {task.broken_reason} (edit it or run it now to try again)"
            )


@tasks.command("show")
@click.argument("task", type=REF)
@pass_app
def tasks_show(app: App, task: str) -> None:
    """TASK (an ID or a name) as the console API's JSON."""
    with app.transaction() as session:
        found = find_task(session, account_id=_account_id(app, session), ref=task)
    click.echo(json.dumps(found.to_api(), indent=2, sort_keys=True))


@tasks.command("add")
@click.option("--json", "json_file", type=click.File("r"), help="The SDK's ScheduledTask JSON.")
@click.option("--name", type=Text(Name))
@click.option("--description", type=Text(Description), default="")
@_schedule_options
@report_options
@click.option(
    "--all", "--everyone", "--all-contacts", "everyone", is_flag=True, help="All contacts+users."
)
@click.option(
    "--contact", "contacts", type=REF, multiple=True, help="A contact (ID, name or email)."
)
@click.option("--user", "users", type=REF, multiple=True, help="A user (ID, email or username).")
@click.option("--disabled", is_flag=True, help="Store it switched off.")
@click.option("--run-now", is_flag=True, help="Also run it at the next scheduler pass.")
@pass_app
def tasks_add(app: App, /, json_file: IO[str] | None, **options: Any) -> None:
    """Add a task from --json FILE, or from the flags (e.g. --daily 02:30 --everyone)."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account_id = _account_id(app, session)
        if json_file is not None:
            data = _load_json(json_file)
        else:
            data = _task_from_flags(app, session, account_id, options, now=now)
        task = create_task(
            session, account_id=account_id, task=data, now=now, description=options["description"]
        )
        _check_filter(session, account_id, task)
        _audit(
            session, task, AuditCode.task_created, describe_values(_subject(task), _fields(task))
        )
    click.echo(f"added task {task.id} {task.name!r}: {_summary(task)}")
    if task.next_run:
        click.echo(f"  next run {_local(task.next_run, task.details.zone)}")


@tasks.command("edit")
@click.argument("task", type=REF)
@click.option("--json", "json_file", type=click.File("r"), help="Fields to replace (SDK JSON).")
@click.option("--name", type=Text(Name))
@click.option("--description", type=Text(Description))
@_schedule_options
@report_options
@click.option("--enable/--disable", "enabled", default=None)
@pass_app
def tasks_edit(app: App, /, task: str, json_file: IO[str] | None, **options: Any) -> None:
    """Change TASK: top-level JSON fields replace the stored ones; flags change one thing
    (report flags change that part of the report, keeping the rest)."""
    now = datetime.now(UTC)
    with app.transaction() as session:
        account_id = _account_id(app, session)
        current = find_task(session, account_id=account_id, ref=task)
        changes = _load_json(json_file) if json_file is not None else {}
        zone = options["time_zone"] or current.time_zone
        schedule = _schedule_from_flags(options, zone, now=now)
        if schedule is not None:
            changes["scheduleDetails"] = schedule
        stored = changes.get("generateReportTaskParameters", current.parameters)
        report = report_json(
            options, base=stored, zone=zone, folders=smart_folder_ids(session, account_id)
        )
        if report != stored:
            changes["generateReportTaskParameters"] = report
        for key, value in (
            ("name", options["name"]),
            ("enabled", options["enabled"]),
            ("misfirePolicy", options["misfire"]),
        ):
            if value is not None:
                changes[key] = value
        edited = edit_task(
            session,
            account_id=account_id,
            task_id=current.id,
            changes=changes,
            now=now,
            description=options["description"],
        )
        _check_filter(session, account_id, edited)
        change = describe_changes(_subject(edited), _fields(current), _fields(edited))
        _audit(session, edited, AuditCode.task_updated, change)
    click.echo(f"task {edited.id} {edited.name!r}: {_summary(edited)}")


def _check_filter(session: Any, account_id: int, task: TaskView) -> None:
    """The task's computer filter names a computer, group or policy of the account."""
    spec = GenerateReportTaskParameters.model_validate(task.parameters).spec
    check_filter(session, whole_account(account_id), spec)


@tasks.command("delete")
@click.argument("task", type=REF)
@pass_app
def tasks_delete(app: App, task: str) -> None:
    """Delete TASK; the runs it made stay."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        found = find_task(session, account_id=account_id, ref=task)
        delete_task(session, account_id=account_id, task_id=found.id)
        _audit(session, found, AuditCode.task_deleted, _subject(found))
    click.echo(f"deleted task {found.id} {found.name!r}")


@tasks.command("run-now")
@click.argument("task", type=REF)
@pass_app
def tasks_run_now(app: App, task: str) -> None:
    """Run TASK at the scheduler's next pass, its window ending then."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        found = find_task(session, account_id=account_id, ref=task)
        request_run_now(session, account_id=account_id, task_id=found.id)
        _audit(session, found, AuditCode.task_run_now, _subject(found))
    click.echo(f"task {found.id} {found.name!r} runs at the scheduler's next pass")


@tasks.command("next")
@click.argument("task", type=REF)
@click.option("--count", type=LIST_LENGTH, default=DEFAULT_NEXT_COUNT, show_default=True)
@pass_app
def tasks_next(app: App, task: str, count: int) -> None:
    """The coming occurrences of TASK, in its zone and in UTC."""
    with app.transaction() as session:
        found = find_task(session, account_id=_account_id(app, session), ref=task)
    zone = found.zone
    off = "" if found.enabled else "  (disabled: these would be its runs)"
    if found.broken:
        off = f"  (broken: {found.broken_reason}; these would be its runs once it is edited)"
    click.echo(f"task {found.id} {found.name!r}, {_summary(found)}{off}")
    if found.schedule is None:
        raise click.ClickException(
            f"task {found.id} {found.name!r} has no coming runs: {found.broken_reason};"
            " edit its schedule to repair it"
        )
    moments = upcoming(found, count, now=datetime.now(UTC))
    for moment in moments:
        click.echo(f"  {_local(moment, zone):<32} {moment:%Y-%m-%d %H:%M} UTC")
    if not moments:
        click.echo("  (no more occurrences: the schedule has ended)")


@tasks.command("history")
@click.argument("task", type=REF)
@click.option("--limit", type=LIST_LENGTH, default=20, show_default=True)
@pass_app
def tasks_history(app: App, task: str, limit: int) -> None:
    """What became of TASK's recent occurrences: fired, coalesced or skipped, and why."""
    with app.transaction() as session:
        account_id = _account_id(app, session)
        found = find_task(session, account_id=account_id, ref=task)
        rows = task_history(session, account_id=account_id, task_id=found.id, limit=limit)
    zone = found.zone
    for row in rows:
        run = f"run {row.run_id}" if row.run_id else "no run"
        reason = f"  {row.reason}" if row.reason else ""
        click.echo(f"  {_local(row.occurrence, zone):<32} {row.outcome.value:<9} {run}{reason}")


@cli.command()
@click.option("--interval", default=DEFAULT_TICK_INTERVAL, show_default=True, help="Seconds.")
@click.option("--reconcile-every", default=DEFAULT_RECONCILE_EVERY, show_default=True)
@click.option(
    "--limit",
    default=DEFAULT_TICK_LIMIT,
    show_default=True,
    type=click.IntRange(1, MAX_TICK_LIMIT),
    help="Tasks per commit.",
)
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option(
    "--metrics-port",
    default=0,
    show_default=True,
    help="Serve Prometheus metrics on this port (0: none).",
)
@click.option("--metrics-host", default="0.0.0.0", show_default=True)
@pass_app
def scheduler(
    app: App,
    interval: float,
    reconcile_every: float,
    limit: int,
    once: bool,
    metrics_port: int,
    metrics_host: str,
) -> None:
    """Fire due scheduled tasks; run as many as you like, each occurrence fires once."""
    if metrics_port:
        try:
            serve_metrics(metrics_host, metrics_port)
        except OSError as error:  # the port is taken, or the host is not this machine's
            raise click.ClickException(
                f"cannot serve metrics on {metrics_host}:{metrics_port}: {error}"
            ) from None
    timing = SchedulerTiming(
        interval=interval,
        reconcile_every=reconcile_every,
        limit=limit,
        pending_for=timedelta(seconds=app.settings.reconcile_after),
    )
    with StopSignal() as stop, open_dispatcher(app.settings) as dispatcher:
        run_scheduler(
            app.transaction,
            dispatcher,
            stop=stop,
            timing=timing,
            once=once,
            say=click.echo,
            warn=lambda line: click.echo(line, err=True),
        )
    if not once:
        click.echo("scheduler stopped")


def _audit(session: Any, task: TaskView, code: AuditCode, description: str) -> None:
    record_cli(session, account_id=task.account_id, code=code, description=description)


def _subject(task: TaskView) -> str:
    return f"scheduled task {task.id} {task.name!r}"


def _fields(task: TaskView) -> dict[str, Any]:
    """What the audit trail shows of a task: its settings, not its bookkeeping."""
    return {
        "name": task.name,
        "description": task.description,
        "enabled": task.enabled,
        "misfirePolicy": task.misfire_policy.value if task.misfire_policy else "",
        "scheduleDetails": json.dumps(task.schedule_details, sort_keys=True),
        "generateReportTaskParameters": json.dumps(task.parameters, sort_keys=True),
    }


# --- building a task from flags -----------------------------------------------------------


def _account_id(app: App, session: Any) -> int:
    return find_account(session, app.account_name).id


def _load_json(file: IO[str]) -> dict[str, Any]:
    try:
        data = json.load(file)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"--json: not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidInput("--json: expected a ScheduledTask object")
    return data


def _task_from_flags(
    app: App, session: Any, account_id: int, options: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    if not options["name"]:
        raise InvalidInput("--name: required (or give --json FILE)")
    zone = options["time_zone"] or "UTC"
    schedule = _schedule_from_flags(options, zone, now=now)
    if schedule is None:
        raise InvalidInput(f"give a schedule: one of --{', --'.join(_SCHEDULE_FLAGS)}")
    contacts = [
        find_contact(session, account_id=account_id, ref=ref).id for ref in options["contacts"]
    ]
    recipients: dict[str, Any] = {"allAdministratorsAndContacts": options["everyone"]}
    if contacts:
        recipients["contactIDs"] = contacts
    if options["users"]:
        recipients["administratorIDs"] = [
            find_member(session, account_id=account_id, ref=ref).id for ref in options["users"]
        ]
    task: dict[str, Any] = {
        "name": options["name"],
        "type": "generate-report",
        "enabled": not options["disabled"],
        "runNow": options["run_now"],
        "scheduleDetails": schedule,
        "generateReportTaskParameters": {
            **report_json(options, zone=zone, folders=smart_folder_ids(session, account_id)),
            "recipients": recipients,
        },
    }
    if options["misfire"]:
        task["misfirePolicy"] = options["misfire"]
    return task


def _schedule_from_flags(
    options: dict[str, Any], zone_name: str, *, now: datetime
) -> dict[str, Any] | None:
    """The scheduleDetails the flags describe, or None when they name no schedule."""
    chosen = [flag for flag in _SCHEDULE_FLAGS if options[flag]]
    if not chosen:
        return None
    if len(chosen) > 1:
        raise InvalidInput(f"use one schedule, not --{' and --'.join(chosen)}")
    try:
        zone = zone_named(zone_name)
    except ValueError as error:
        raise InvalidInput(f"--time-zone: {error}") from None
    kind = chosen[0]
    recurrence, field, parameters = _RECURRENCES[kind](str(options[kind]), zone, now)
    if kind == "hourly" and options["count"]:
        parameters["startTime"] = _millis(now)  # the SDK's hourly has no start: count from now
    details: dict[str, Any] = {"timeZone": zone_name, "recurrenceType": recurrence}
    details[field] = parameters
    if options["count"] is not None:
        details["recurrenceCount"] = options["count"]
    if options["until"]:
        details["endTime"] = _millis(_local_time(options["until"], zone))
    return details


Recurrence = tuple[str, str, dict[str, Any]]


def _daily(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    start = _next_showing(zone, _hh_mm(value, "daily"), now)
    return (
        "daily",
        "dailyScheduleParameters",
        {"startTime": _millis(start), "frequencyType": "everyday"},
    )


def _weekdays(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    start = _next_showing(zone, _hh_mm(value, "weekdays"), now)
    return (
        "daily",
        "dailyScheduleParameters",
        {"startTime": _millis(start), "frequencyType": "weekdays"},
    )


def _weekly(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    days, _, at = value.partition("@")
    start = _next_showing(zone, _hh_mm(at, "weekly"), now)
    parameters = {
        "startTime": _millis(start),
        "interval": 1,
        "days": [_day(d) for d in days.split(",")],
    }
    return "weekly", "weeklyScheduleParameters", parameters


def _monthly(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    day, _, at = value.partition("@")
    start = _next_showing(zone, _hh_mm(at, "monthly"), now)
    parameters: dict[str, Any] = {"startTime": _millis(start)}
    if day == "last":
        parameters["frequencyType"] = "last-day-of-month"
    elif day.isdigit():
        parameters.update(frequencyType="day-of-month", dayOfMonth=int(day))
    else:
        raise InvalidInput(f"--monthly {value!r}: the day is a number or 'last'")
    return "monthly", "monthlyScheduleParameters", parameters


def _hourly(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    return "hourly", "hourlyScheduleParameters", {"minutesPastTheHour": value}


def _once(value: str, zone: ZoneInfo, now: datetime) -> Recurrence:
    start = _local_time(value, zone)
    return "none", "onceOnlyScheduleParameters", {"startTime": _millis(start)}


_RECURRENCES = {
    "daily": _daily,
    "weekdays": _weekdays,
    "weekly": _weekly,
    "monthly": _monthly,
    "hourly": _hourly,
    "once": _once,
}


def _hh_mm(text: str, flag: str) -> wall_time:
    match = _HH_MM.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput(f"--{flag}: {text!r} is not a time of day (HH:MM)")
    return wall_time(int(match.group(1)), int(match.group(2)))


def _day(text: str) -> str:
    day = _DAYS.get(text.strip().lower()[:3])
    if day is None:
        raise InvalidInput(f"--weekly: {text!r} is not a day (mon, tue ... sun)")
    return day.value


def _next_showing(zone: ZoneInfo, at: wall_time, now: datetime) -> datetime:
    """The next instant after ``now`` on a day whose clock shows ``at`` (a start that exists)."""
    today = now.astimezone(zone).date()
    for offset in range(8):
        wall = datetime.combine(today + timedelta(days=offset), at)
        moment = wall.replace(tzinfo=zone)
        if moment > now and moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            return moment
    raise AssertionError(f"{at} did not exist in {zone} for a week")


def _local_time(text: str, zone: ZoneInfo) -> datetime:
    try:
        wall = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text!r}: use 'YYYY-MM-DD HH:MM' (the task's local time)") from None
    return wall if wall.tzinfo is not None else wall.replace(tzinfo=zone)


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


# --- showing tasks ------------------------------------------------------------------------


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({local:%a})"


def _summary(task: TaskView) -> str:
    """A short description of the schedule: 'daily 02:30 Asia/Tokyo'."""
    details = task.schedule
    if details is None:
        return "(schedule does not read)"
    zone = details.zone
    start = details.start
    at = f" {start.astimezone(zone):%H:%M}" if start else ""
    match details.parameters:
        case HourlyScheduleParameters(minutes_past_the_hour=minutes):
            what = f"hourly at :{int(minutes):02d}"
        case DailyScheduleParameters(frequency_type=kind, custom_interval=days):
            every = {"everyday": "daily", "weekdays": "weekdays"}.get(kind, f"every {days} days")
            what = f"{every}{at}"
        case WeeklyScheduleParameters(days=days, interval=weeks):
            every = "weekly" if weeks == 1 else f"every {weeks} weeks"
            what = f"{every} {','.join(day.value[:3] for day in days)}{at}"
        case MonthlyScheduleParameters() as monthly:
            day = {
                "day-of-month": f"day {monthly.day_of_month}",
                "last-day-of-month": "last day",
            }.get(monthly.frequency_type, f"{monthly.week_of_month} {monthly.day_of_week}")
            what = f"monthly {day}{at}"
        case _:
            what = f"once {start.astimezone(zone):%Y-%m-%d %H:%M}" if start else "once"
    return f"{what} {details.time_zone}"
