"""Scheduled tasks: storing them in the console's JSON shape, and firing what is due.

Exactly once, with any number of scheduler processes: ``tick`` claims due tasks with
``SELECT ... FOR UPDATE SKIP LOCKED`` (on SQLite, ``BEGIN IMMEDIATE`` lets one writer in at a
time), and in that same transaction creates each run with its deliveries, records every due
occurrence and moves ``next_run`` past them. A process that dies mid-tick loses its
transaction and its locks together, so the next tick anywhere fires the same occurrences; the
unique ``(scheduled_task_id, occurrence)`` of a run is the database's last word. The caller
commits, then enqueues ``start_run`` for the returned runs.

A tick fires its tasks together: the runs are checked one by one, then created with their
deliveries in two bulk INSERTs (``service.delivery.run_batch``), and the tasks' records written
in one batch, so a pass costs a few round trips, not a few per task.

One task cannot stop the others. A task whose firing raises (a stored period or schedule
beyond the calendar, a report the checks no longer accept for a reason they did not foresee,
anything unexpected) is left out of the batch and **marked broken**: ``broken_reason`` and
``broken_since`` on its row, an audit event (``task_broken``), no ``next_run``. The batch is
written in a SAVEPOINT; should the database refuse it, each task's writes are redone in a
SAVEPOINT of their own and only the refused tasks are marked. An outage (the database or
broker gone) is not a broken task: it ends the tick, and the loop waits it out. A broken
task is skipped by every tick until it is edited (``edit_task``) or run now
(``request_run_now``): either clears the mark and starts it afresh from that moment, its
occurrences missed while broken recorded as skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select, true, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from service.delivery.ledger import Recipients
from service.delivery.run_batch import RecipientBook, RunRequest, create_runs
from service.directory.audit import AuditCode, record
from service.directory.smart_folders import require_folder
from service.errors import InvalidInput, NotFound
from service.reports.spec import describe
from service.runtime.outages import OUTAGE_ERRORS
from service.scheduling.recurrences import (
    DEFAULT_MISFIRE_GRACE,
    FiringPlan,
    next_occurrence,
    occurrences,
    plan_firing,
)
from service.scheduling.task_schema import (
    GenerateReportTaskParameters,
    MisfirePolicy,
    ScheduleDetails,
    ScheduledTask,
    to_epoch_millis,
)
from service.scheduling.task_schema import Recipients as TaskRecipients
from storage.bulk import insert_rows, update_rows
from storage.tasks import OccurrenceOutcome, ScheduledTaskRow, TaskOccurrence

logger = logging.getLogger(__name__)

#: Tasks one tick claims, and so fires, in one transaction: its runs and records are bulk
#: statements, so a larger tick costs less per task (0.34 against 0.53 ms of the scheduler's
#: CPU a run at 100, ``ops/bench/scheduler.py``'s load, in-process).
DEFAULT_TICK_LIMIT = 500
#: SDK fields the server sets; ignored when a client sends them back.
READ_ONLY_FIELDS = frozenset({"ID", "lastRunTime", "nextRunTime", "brokenReason", "brokenSince"})
#: Who the audit trail names when the scheduler marks a task broken.
SCHEDULER_ACTOR = "scheduler"
#: Longest reason kept on a broken task (an exception's text can be long).
MAX_BROKEN_REASON = 1000
#: How a view's reason begins when the stored row does not read (stored by an older
#: version or by hand, before today's checks).
UNREADABLE = "stored schedule does not read"


class ClaimedTask(Protocol):
    """What a tick reads of a claimed task: a row of ``scheduled_tasks`` (a plain row when the
    tick claims it, the ORM object elsewhere)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def schedule_details(self) -> dict[str, Any]: ...
    @property
    def parameters(self) -> dict[str, Any]: ...
    @property
    def misfire_policy(self) -> str: ...
    @property
    def last_fired(self) -> datetime | None: ...
    @property
    def created(self) -> datetime: ...
    @property
    def run_now(self) -> bool: ...


@dataclass(frozen=True)
class FiredRun:
    """A run a tick created; enqueue ``start_run(run_id)`` once the tick is committed."""

    task_id: int
    run_id: int
    occurrence: datetime


@dataclass(frozen=True)
class TaskView:
    """A stored task; ``schedule_details`` and ``parameters`` are the SDK JSON as stored.

    A stored row that no longer reads (a misfire policy or a schedule the checks refuse
    today) is still a view: ``misfire_policy`` or ``schedule`` is None, the task is broken
    with the reason, and it has no next run."""

    id: int
    account_id: int
    name: str
    description: str
    enabled: bool
    #: None when the stored value is no policy (the task is then broken).
    misfire_policy: MisfirePolicy | None
    schedule_details: dict[str, Any]
    parameters: dict[str, Any]
    next_run: datetime | None
    last_fired: datetime | None
    last_run_time: datetime | None
    created: datetime
    run_now: bool
    #: Why the task could not fire, and since when; None unless it is broken.
    broken_reason: str | None = None
    broken_since: datetime | None = None
    #: The stored schedule, read; None when it no longer reads (the task is then broken).
    schedule: ScheduleDetails | None = None

    @property
    def broken(self) -> bool:
        return self.broken_reason is not None or self.broken_since is not None

    @property
    def details(self) -> ScheduleDetails:
        """The schedule; one that does not read is refused with the reason."""
        if self.schedule is None:
            raise InvalidInput(f"scheduled task {self.id} {self.name!r}: {self.broken_reason}")
        return self.schedule

    @property
    def time_zone(self) -> str:
        """The schedule's zone, UTC when the stored schedule does not read."""
        return self.schedule.time_zone if self.schedule is not None else "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return self.schedule.zone if self.schedule is not None else ZoneInfo("UTC")

    def to_api(self) -> dict[str, Any]:
        """The SDK's ScheduledTask JSON (with reportd's ``misfirePolicy``, and
        ``brokenReason`` and ``brokenSince`` when the task is broken: the SDK ignores them)."""
        data: dict[str, Any] = {
            "ID": self.id,
            "name": self.name,
            "type": "generate-report",
            "enabled": self.enabled,
            "runNow": self.run_now,
            "scheduleDetails": self.schedule_details,
            "generateReportTaskParameters": self.parameters,
        }
        if self.misfire_policy is not None:
            data["misfirePolicy"] = self.misfire_policy.value
        if self.last_run_time is not None:
            data["lastRunTime"] = to_epoch_millis(self.last_run_time)
        if self.next_run is not None:
            data["nextRunTime"] = to_epoch_millis(self.next_run)
        if self.broken:
            data["brokenReason"] = self.broken_reason or ""
        if self.broken_since is not None:
            data["brokenSince"] = to_epoch_millis(self.broken_since)
        return data


@dataclass(frozen=True)
class OccurrenceView:
    occurrence: datetime
    outcome: OccurrenceOutcome
    run_id: int | None
    reason: str
    recorded: datetime


# --- storing tasks ------------------------------------------------------------------------


def parse_task(data: Mapping[str, Any]) -> ScheduledTask:
    """The SDK's ScheduledTask JSON, checked; ``type`` defaults to generate-report."""
    try:
        return ScheduledTask.model_validate({"type": "generate-report", **data})
    except ValidationError as error:
        raise InvalidInput(describe(error, whole="task")) from None


def create_task(
    session: Session,
    *,
    account_id: int,
    task: Mapping[str, Any],
    now: datetime,
    description: str = "",
) -> TaskView:
    """Store a new task; nothing before ``now`` is due, so it fires from its next occurrence."""
    parsed = parse_task({k: v for k, v in task.items() if k not in READ_ONLY_FIELDS})
    _check_report(session, account_id, parsed.generate_report_task_parameters)
    _check_name_free(session, account_id, parsed.name)
    next_run = _first_after(parsed, now)
    row = ScheduledTaskRow(
        account_id=account_id,
        name=parsed.name,
        description=description,
        enabled=parsed.enabled,
        schedule_details=parsed.schedule_details.to_api(),
        parameters=parsed.generate_report_task_parameters.to_api(),
        misfire_policy=parsed.misfire_policy.value,
        next_run=next_run,
        last_fired=now,
        created=now,
        run_now=bool(parsed.run_now),
    )
    session.add(row)
    session.flush()
    return _view(row)


def edit_task(
    session: Session,
    *,
    account_id: int,
    task_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    description: str | None = None,
) -> TaskView:
    """Change top-level fields of a task (each given object replaces the stored one).

    A new schedule, enabling a disabled task, or any edit of a broken task (which clears
    the mark) starts afresh from ``now``: occurrences of the old state that had not fired
    are recorded as skipped, not run late.
    """
    row = _row(session, account_id, task_id, lock=True)
    given = {k: v for k, v in changes.items() if k not in READ_ONLY_FIELDS}
    parsed = parse_task({**_sdk_fields(row), **given})
    _check_report(
        session,
        account_id,
        parsed.generate_report_task_parameters,
        # A folder deleted since is only refused when the report is changed: the task can
        # still be renamed, disabled or deleted (its runs match nothing meanwhile).
        folder="generateReportTaskParameters" in given,
    )
    if parsed.name != row.name:
        _check_name_free(session, account_id, parsed.name)
    new_details = parsed.schedule_details.to_api()
    rescheduled = new_details != row.schedule_details
    enabling = parsed.enabled and not row.enabled
    repairing = row.broken_since is not None
    next_run = row.next_run
    if rescheduled or enabling or repairing:
        # _first_after refuses a schedule that never fires again, before anything is written.
        next_run = _first_after(parsed, now) if rescheduled else None
        if repairing:
            reason = f"the task was broken: {row.broken_reason}"
        elif not row.enabled:
            reason = "the task was disabled"
        else:
            reason = "the schedule was changed"
        _close_gap(session, row, now=now, reason=reason)
        next_run = next_run or _next_after(parsed.schedule_details, now)
        row.broken_reason = row.broken_since = None
    row.name = parsed.name
    row.enabled = parsed.enabled
    row.schedule_details = new_details
    row.parameters = parsed.generate_report_task_parameters.to_api()
    row.misfire_policy = parsed.misfire_policy.value
    row.next_run = next_run
    row.run_now = row.run_now or bool(parsed.run_now)
    if description is not None:
        row.description = description
    session.flush()
    return _view(row)


def delete_task(session: Session, *, account_id: int, task_id: int) -> None:
    """Delete a task and its occurrence record; its runs stay in the ledger."""
    session.delete(_row(session, account_id, task_id, lock=True))
    session.flush()


def request_run_now(
    session: Session, *, account_id: int, task_id: int, now: datetime | None = None
) -> TaskView:
    """Fire the task at the next tick, even if it is disabled; its schedule is unchanged.

    A broken task is given another try: the mark is cleared and its schedule goes on from
    ``now`` (default: the time now), the occurrences missed while broken recorded as skipped.
    """
    row = _row(session, account_id, task_id, lock=True)
    unreadable = _read(row).unreadable
    if unreadable is not None:
        # The tick would only mark it broken again: its stored fields need an edit first.
        raise InvalidInput(f"{unreadable}; edit the task with valid values to repair it")
    if row.broken_since is not None:
        moment = now or datetime.now(UTC)
        _close_gap(session, row, now=moment, reason=f"the task was broken: {row.broken_reason}")
        details = _stored_details(row)
        row.next_run = _next_after(details, moment) if details is not None else None
        row.broken_reason = row.broken_since = None
    row.run_now = True
    session.flush()
    return _view(row)


def get_task(session: Session, *, account_id: int, task_id: int) -> TaskView:
    return _view(_row(session, account_id, task_id))


def find_task(session: Session, *, account_id: int, ref: str) -> TaskView:
    """A task by ID or name."""
    statement = select(ScheduledTaskRow).where(ScheduledTaskRow.account_id == account_id)
    if ref.isdigit():
        statement = statement.where(ScheduledTaskRow.id == int(ref))
    else:
        statement = statement.where(ScheduledTaskRow.name == ref)
    row = session.scalars(statement).first()
    if row is None:
        raise NotFound(f"no scheduled task {ref!r} in this account")
    return _view(row)


def list_tasks(session: Session, *, account_id: int) -> list[TaskView]:
    statement = (
        select(ScheduledTaskRow)
        .where(ScheduledTaskRow.account_id == account_id)
        .order_by(ScheduledTaskRow.name)
    )
    return [_view(row) for row in session.scalars(statement)]


@dataclass(frozen=True)
class TaskPage:
    """One page of an account's tasks by name, and how many match in all."""

    tasks: list[TaskView]
    total: int
    offset: int
    limit: int


def task_page(
    session: Session, *, account_id: int, search: str = "", offset: int = 0, limit: int = 25
) -> TaskPage:
    """The tasks whose name contains ``search`` (any case), by name, one page."""
    if limit < 1 or offset < 0:
        raise InvalidInput("a page needs a positive size and a non-negative offset")
    statement = select(ScheduledTaskRow).where(ScheduledTaskRow.account_id == account_id)
    text = search.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(func.lower(ScheduledTaskRow.name).like(pattern, escape="\\"))
    total = session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = session.scalars(
        statement.order_by(ScheduledTaskRow.name, ScheduledTaskRow.id).offset(offset).limit(limit)
    )
    return TaskPage([_view(row) for row in rows], int(total), offset, limit)


def task_history(
    session: Session, *, account_id: int, task_id: int, limit: int = 50
) -> list[OccurrenceView]:
    """The task's newest recorded occurrences, newest first."""
    _row(session, account_id, task_id)
    statement = (
        select(TaskOccurrence)
        .where(TaskOccurrence.task_id == task_id)
        .order_by(TaskOccurrence.occurrence.desc())
        .limit(limit)
    )
    return [
        OccurrenceView(o.occurrence, OccurrenceOutcome(o.outcome), o.run_id, o.reason, o.recorded)
        for o in session.scalars(statement)
    ]


def upcoming(task: TaskView, count: int, *, now: datetime) -> list[datetime]:
    """The task's next ``count`` occurrences after ``now`` (UTC), whether enabled or not; a
    schedule that does not read, or that the calendar cannot hold, is refused with why."""
    try:
        return list(occurrences(task.details, after=now, limit=count))
    except (OverflowError, ValueError) as error:
        raise InvalidInput(
            f"scheduled task {task.id} {task.name!r}: its schedule cannot be computed: {error}"
        ) from None


# --- firing -------------------------------------------------------------------------------


def tick(
    session: Session,
    *,
    now: datetime,
    limit: int = DEFAULT_TICK_LIMIT,
    grace: timedelta = DEFAULT_MISFIRE_GRACE,
    only_task: int | None = None,
) -> list[FiredRun]:
    """Claim up to ``limit`` due tasks and fire them in the caller's transaction.

    Due: enabled with ``next_run <= now``, or ``run_now`` set, and not broken. Tasks another
    scheduler holds are skipped, not waited for. ``only_task`` limits the tick to that one
    task (run now from the API). A task that cannot fire is marked broken; the others fire.
    The caller commits, then enqueues the returned runs.
    """
    # Two claims, each able to use its index: due by schedule (enabled, next_run), and
    # run-now (a partial index on the few rows with the flag set).
    working = ScheduledTaskRow.broken_since.is_(None)
    # Plain rows, not ORM objects: a pass claims hundreds, reads them once, and writes them
    # back by id (``storage.bulk.update_rows`` expires any object the session held).
    columns = ScheduledTaskRow.__table__.columns
    by_schedule = (
        select(*columns)
        .where(ScheduledTaskRow.enabled == true(), ScheduledTaskRow.next_run <= now, working)
        .order_by(ScheduledTaskRow.next_run)
    )
    run_now = select(*columns).where(ScheduledTaskRow.run_now == true(), working)
    if only_task is not None:
        by_schedule = by_schedule.where(ScheduledTaskRow.id == only_task)
        run_now = run_now.where(ScheduledTaskRow.id == only_task)
    claimed: dict[int, ClaimedTask] = {}
    for statement in (run_now, by_schedule):
        if len(claimed) >= limit:
            break
        rows = session.execute(
            statement.limit(limit - len(claimed)).with_for_update(skip_locked=True)
        )
        claimed.update((row.id, cast(ClaimedTask, row)) for row in rows)
    firing = _Tick(session, now=now, grace=grace)
    # Runs, task updates and occurrence records wait for the end, to be written in one batch
    # each.
    with session.no_autoflush:
        for task in claimed.values():
            firing.fire(task)
        fired = firing.write()
    session.flush()
    return fired


def next_due(session: Session, *, after: datetime) -> datetime | None:
    """When the next enabled, working task falls due by its schedule after ``after`` (None:
    none does); the scheduler's loop wakes then instead of at its next interval. Tasks due
    already (another scheduler holds them) do not hide a later one."""
    statement = select(func.min(ScheduledTaskRow.next_run)).where(
        ScheduledTaskRow.enabled == true(),
        ScheduledTaskRow.next_run > after,
        ScheduledTaskRow.broken_since.is_(None),
    )
    return session.scalar(statement)


class _Directory:
    """The contact and active user ids of each account, read once per tick or check."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.book = RecipientBook(session)
        # The id sets, built once per account: a large account's tasks would otherwise each
        # copy its thousands of contact ids.
        self._contacts: dict[int, frozenset[int]] = {}
        self._members: dict[int, frozenset[int]] = {}

    def contacts(self, account_id: int) -> frozenset[int]:
        if account_id not in self._contacts:
            self._contacts[account_id] = frozenset(self.book.contacts(account_id))
        return self._contacts[account_id]

    def members(self, account_id: int) -> frozenset[int]:
        if account_id not in self._members:
            users = self.book.users(account_id).items()
            self._members[account_id] = frozenset(i for i, (_, active) in users if active)
        return self._members[account_id]

    def live_recipients(self, account_id: int, wanted: TaskRecipients) -> tuple[Recipients, str]:
        """The task's recipients that still exist, and a note naming those that do not."""
        if wanted.all_administrators_and_contacts:
            return Recipients(all_contacts=True, all_users=True), ""
        members = self.members(account_id)
        contact_ids = set(wanted.contact_ids or ())
        user_ids = set(wanted.administrator_ids or ())
        contacts = contact_ids & self.contacts(account_id) if contact_ids else set()
        users = user_ids & members
        gone = [
            f"{kind} {sorted(missing)} no longer exist"
            for kind, missing in (("contacts", contact_ids - contacts), ("users", user_ids - users))
            if missing
        ]
        return Recipients(contact_ids=sorted(contacts), user_ids=sorted(users)), "; ".join(gone)


class _Tick:
    """Firing the tasks one tick claimed, in the caller's transaction."""

    def __init__(self, session: Session, *, now: datetime, grace: timedelta) -> None:
        self.session = session
        self.now = now
        self.grace = grace
        self.directory = _Directory(session)
        self.firings: list[_Firing] = []
        self.advances: list[tuple[ClaimedTask, dict[str, Any]]] = []
        self.broken: list[tuple[ClaimedTask, str]] = []

    def fire(self, task: ClaimedTask) -> None:
        """Plan one claimed task's firing; a task whose planning raises is marked broken, and
        what it had planned is dropped, so the rest of the tick goes on without it."""
        firings, advances = len(self.firings), len(self.advances)
        try:
            self._plan(task)
        except SQLAlchemyError:
            raise  # the database's trouble, not the task's: the tick (or the loop) decides
        except _Unfit as error:
            logger.error("task %s: %s; marked broken", task.id, error)
            self._drop(firings, advances)
            self.broken.append((task, str(error)))
        except Exception as error:  # isolation: any failure is this task's alone
            logger.exception("task %s: firing failed; marked broken", task.id)
            self._drop(firings, advances)
            self.broken.append((task, f"firing failed: {type(error).__name__}: {error}"))

    def _drop(self, firings: int, advances: int) -> None:
        del self.firings[firings:]
        del self.advances[advances:]

    def write(self) -> list[FiredRun]:
        """Write every plan in one SAVEPOINT; should the database refuse the batch, each
        task's in a SAVEPOINT of its own, marking the refused tasks broken. The runs fired."""
        try:
            with self.session.begin_nested():
                fired = self._write(self.firings, self.advances)
                self._mark_broken(self.broken)
                return fired
        except DBAPIError as error:
            if isinstance(error, OUTAGE_ERRORS) or error.connection_invalidated:
                raise
            logger.warning("the tick's batch was refused, writing task by task: %s", error)
        fired = []
        order: dict[int, ClaimedTask] = {task.id: task for task, _ in self.advances}
        for task_id, task in order.items():
            try:
                with self.session.begin_nested():
                    fired += self._write(
                        [f for f in self.firings if f.task_id == task_id],
                        [a for a in self.advances if a[0].id == task_id],
                    )
            except DBAPIError as error:
                if isinstance(error, OUTAGE_ERRORS) or error.connection_invalidated:
                    raise
                logger.error("task %s: the database refused its run; marked broken", task_id)
                reason = f"the database refused its run: {type(error.orig).__name__}: {error.orig}"
                self.broken.append((task, reason))
        self._mark_broken(self.broken)
        return fired

    def _write(
        self,
        firings: list[_Firing],
        advances: list[tuple[ClaimedTask, dict[str, Any]]],
    ) -> list[FiredRun]:
        """Create the runs, record every occurrence and advance the tasks; the runs fired."""
        requests = [firing.request for firing in firings if firing.request is not None]
        run_ids = iter(create_runs(self.session, requests))
        fired: list[FiredRun] = []
        records: list[dict[str, Any]] = []
        for firing in firings:
            plan = firing.plan
            run_id = next(run_ids) if firing.request is not None else None
            records.extend(
                {
                    "task_id": firing.task_id,
                    "occurrence": moment,
                    "outcome": _outcome(moment, plan, run_id).value,
                    "run_id": run_id if moment == plan.fire or moment in plan.coalesced else None,
                    "reason": _reason(moment, plan, note=firing.note, refused=firing.refused),
                    "recorded": self.now,
                }
                for moment in plan.due
            )
            if run_id is not None and plan.fire is not None:
                fired.append(FiredRun(task_id=firing.task_id, run_id=run_id, occurrence=plan.fire))
        # Bulk statements by primary key, not ORM objects: a pass writes hundreds of each.
        insert_rows(self.session, TaskOccurrence, records)
        for group in _grouped(advances).values():
            update_rows(self.session, ScheduledTaskRow, [{"id": t.id, **v} for t, v in group])
        return fired

    def _mark_broken(self, broken: list[tuple[ClaimedTask, str]]) -> None:
        """Mark the tasks broken (skipped by later ticks), each with an audit event."""
        for task, reason in broken:
            text = reason[:MAX_BROKEN_REASON]
            self.session.execute(
                update(ScheduledTaskRow),
                [
                    {
                        "id": task.id,
                        "broken_reason": text,
                        "broken_since": self.now,
                        "next_run": None,
                        "run_now": False,
                    }
                ],
            )
            record(
                self.session,
                account_id=task.account_id,
                code=AuditCode.task_broken,
                description=f"scheduled task {task.id} {task.name!r} cannot fire: {text}",
                actor=SCHEDULER_ACTOR,
                level="warning",
                now=self.now,
            )

    def _plan(self, task: ClaimedTask) -> None:
        """Plan one claimed task: its due occurrences, then a pending run-now; advance it."""
        stored = _read(task)
        details, policy = stored.schedule, stored.policy
        if details is None or policy is None:
            # Stored before this zone or rule became invalid (tzdata or the field table).
            raise _Unfit(stored.unreadable or UNREADABLE)
        last_fired = task.last_fired or task.created
        plan = FiringPlan(fire=None)
        try:
            if task.enabled:
                plan = plan_firing(
                    details, policy, last_fired=last_fired, now=self.now, grace=self.grace
                )
            following = next_occurrence(details, after=max(last_fired, plan.latest or last_fired))
        except (OverflowError, ValueError) as error:
            # Calendar math beyond datetime's range (a huge interval stored by hand).
            raise _Unfit(f"its schedule cannot be computed: {error}") from error
        fired = False
        if plan.due:
            fired |= self._record(task, plan, details)
            last_fired = max(last_fired, plan.latest or last_fired)
        if task.run_now and plan.fire is None:
            # A run-now fires at the tick's time; when the schedule fires now, that run is it.
            fired |= self._record(task, FiringPlan(fire=self.now), details, note="run now")
        advance: dict[str, Any] = {
            "last_fired": last_fired,
            "next_run": following,
            "run_now": False,
        }
        if fired:
            advance["last_run_time"] = self.now
        self.advances.append((task, advance))

    def _record(
        self, task: ClaimedTask, plan: FiringPlan, details: ScheduleDetails, *, note: str = ""
    ) -> bool:
        """Ask for the plan's run, if any; its occurrences are recorded with the run's id once
        every run of the tick exists. Whether a run will be created."""
        request: RunRequest | None = None
        refused = ""
        if plan.fire is not None:
            try:
                request, note = self._run_request(task, details, plan.fire, note=note)
            except (InvalidInput, ValidationError) as error:
                refused = f"run refused: {error}"
                logger.warning("task %s, occurrence %s: %s", task.id, plan.fire, refused)
        self.firings.append(_Firing(task.id, plan, request, note, refused))
        return request is not None and plan.fire is not None

    def _run_request(
        self, task: ClaimedTask, details: ScheduleDetails, occurrence: datetime, *, note: str
    ) -> tuple[RunRequest, str]:
        """The run of one occurrence, its window ending at the occurrence; (request, note).

        Checked as ``new_report_run`` checks it (InvalidInput), without writing anything.
        """
        params = GenerateReportTaskParameters.model_validate(task.parameters)
        recipients, gone = self.directory.live_recipients(task.account_id, params.recipients)
        spec = params.spec
        start, end = spec.period(end=occurrence, time_zone=details.time_zone)
        try:
            if end <= start:
                raise InvalidInput("the report period must end after it starts")
            people = self.directory.book.resolve(task.account_id, recipients)
        except InvalidInput as error:
            raise InvalidInput(f"{error} ({gone})" if gone else str(error)) from error
        request = RunRequest(
            account_id=task.account_id,
            report_type=spec.kind.value,
            parameters=spec.to_api(),
            recipients=people,
            triggered_by=f"task:{task.id}",
            period_start=start,
            period_end=end,
            now=self.now,
            scheduled_task_id=task.id,
            occurrence=occurrence,
        )
        return request, "; ".join(part for part in (note, gone) if part)


def _grouped(
    advances: list[tuple[ClaimedTask, dict[str, Any]]],
) -> dict[tuple[str, ...], list[tuple[ClaimedTask, dict[str, Any]]]]:
    """The task updates by the columns they set: one executemany for each set of columns."""
    groups: dict[tuple[str, ...], list[tuple[ClaimedTask, dict[str, Any]]]] = {}
    for task, values in advances:
        groups.setdefault(tuple(sorted(values)), []).append((task, values))
    return groups


class _Unfit(Exception):
    """A claimed task that cannot fire, for a reason the scheduler foresaw (and words)."""


@dataclass(frozen=True)
class _Firing:
    """One plan of a claimed task: its run to create (None if none or refused), and why."""

    task_id: int
    plan: FiringPlan
    request: RunRequest | None
    note: str
    refused: str


def _outcome(moment: datetime, plan: FiringPlan, run_id: int | None) -> OccurrenceOutcome:
    if run_id is None or moment in plan.skipped:
        return OccurrenceOutcome.skipped
    if moment == plan.fire:
        return OccurrenceOutcome.fired
    return OccurrenceOutcome.coalesced


def _reason(moment: datetime, plan: FiringPlan, *, note: str, refused: str) -> str:
    if moment in plan.skipped:
        return "missed while no scheduler ran (misfire policy skip)"
    if moment == plan.fire:
        return refused or note
    assert plan.fire is not None
    if refused:
        return f"missed; the run of {plan.fire.isoformat()} that covered it: {refused}"
    return f"missed; covered by the run of {plan.fire.isoformat()}"


# --- helpers ------------------------------------------------------------------------------


def _row(
    session: Session, account_id: int, task_id: int, *, lock: bool = False
) -> ScheduledTaskRow:
    statement = select(ScheduledTaskRow).where(
        ScheduledTaskRow.account_id == account_id, ScheduledTaskRow.id == task_id
    )
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(statement).first()
    if row is None:
        raise NotFound(f"no scheduled task with ID {task_id} in this account")
    return row


@dataclass(frozen=True)
class _Stored:
    """What of a stored row reads: its policy and schedule (None if not), and why not."""

    policy: MisfirePolicy | None
    schedule: ScheduleDetails | None
    unreadable: str | None


def _read(row: ClaimedTask) -> _Stored:
    """The row's policy and schedule as today's checks read them (a row stored by an older
    version or by hand may not read)."""
    policy = next((p for p in MisfirePolicy if p.value == row.misfire_policy), None)
    schedule: ScheduleDetails | None = None
    problems: list[str] = []
    if policy is None:
        known = ", ".join(p.value for p in MisfirePolicy)
        problems.append(f"misfirePolicy: {row.misfire_policy!r} is not one of {known}")
    try:
        schedule = ScheduleDetails.model_validate(row.schedule_details)
    except ValidationError as error:
        problems.append(describe(error, where="scheduleDetails", whole="scheduleDetails"))
    unreadable = f"{UNREADABLE}: {'; '.join(problems)}" if problems else None
    return _Stored(policy, schedule, unreadable)


def _view(row: ScheduledTaskRow) -> TaskView:
    """The row as a view; one that does not read is shown broken, with no next run (the
    scheduler's reason and time kept if it marked it)."""
    stored = _read(row)
    policy, schedule, unreadable = stored.policy, stored.schedule, stored.unreadable
    return TaskView(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        misfire_policy=policy,
        schedule_details=dict(row.schedule_details),
        parameters=dict(row.parameters),
        next_run=None if unreadable else row.next_run,
        last_fired=row.last_fired,
        last_run_time=row.last_run_time,
        created=row.created,
        run_now=row.run_now,
        broken_reason=row.broken_reason or unreadable,
        broken_since=row.broken_since,
        schedule=schedule,
    )


def _sdk_fields(row: ScheduledTaskRow) -> dict[str, Any]:
    """The stored task as ScheduledTask input (no read-only fields)."""
    return {
        "name": row.name,
        "type": "generate-report",
        "enabled": row.enabled,
        "scheduleDetails": row.schedule_details,
        "generateReportTaskParameters": row.parameters,
        "misfirePolicy": row.misfire_policy,
    }


def _next_after(details: ScheduleDetails, now: datetime) -> datetime | None:
    """The schedule's first occurrence after ``now``; one the calendar cannot hold is refused."""
    try:
        return next_occurrence(details, after=now)
    except (OverflowError, ValueError) as error:
        raise InvalidInput(
            f"scheduleDetails: its occurrences cannot be computed: {error}"
        ) from None


def _stored_details(row: ScheduledTaskRow) -> ScheduleDetails | None:
    """The stored schedule, or None if it no longer parses (a zone tzdata dropped)."""
    try:
        return ScheduleDetails.model_validate(row.schedule_details)
    except ValidationError:
        return None


def _first_after(task: ScheduledTask, now: datetime) -> datetime | None:
    """The first occurrence after ``now``; a schedule that never fires again is refused."""
    found = _next_after(task.schedule_details, now)
    if found is None and not task.run_now:
        raise InvalidInput(
            "scheduleDetails: the schedule has no occurrence after now (its start, end or"
            " recurrenceCount is in the past); set runNow to run it once"
        )
    return found


def _close_gap(session: Session, row: ScheduledTaskRow, *, now: datetime, reason: str) -> None:
    """Record the occurrences of the stored schedule up to ``now`` that never fired (none
    when the stored schedule cannot be read or computed: a broken task's may not)."""
    details = _stored_details(row)
    after = row.last_fired or row.created
    try:
        missed = list(occurrences(details, after=after, until=now)) if details else []
    except (OverflowError, ValueError):
        missed = []
    session.add_all(
        TaskOccurrence(
            task_id=row.id,
            occurrence=moment,
            outcome=OccurrenceOutcome.skipped.value,
            reason=f"not fired: {reason}",
            recorded=now,
        )
        for moment in missed
    )
    row.last_fired = max(after, now)


def _check_name_free(session: Session, account_id: int, name: str) -> None:
    taken = select(ScheduledTaskRow.id).where(
        ScheduledTaskRow.account_id == account_id, ScheduledTaskRow.name == name
    )
    if session.scalars(taken).first() is not None:
        raise InvalidInput(f"name: a scheduled task named {name!r} already exists")


def _check_report(
    session: Session,
    account_id: int,
    params: GenerateReportTaskParameters,
    *,
    folder: bool = True,
) -> None:
    """What the task's JSON cannot say by itself: whether its recipients (and, with
    ``folder``, the smart folder it names) exist."""
    _, gone = _Directory(session).live_recipients(account_id, params.recipients)
    if gone:
        raise InvalidInput(f"recipients: {gone} in this account")
    if folder:
        require_folder(
            session, account_id, params.report_filter, where="generateReportTaskParameters."
        )
