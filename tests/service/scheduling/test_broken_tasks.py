"""One task that cannot fire stops no other: it is marked broken with the reason and the time,
skipped until edited or run now, and every other due task fires exactly once (both backends).

The broken tasks here are stored directly, past the checks the edges make, as an old
version or a careless hand could have stored them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli import App, cli
from service.config import Settings
from service.directory.accounts import find_account
from service.directory.audit import AuditCode
from service.errors import InvalidInput
from service.scheduling.scheduler import (
    create_task,
    edit_task,
    find_task,
    get_task,
    request_run_now,
    task_history,
    tick,
)
from service.scheduling.task_schema import to_epoch_millis
from storage.models import ReportRun, SystemEvent
from storage.tasks import ScheduledTaskRow
from tests.service.scheduling.conftest import Account
from tests.service.scheduling.test_scheduler import (
    CREATED,
    daily_task,
    ny,
    runs_of,
)

#: Just after the first occurrence of ``daily_task`` (08:00 New York on 28 February).
FIRST_TICK = ny(2, 28, 8, 1)


def store_an_unknown_misfire_policy(session: Session, task_id: int) -> None:
    """A value no policy has: the stored task no longer reads."""
    row = session.get(ScheduledTaskRow, task_id)
    assert row is not None
    row.misfire_policy = "sometimes"
    session.flush()


def store_a_schedule_beyond_the_calendar(session: Session, task_id: int) -> None:
    """Every billion days from 1 January 2026: its next occurrence would overflow datetime,
    so the field table (customInterval at most 3660) refuses it when read."""
    row = session.get(ScheduledTaskRow, task_id)
    assert row is not None
    details = copy.deepcopy(row.schedule_details)
    details["dailyScheduleParameters"].update(
        frequencyType="custom", customInterval=10**9, startTime=to_epoch_millis(ny(1, 1, 8))
    )
    row.schedule_details = details
    session.flush()


def test_given_tasks_that_cannot_fire_when_ticked_then_they_are_broken_and_others_fire_once(
    session: Session, account: Account
) -> None:
    first = create_task(session, account_id=account.id, task=daily_task("First"), now=CREATED)
    odd = create_task(session, account_id=account.id, task=daily_task("Odd"), now=CREATED)
    huge = create_task(session, account_id=account.id, task=daily_task("Huge"), now=CREATED)
    last = create_task(session, account_id=account.id, task=daily_task("Last"), now=CREATED)
    store_an_unknown_misfire_policy(session, odd.id)
    store_a_schedule_beyond_the_calendar(session, huge.id)

    fired = tick(session, now=FIRST_TICK)

    assert sorted(f.task_id for f in fired) == sorted([first.id, last.id])
    assert [len(runs_of(session, t.id)) for t in (first, odd, huge, last)] == [1, 0, 0, 1]
    odd_row = session.get(ScheduledTaskRow, odd.id)
    assert odd_row is not None and odd_row.broken_since == FIRST_TICK
    assert odd_row.broken_reason == (
        "stored schedule does not read: misfirePolicy: 'sometimes' is not one of coalesce, skip"
    )
    marked = get_task(session, account_id=account.id, task_id=huge.id)
    assert marked.broken_since == FIRST_TICK and marked.next_run is None
    assert marked.broken_reason == (
        "stored schedule does not read: scheduleDetails.dailyScheduleParameters.customInterval:"
        " Input should be less than or equal to 3660"
    )
    assert marked.to_api()["brokenReason"] == marked.broken_reason
    assert marked.to_api()["brokenSince"] == to_epoch_millis(FIRST_TICK)
    fine = get_task(session, account_id=account.id, task_id=first.id)
    assert not fine.broken and "brokenReason" not in fine.to_api()
    trail = session.scalars(
        select(SystemEvent)
        .where(
            SystemEvent.account_id == account.id,
            SystemEvent.event_code == int(AuditCode.task_broken),
        )
        .order_by(SystemEvent.id)
    ).all()
    assert [(e.actor, e.level) for e in trail] == [("scheduler", "warning")] * 2
    # One event each, in the order the tick claimed them (equal next_run: either order).
    named = sorted(name for e in trail for name in ("'Odd'", "'Huge'") if name in e.description)
    assert named == ["'Huge'", "'Odd'"]


def test_given_a_broken_task_when_later_passes_come_then_it_is_skipped_and_others_fire_once(
    session: Session, account: Account
) -> None:
    fine = create_task(session, account_id=account.id, task=daily_task("Fine"), now=CREATED)
    broken = create_task(session, account_id=account.id, task=daily_task("Broken"), now=CREATED)
    store_a_schedule_beyond_the_calendar(session, broken.id)
    tick(session, now=FIRST_TICK)

    again = tick(session, now=FIRST_TICK + timedelta(minutes=1))
    next_day = tick(session, now=ny(3, 1, 8, 1))

    assert again == [] and [f.task_id for f in next_day] == [fine.id]
    assert len(runs_of(session, fine.id)) == 2 and runs_of(session, broken.id) == []
    assert get_task(session, account_id=account.id, task_id=broken.id).broken_since == FIRST_TICK


def hold_the_first_occurrence(session: Session, account: Account, task_id: int) -> None:
    """A run that already holds the task's first occurrence: the unique (task, occurrence)
    of runs makes the database refuse the tick's."""
    session.add(
        ReportRun(
            account_id=account.id,
            report_type="summary",
            triggered_by="elsewhere",
            scheduled_task_id=task_id,
            occurrence=ny(2, 28, 8),
            period_start=ny(2, 21, 8),
            period_end=ny(2, 28, 8),
        )
    )
    session.flush()


def test_given_a_task_whose_run_the_database_refuses_when_ticked_then_only_it_is_broken(
    session: Session, account: Account
) -> None:
    refused = create_task(session, account_id=account.id, task=daily_task("Refused"), now=CREATED)
    fine = create_task(session, account_id=account.id, task=daily_task("Fine"), now=CREATED)
    hold_the_first_occurrence(session, account, refused.id)

    fired = tick(session, now=FIRST_TICK)

    assert [f.task_id for f in fired] == [fine.id]
    assert len(runs_of(session, fine.id)) == 1 and len(runs_of(session, refused.id)) == 1
    marked = get_task(session, account_id=account.id, task_id=refused.id)
    assert marked.broken_reason is not None
    assert marked.broken_reason.startswith("the database refused its run")
    assert [
        o.outcome.value for o in task_history(session, account_id=account.id, task_id=fine.id)
    ] == ["fired"]


def test_given_a_broken_task_when_edited_then_the_mark_clears_and_it_fires_from_the_edit(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task("Mended"), now=CREATED)
    store_an_unknown_misfire_policy(session, task.id)
    tick(session, now=FIRST_TICK)
    edited = edit_task(
        session,
        account_id=account.id,
        task_id=task.id,
        changes={"misfirePolicy": "coalesce"},
        now=ny(3, 2, 12),
    )

    assert not edited.broken and edited.broken_reason is None
    assert edited.next_run == ny(3, 3, 8)
    history = task_history(session, account_id=account.id, task_id=task.id)
    assert [(o.occurrence, o.outcome.value) for o in history] == [
        (ny(3, 2, 8), "skipped"),
        (ny(3, 1, 8), "skipped"),
        (ny(2, 28, 8), "skipped"),
    ]
    assert "the task was broken" in history[0].reason
    assert [f.task_id for f in tick(session, now=ny(3, 3, 8, 1))] == [task.id]


def test_given_a_broken_task_when_run_now_then_the_mark_clears_and_it_fires_at_the_tick(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task("Retried"), now=CREATED)
    hold_the_first_occurrence(session, account, task.id)
    tick(session, now=FIRST_TICK)
    assert get_task(session, account_id=account.id, task_id=task.id).broken

    cleared = request_run_now(session, account_id=account.id, task_id=task.id, now=ny(3, 1, 12))
    fired = tick(session, now=ny(3, 1, 12, 1))

    assert not cleared.broken and cleared.run_now and cleared.next_run == ny(3, 2, 8)
    assert [(f.task_id, f.occurrence) for f in fired] == [(task.id, ny(3, 1, 12, 1))]
    assert not get_task(session, account_id=account.id, task_id=task.id).broken


def test_given_a_task_broken_by_its_schedule_when_run_now_then_the_schedule_is_named(
    session: Session, account: Account
) -> None:
    task = create_task(session, account_id=account.id, task=daily_task("Huge"), now=CREATED)
    store_a_schedule_beyond_the_calendar(session, task.id)
    tick(session, now=FIRST_TICK)

    with pytest.raises(InvalidInput, match=r"does not read: scheduleDetails\..*customInterval"):
        request_run_now(session, account_id=account.id, task_id=task.id, now=ny(3, 1, 12))
    assert get_task(session, account_id=account.id, task_id=task.id).broken_since == FIRST_TICK


def test_given_a_broken_task_when_the_cli_lists_and_shows_it_then_it_says_why(
    tmp_path: Path,
) -> None:
    # Given a file database with two tasks, one of which the scheduler found broken
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Demo Corp"],
        ["contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor"],
        ["tasks", "add", "--name", "Fine", "--daily", "08:00", "--all", "--run-now"],
        ["tasks", "add", "--name", "Huge", "--daily", "08:00", "--all", "--run-now"],
    ):
        done = CliRunner().invoke(cli, args, obj=app)
        assert done.exit_code == 0, done.output
    with app.transaction() as session:
        huge = find_task(session, account_id=find_account(session, None).id, ref="Huge")
        store_a_schedule_beyond_the_calendar(session, huge.id)
        fired = tick(session, now=datetime.now(UTC))
    assert len(fired) == 1

    # When the tasks are listed and the broken one shown
    listed = CliRunner().invoke(cli, ["tasks", "list"], obj=app)
    shown = CliRunner().invoke(cli, ["tasks", "show", "Huge"], obj=app)

    # Then the list marks it with the reason, and its JSON carries brokenReason and brokenSince
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "Huge" in lines[1] and lines[2].lstrip().startswith("BROKEN since ")
    assert "stored schedule does not read" in lines[2] and "BROKEN" not in lines[0]
    task = json.loads(shown.output)
    assert task["brokenReason"].startswith("stored schedule does not read: scheduleDetails")
    assert task["brokenSince"] > 0 and "nextRunTime" not in task


def store_a_recurrence_count_refused_today(session: Session, task_id: int) -> None:
    """Saved before the field table bounded recurrenceCount: the schedule no longer reads."""
    row = session.get(ScheduledTaskRow, task_id)
    assert row is not None
    row.schedule_details = {**row.schedule_details, "recurrenceCount": 2**31}
    session.flush()


def test_given_stored_tasks_that_do_not_read_when_the_cli_shows_them_then_it_says_why(
    tmp_path: Path,
) -> None:
    # Given a file database with a task of an unknown misfire policy and one whose
    # recurrenceCount the field table refuses today, neither yet seen by the scheduler
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    for args in (
        ["db", "upgrade"],
        ["accounts", "create", "Demo Corp"],
        ["contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor"],
        ["tasks", "add", "--name", "Many", "--daily", "08:00", "--all"],
        ["tasks", "add", "--name", "Odd", "--daily", "08:00", "--all"],
    ):
        done = CliRunner().invoke(cli, args, obj=app)
        assert done.exit_code == 0, done.output
    with app.transaction() as session:
        account_id = find_account(session, None).id
        store_an_unknown_misfire_policy(
            session, find_task(session, account_id=account_id, ref="Odd").id
        )
        many = find_task(session, account_id=account_id, ref="Many")
        store_a_recurrence_count_refused_today(session, many.id)

    # When they are listed, shown, and their next runs asked for
    listed = CliRunner().invoke(cli, ["tasks", "list"], obj=app)
    odd = CliRunner().invoke(cli, ["tasks", "show", "Odd"], obj=app)
    shown = CliRunner().invoke(cli, ["tasks", "show", "Many"], obj=app)
    odd_next = CliRunner().invoke(cli, ["tasks", "next", "Odd", "--count", "2"], obj=app)
    many_next = CliRunner().invoke(cli, ["tasks", "next", "Many"], obj=app)

    # Then each is shown broken with the reason and no next run, never a traceback
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "Many" in lines[0] and "(schedule does not read)" in lines[0]
    assert "(none while broken)" in lines[0] and "[coalesce]" in lines[0]
    assert (
        lines[1]
        .lstrip()
        .startswith("BROKEN: stored schedule does not read: scheduleDetails.recurrenceCount")
    )
    assert "Odd" in lines[2] and "daily 08:00 UTC" in lines[2] and "[?]" in lines[2]
    assert (
        lines[3]
        .lstrip()
        .startswith(
            "BROKEN: stored schedule does not read: misfirePolicy: 'sometimes' is not one of"
        )
    )
    assert odd.exit_code == 0 and shown.exit_code == 0, odd.output + shown.output
    task = json.loads(shown.output)
    assert task["brokenReason"].startswith("stored schedule does not read: scheduleDetails")
    assert "nextRunTime" not in task and task["scheduleDetails"]["recurrenceCount"] == 2**31
    odd_task = json.loads(odd.output)
    assert "misfirePolicy" not in odd_task and "nextRunTime" not in odd_task
    assert odd_next.exit_code == 0, odd_next.output
    assert "broken: stored schedule does not read: misfirePolicy" in odd_next.output
    assert len(odd_next.output.splitlines()) == 3  # the task, then its two would-be runs
    assert many_next.exit_code == 1 and many_next.exception is not None
    assert isinstance(many_next.exception, SystemExit)
    assert "has no coming runs: stored schedule does not read" in many_next.output

    # And editing it with valid values repairs it
    mended = CliRunner().invoke(
        cli, ["tasks", "edit", "Many", "--count", "5", "--daily", "08:00"], obj=app
    )
    repaired = CliRunner().invoke(cli, ["tasks", "edit", "Odd", "--misfire", "skip"], obj=app)
    assert mended.exit_code == 0 and repaired.exit_code == 0, mended.output + repaired.output
    after = CliRunner().invoke(cli, ["tasks", "list"], obj=app)
    assert "BROKEN" not in after.output and "(none while broken)" not in after.output
