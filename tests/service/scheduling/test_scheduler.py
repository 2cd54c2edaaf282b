"""The scheduler on both backends: due tasks fire once, misfires are recorded, bad input refused."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.cli import App, cli
from service.config import Settings
from service.directory.contacts import delete_contact
from service.errors import InvalidInput
from service.scheduling.scheduler import (
    create_task,
    edit_task,
    get_task,
    request_run_now,
    task_history,
    tick,
    upcoming,
)
from service.scheduling.task_schema import to_epoch_millis
from storage.models import Delivery, ReportRun, SystemEvent
from storage.tasks import ScheduledTaskRow, TaskOccurrence
from tests.service.scheduling.conftest import Account

NEW_YORK = ZoneInfo("America/New_York")
#: When the tasks of these tests are created: before their first occurrence.
CREATED = datetime(2026, 2, 27, 18, 0, tzinfo=UTC)


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in 2026, as aware UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def daily_task(name: str = "Nightly", **changes: Any) -> dict[str, Any]:
    """Every day at 08:00 New York, the last 7 days, to contact IDs given by the test."""
    task: dict[str, Any] = {
        "name": name,
        "type": "generate-report",
        "scheduleDetails": {
            "timeZone": "America/New_York",
            "recurrenceType": "daily",
            "dailyScheduleParameters": {
                "startTime": to_epoch_millis(ny(1, 1, 8)),
                "frequencyType": "everyday",
            },
        },
        "generateReportTaskParameters": {
            "reportTemplateID": 1,
            "format": "pdf",
            "recipients": {"allAdministratorsAndContacts": True},
            "timeRange": {"units": "day", "value": 7},
        },
    }
    task.update(copy.deepcopy(changes))
    return task


def to(*contact_ids: int) -> dict[str, Any]:
    """generateReportTaskParameters of daily_task, sent to these contacts only."""
    params = daily_task()["generateReportTaskParameters"]
    params["recipients"] = {"contactIDs": list(contact_ids)}
    return params


def runs_of(session: Session, task_id: int) -> list[ReportRun]:
    statement = select(ReportRun).where(ReportRun.scheduled_task_id == task_id)
    return list(session.scalars(statement.order_by(ReportRun.occurrence)))


def occurrences_of(session: Session, task_id: int) -> list[tuple[datetime, str, int | None]]:
    statement = select(TaskOccurrence).where(TaskOccurrence.task_id == task_id)
    return [
        (o.occurrence, o.outcome, o.run_id)
        for o in session.scalars(statement.order_by(TaskOccurrence.occurrence))
    ]


# --- firing -------------------------------------------------------------------------------


def test_given_a_due_task_when_ticked_then_it_fires_once_and_next_run_advances(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    assert task.next_run == ny(2, 28, 8)

    fired = tick(session, now=ny(2, 28, 8, 1))

    assert [(f.task_id, f.occurrence) for f in fired] == [(task.id, ny(2, 28, 8))]
    (run,) = runs_of(session, task.id)
    assert (run.id, run.triggered_by, run.report_type) == (
        fired[0].run_id,
        f"task:{task.id}",
        "summary",
    )
    assert "recipients" not in run.parameters and run.parameters["reportTemplateID"] == 1
    # allAdministratorsAndContacts: both contacts and the account's user.
    assert run.total == 3
    assert occurrences_of(session, task.id) == [(ny(2, 28, 8), "fired", run.id)]
    after = get_task(session, account_id=account.id, task_id=task.id)
    assert after.next_run == ny(3, 1, 8) and after.last_run_time == ny(2, 28, 8, 1)
    assert tick(session, now=ny(2, 28, 9)) == []


def test_given_a_tick_before_the_occurrence_when_ticked_then_nothing_fires(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    assert tick(session, now=ny(2, 28, 7, 59)) == []
    assert runs_of(session, task.id) == []


def test_given_a_late_tick_when_the_run_is_created_then_its_period_ends_at_the_occurrence(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)

    tick(session, now=ny(2, 28, 11, 45))  # three hours and three quarters late

    (run,) = runs_of(session, task.id)
    assert run.occurrence == ny(2, 28, 8)
    assert (run.period_start, run.period_end) == (ny(2, 21, 8), ny(2, 28, 8))


def test_given_a_window_over_a_clock_change_when_fired_then_days_are_calendar_days_in_the_zone(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=ny(3, 9, 7))

    tick(session, now=ny(3, 9, 8))

    (run,) = runs_of(session, task.id)
    # 7 calendar days back from 08:00 EDT on 9 March is 08:00 EST on 2 March: 167 hours.
    assert run.period_start == ny(3, 2, 8)
    assert run.period_end - run.period_start == timedelta(hours=167)


def test_given_downtime_over_three_occurrences_when_coalescing_then_one_run_and_three_records(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)

    fired = tick(session, now=ny(3, 2, 12))  # down from before 28 Feb 08:00 to 2 Mar noon

    (run,) = runs_of(session, task.id)
    assert [f.run_id for f in fired] == [run.id] and run.occurrence == ny(3, 2, 8)
    assert occurrences_of(session, task.id) == [
        (ny(2, 28, 8), "coalesced", run.id),
        (ny(3, 1, 8), "coalesced", run.id),
        (ny(3, 2, 8), "fired", run.id),
    ]
    assert get_task(session, account_id=account.id, task_id=task.id).next_run == ny(3, 3, 8)


def test_given_downtime_over_three_occurrences_when_skipping_then_no_run_and_three_records(
    session: Session, account: Account
) -> None:
    task = create_task(
        session, account_id=account.id, task=daily_task(misfirePolicy="skip"), now=CREATED
    )

    assert tick(session, now=ny(3, 2, 12)) == []

    assert runs_of(session, task.id) == []
    outcomes = occurrences_of(session, task.id)
    assert [(when, outcome) for when, outcome, _ in outcomes] == [
        (ny(2, 28, 8), "skipped"),
        (ny(3, 1, 8), "skipped"),
        (ny(3, 2, 8), "skipped"),
    ]
    history = task_history(session, account_id=account.id, task_id=task.id)
    assert all("misfire policy skip" in h.reason for h in history)
    assert get_task(session, account_id=account.id, task_id=task.id).next_run == ny(3, 3, 8)


def test_given_skip_and_a_tick_within_the_grace_when_ticked_then_the_occurrence_fires(
    session: Session, account: Account
) -> None:
    task = create_task(
        session, account_id=account.id, task=daily_task(misfirePolicy="skip"), now=CREATED
    )
    tick(session, now=ny(2, 28, 8, 4))
    assert [r.occurrence for r in runs_of(session, task.id)] == [ny(2, 28, 8)]


def test_given_a_spring_forward_night_when_ticked_every_quarter_hour_then_0230_fires_once(
    session: Session, account: Account
) -> None:
    task = daily_task()
    task["scheduleDetails"]["dailyScheduleParameters"]["startTime"] = to_epoch_millis(
        ny(1, 1, 2, 30)
    )
    created = create_task(session, account_id=account.id, task=task, now=ny(3, 7, 12))

    moment = ny(3, 7, 12)
    while moment < ny(3, 9, 12):
        moment += timedelta(minutes=15)
        tick(session, now=moment)

    # 2:30 does not exist on 8 March: that day's run is at 03:00 EDT, when the gap ends.
    assert [r.occurrence for r in runs_of(session, created.id)] == [ny(3, 8, 3), ny(3, 9, 2, 30)]


def test_given_run_now_when_ticked_then_it_fires_once_at_the_tick_and_the_schedule_is_unchanged(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    request_run_now(session, account_id=account.id, task_id=task.id)
    now = datetime(2026, 2, 27, 19, 30, tzinfo=UTC)

    fired = tick(session, now=now)

    (run,) = runs_of(session, task.id)
    assert [f.run_id for f in fired] == [run.id] and run.occurrence == now
    assert (run.period_start, run.period_end) == (now - timedelta(days=7), now)
    assert task_history(session, account_id=account.id, task_id=task.id)[0].reason == "run now"
    after = get_task(session, account_id=account.id, task_id=task.id)
    assert not after.run_now and after.next_run == ny(2, 28, 8)
    assert tick(session, now=now + timedelta(minutes=1)) == []


def test_given_run_now_on_a_disabled_task_when_ticked_then_it_fires(
    session: Session, account: Account
) -> None:
    task = create_task(
        session, account_id=account.id, task=daily_task(enabled=False, runNow=True), now=CREATED
    )
    assert len(tick(session, now=CREATED + timedelta(seconds=15))) == 1
    assert len(runs_of(session, task.id)) == 1


def test_given_a_disabled_task_when_its_occurrences_pass_then_it_never_fires(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(enabled=False), now=CREATED)
    for day in range(28, 31):
        assert tick(session, now=CREATED + timedelta(days=day - 27, hours=1)) == []
    assert runs_of(session, task.id) == [] and occurrences_of(session, task.id) == []


def test_given_a_task_enabled_again_when_ticked_then_the_disabled_days_are_recorded_not_run(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(enabled=False), now=CREATED)
    edit_task(
        session, account_id=account.id, task_id=task.id, changes={"enabled": True}, now=ny(3, 2, 12)
    )

    assert tick(session, now=ny(3, 2, 12, 1)) == []

    assert [outcome for _, outcome, _ in occurrences_of(session, task.id)] == ["skipped"] * 3
    assert get_task(session, account_id=account.id, task_id=task.id).next_run == ny(3, 3, 8)


def test_given_a_new_schedule_when_edited_then_it_starts_from_the_edit_not_from_its_start(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    weekly = {
        "timeZone": "Europe/London",
        "recurrenceType": "weekly",
        "weeklyScheduleParameters": {
            "startTime": to_epoch_millis(datetime(2025, 1, 6, 9, tzinfo=UTC)),
            "interval": 1,
            "days": ["monday"],
        },
    }
    edited = edit_task(
        session,
        account_id=account.id,
        task_id=task.id,
        changes={"scheduleDetails": weekly, "ID": 999, "nextRunTime": 0},
        now=ny(3, 1, 12),
    )

    assert edited.schedule_details == weekly and edited.id == task.id
    assert edited.next_run == datetime(2026, 3, 2, 9, tzinfo=UTC)
    # The old schedule's two unfired occurrences are on record, not run late.
    assert [o for _, o, _ in occurrences_of(session, task.id)] == ["skipped", "skipped"]
    assert tick(session, now=ny(3, 1, 12, 1)) == []


def test_given_a_task_whose_recipients_were_deleted_when_ticked_then_others_still_fire(
    session: Session, account: Account
) -> None:
    first, second = account.contact_ids
    orphan = create_task(
        session,
        account_id=account.id,
        task=daily_task("Orphan", generateReportTaskParameters=to(first)),
        now=CREATED,
    )
    healthy = create_task(session, account_id=account.id, task=daily_task("Healthy"), now=CREATED)
    delete_contact(session, account_id=account.id, contact_id=first)

    fired = tick(session, now=ny(2, 28, 8, 1))

    assert [f.task_id for f in fired] == [healthy.id]
    ((_, outcome, run_id),) = occurrences_of(session, orphan.id)
    assert (outcome, run_id) == ("skipped", None)
    (record,) = task_history(session, account_id=account.id, task_id=orphan.id)
    assert "no recipients" in record.reason and f"contacts [{first}]" in record.reason
    # The orphan advanced: it does not come back at every tick.
    assert get_task(session, account_id=account.id, task_id=orphan.id).next_run == ny(3, 1, 8)
    assert tick(session, now=ny(2, 28, 8, 2)) == []


def test_given_one_of_two_contacts_deleted_when_ticked_then_the_other_gets_the_report(
    session: Session, account: Account
) -> None:
    first, second = account.contact_ids
    task = create_task(
        session,
        account_id=account.id,
        task=daily_task(generateReportTaskParameters=to(first, second)),
        now=CREATED,
    )
    delete_contact(session, account_id=account.id, contact_id=first)

    (fired,) = tick(session, now=ny(2, 28, 8, 1))

    delivered_to = session.scalars(
        select(Delivery.contact_id).where(Delivery.run_id == fired.run_id)
    )
    assert list(delivered_to) == [second]
    (record,) = task_history(session, account_id=account.id, task_id=task.id)
    assert (
        record.outcome.value == "fired" and f"contacts [{first}] no longer exist" in record.reason
    )


def test_given_a_fired_occurrence_when_a_second_run_is_inserted_then_the_database_refuses(
    session: Session, account: Account
) -> None:
    from sqlalchemy.exc import IntegrityError

    task = create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    (fired,) = tick(session, now=ny(2, 28, 8, 1))
    run = session.get(ReportRun, fired.run_id)
    assert run is not None
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            ReportRun(
                account_id=account.id,
                report_type="summary",
                triggered_by="duplicate",
                scheduled_task_id=task.id,
                occurrence=fired.occurrence,
                period_start=run.period_start,
                period_end=run.period_end,
            )
        )
        session.flush()
    count = select(func.count(ReportRun.id)).where(ReportRun.scheduled_task_id == task.id)
    assert session.scalar(count) == 1


# --- bad input ------------------------------------------------------------------------------


def test_given_an_unknown_time_zone_when_created_then_a_clear_error_names_the_field(
    session: Session, account: Account
) -> None:
    task = daily_task()
    task["scheduleDetails"]["timeZone"] = "Mars/Olympus_Mons"
    with pytest.raises(InvalidInput, match=r"scheduleDetails\.timeZone: unknown time zone"):
        create_task(session, account_id=account.id, task=task, now=CREATED)


def test_given_an_end_before_the_start_when_created_then_a_clear_error(
    session: Session, account: Account
) -> None:
    task = daily_task()
    task["scheduleDetails"]["endTime"] = to_epoch_millis(ny(1, 1, 8) - timedelta(days=1))
    with pytest.raises(InvalidInput, match=r"scheduleDetails: endTime \d+ is before startTime"):
        create_task(session, account_id=account.id, task=task, now=CREATED)


def test_given_a_schedule_that_already_ended_when_created_then_it_is_refused(
    session: Session, account: Account
) -> None:
    task = daily_task()
    task["scheduleDetails"]["recurrenceCount"] = 3  # 1 to 3 January, long before CREATED
    with pytest.raises(InvalidInput, match="no occurrence after now"):
        create_task(session, account_id=account.id, task=task, now=CREATED)


def monthly(day: int, months: list[str] | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "startTime": to_epoch_millis(ny(1, 1, 6)),
        "frequencyType": "day-of-month",
        "dayOfMonth": day,
    }
    if months:
        parameters["months"] = months
    return {
        "timeZone": "America/New_York",
        "recurrenceType": "monthly",
        "monthlyScheduleParameters": parameters,
    }


def test_given_day_31_in_30_day_months_only_when_created_then_a_clear_error(
    session: Session, account: Account
) -> None:
    task = daily_task(scheduleDetails=monthly(31, ["april", "june"]))
    with pytest.raises(InvalidInput, match="dayOfMonth 31 never occurs in april, june"):
        create_task(session, account_id=account.id, task=task, now=CREATED)


def test_given_day_31_every_month_when_listed_then_30_day_months_are_skipped(
    session: Session, account: Account
) -> None:
    task = create_task(
        session, account_id=account.id, task=daily_task(scheduleDetails=monthly(31)), now=CREATED
    )
    months = [moment.astimezone(NEW_YORK).month for moment in upcoming(task, 7, now=CREATED)]
    assert months == [3, 5, 7, 8, 10, 12, 1]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"reportTemplateID": 999}, "reportTemplateID 999 is unknown"),
        ({"format": "rtf"}, "format 'rtf': reportd makes pdf, csv"),
        ({"format": "docx"}, "generateReportTaskParameters.format: Input should be"),
        ({"recipients": {"contactIDs": [987654]}}, r"recipients: contacts \[987654\] no longer"),
        ({"recipients": {}}, "recipients name nobody"),
    ],
)
def test_given_a_bad_report_when_created_then_a_clear_error(
    session: Session, account: Account, parameters: dict[str, Any], message: str
) -> None:
    task = daily_task()
    task["generateReportTaskParameters"].update(parameters)
    with pytest.raises(InvalidInput, match=message):
        create_task(session, account_id=account.id, task=task, now=CREATED)


def test_given_a_taken_name_when_created_then_a_clear_error(
    session: Session, account: Account
) -> None:
    create_task(session, account_id=account.id, task=daily_task(), now=CREATED)
    with pytest.raises(InvalidInput, match="named 'Nightly' already exists"):
        create_task(session, account_id=account.id, task=daily_task(), now=CREATED)


def test_given_a_stored_task_when_read_back_then_the_sdk_json_is_unchanged(
    session: Session, account: Account
) -> None:
    given = daily_task()
    given["scheduleDetails"] = monthly(15, ["february", "march"])
    task = create_task(session, account_id=account.id, task=given, now=CREATED)

    served = get_task(session, account_id=account.id, task_id=task.id).to_api()

    # Only the SDK's own spelling changes: its month is "feburary".
    expected = copy.deepcopy(given["scheduleDetails"])
    expected["monthlyScheduleParameters"]["months"] = ["feburary", "march"]
    assert served["scheduleDetails"] == expected
    assert served["generateReportTaskParameters"] == given["generateReportTaskParameters"]
    assert served["ID"] == task.id and served["nextRunTime"] == to_epoch_millis(ny(3, 15, 6))


# --- the reportd tasks commands ---------------------------------------------------------------


@pytest.fixture
def cli_app(tmp_path: Path) -> App:
    """A file database with one account and one contact, through the CLI itself."""
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Demo Corp"],
        ["contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor"],
    ):
        result = reportd(app, *args)
        assert result.exit_code == 0, result.output
    return app


def reportd(app: App, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app)


def test_given_schedule_flags_when_a_task_is_added_then_it_is_stored_in_the_sdk_shape(
    cli_app: App,
) -> None:
    added = reportd(
        cli_app,
        *("tasks", "add", "--name", "Nightly", "--daily", "02:30"),
        *("--time-zone", "America/New_York", "--type", "attack", "--last", "2w", "--everyone"),
    )
    assert added.exit_code == 0, added.output
    assert "daily 02:30 America/New_York" in added.output

    shown = json.loads(reportd(cli_app, "tasks", "show", "Nightly").output)

    daily = shown["scheduleDetails"]["dailyScheduleParameters"]
    start = datetime.fromtimestamp(daily["startTime"] / 1000, NEW_YORK)
    assert (start.hour, start.minute, daily["frequencyType"]) == (2, 30, "everyday")
    report = shown["generateReportTaskParameters"]
    assert report["reportTemplateID"] == 4 and report["timeRange"] == {"units": "week", "value": 2}
    assert report["recipients"] == {"allAdministratorsAndContacts": True}


def test_given_a_task_when_next_is_asked_then_occurrences_show_in_its_zone_and_in_utc(
    cli_app: App,
) -> None:
    reportd(cli_app, "tasks", "add", "--name", "Tokyo", "--weekly", "mon,fri@09:00",
            "--time-zone", "Asia/Tokyo", "--contact", "Kim")  # fmt: skip

    shown = reportd(cli_app, "tasks", "next", "Tokyo", "--count", "4")

    lines = [line for line in shown.output.splitlines() if "JST" in line]
    assert len(lines) == 4
    assert all("09:00 JST" in line and "00:00 UTC" in line for line in lines)
    assert {line.split("(")[1][:3] for line in lines} == {"Mon", "Fri"}


def test_given_json_files_when_added_and_edited_then_fields_are_replaced_and_checked(
    cli_app: App, tmp_path: Path
) -> None:
    task = daily_task(generateReportTaskParameters=to(1))
    (tmp_path / "task.json").write_text(json.dumps(task))
    (tmp_path / "off.json").write_text(json.dumps({"enabled": False, "ID": 77}))
    assert reportd(cli_app, "tasks", "add", "--json", str(tmp_path / "task.json")).exit_code == 0

    edited = reportd(cli_app, "tasks", "edit", "Nightly", "--json", str(tmp_path / "off.json"))

    assert edited.exit_code == 0, edited.output
    assert " off " in reportd(cli_app, "tasks", "list").output
    refused = reportd(
        cli_app, "tasks", "edit", "Nightly", "--time-zone", "Mars/Base", "--daily", "8:00"
    )
    assert refused.exit_code == 2 and "unknown time zone 'Mars/Base'" in refused.output
    assert reportd(cli_app, "tasks", "delete", "Nightly").exit_code == 0
    assert "Nightly" not in reportd(cli_app, "tasks", "list").output
    with cli_app.sessions() as session:
        trail = session.scalars(select(SystemEvent).order_by(SystemEvent.id)).all()
    assert [e.name for e in trail if e.event_code >= 8400] == [
        "Scheduled Task Created",
        "Scheduled Task Updated",
        "Scheduled Task Deleted",
    ]
    assert "enabled True -> False" in trail[-2].description


def test_given_two_flagged_tasks_when_a_tick_is_limited_to_one_then_only_it_fires(
    session: Session, account: Account
) -> None:
    first = create_task(session, account_id=account.id, task=daily_task("First"), now=CREATED)
    second = create_task(session, account_id=account.id, task=daily_task("Second"), now=CREATED)
    request_run_now(session, account_id=account.id, task_id=first.id)
    request_run_now(session, account_id=account.id, task_id=second.id)

    fired = tick(session, now=CREATED + timedelta(minutes=1), only_task=first.id)

    assert [f.task_id for f in fired] == [first.id]
    later = tick(session, now=CREATED + timedelta(minutes=2))
    assert [f.task_id for f in later] == [second.id]


def test_given_a_stored_schedule_beyond_the_calendar_when_ticked_then_only_it_is_parked(
    session: Session, account: Account
) -> None:
    broken = create_task(session, account_id=account.id, task=daily_task("Broken"), now=CREATED)
    fine = create_task(session, account_id=account.id, task=daily_task("Fine"), now=CREATED)
    row = session.get(ScheduledTaskRow, broken.id)
    assert row is not None
    details = copy.deepcopy(row.schedule_details)
    details["dailyScheduleParameters"].update(frequencyType="custom", customInterval=10**9)
    row.schedule_details = details
    session.flush()

    fired = tick(session, now=ny(2, 28, 8, 1))

    assert [f.task_id for f in fired] == [fine.id]
    assert get_task(session, account_id=account.id, task_id=broken.id).next_run is None
