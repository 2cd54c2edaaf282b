"""Scheduled tasks changed by a principal: ``scheduledTaskRights`` gates, recipients of the
caller's own account, an audit event per change, and run-now.

The API (``service.api.scheduledtasks``) and the console both call these functions, with the
SDK's ``ScheduledTask`` JSON (:class:`ScheduledTaskBody`).

Reading needs ``scheduledTaskRights`` view-only; creating, modifying, deleting and running need
full. The task itself is stored, checked and fired by :mod:`service.scheduling.scheduler`;
this module adds the rules on top: recipients named in another account are a 400
naming the field (``contactIDs`` or ``administratorIDs``), times are kept within what a
schedule can compute with, and each change is a system event (8400-8403).

Run now (``runNow: true`` on create or modify) is the scheduler's: ``request_run_now`` sets
the flag and a ``tick`` limited to that task fires it in the same transaction, exactly as
``reportd scheduler`` would (nothing of other tasks or accounts). The caller commits, then hands
the returned runs to the workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.delivery.request import check_filter
from service.delivery.run_admin import check_named_recipients
from service.directory import audit
from service.directory.authz import can_read_tasks, can_write_tasks
from service.directory.principal import CHANGE
from service.directory.principal import Principal as Caller
from service.errors import InvalidInput
from service.fields import MAX_ID, MAX_INTERVAL, MAX_PERIOD_COUNT, MAX_RECURRENCE_COUNT, Name
from service.reports.spec import describe
from service.scheduling.scheduler import (
    OccurrenceView,
    TaskPage,
    TaskView,
    create_task,
    delete_task,
    edit_task,
    get_task,
    list_tasks,
    request_run_now,
    task_history,
    task_page,
    tick,
)
from service.scheduling.task_schema import (
    GenerateReportTaskParameters,
    MisfirePolicy,
    ScheduleDetails,
    TaskType,
    to_epoch_millis,
)
from storage.models import Contact, Membership
from storage.tasks import ScheduledTaskRow

#: Latest time a schedule may name: a year before datetime's end, so the occurrences after it
#: can still be computed.
MAX_MILLIS = to_epoch_millis(datetime(9998, 12, 31, tzinfo=UTC))
#: Longest report window, in its units (as for one-off reports): ``service.fields``' rule.
MAX_TIME_RANGE = MAX_PERIOD_COUNT
#: Fields the server sets; accepted and ignored, so a described task can be sent back.
READ_ONLY = frozenset({"ID", "lastRunTime", "nextRunTime"})
#: Where the recipients live in the SDK's JSON, for messages.
RECIPIENTS = "generateReportTaskParameters.recipients"


class ScheduledTaskBody(BaseModel):
    """The SDK's ``ScheduledTask`` (type generate-report) as a request body.

    On create, ``name``, ``scheduleDetails`` and ``generateReportTaskParameters`` are required;
    on modify, each field given replaces the stored one (a given object replaces it whole).
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    type: TaskType | None = Field(None, description="Only generate-report is supported.")
    enabled: bool | None = None
    runNow: bool | None = Field(None, description="true: run the task now (once).")
    scheduleDetails: ScheduleDetails | None = None
    generateReportTaskParameters: GenerateReportTaskParameters | None = None
    misfirePolicy: MisfirePolicy | None = Field(
        None, description="reportd: what to do with occurrences missed while nothing ran."
    )
    lastRunTime: int | None = Field(None, description="Read-only; ignored.")
    nextRunTime: int | None = Field(None, description="Read-only; ignored.")
    ID: int | None = Field(None, description="Read-only; ignored.")

    def task_fields(self) -> dict[str, Any]:
        """The given fields (but runNow and the read-only ones) as the SDK's JSON."""
        data: dict[str, Any] = {}
        for name in sorted(self.model_fields_set - READ_ONLY - {"runNow"}):
            value = getattr(self, name)
            if value is None:
                continue
            data[name] = _json(value)
        return data

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ScheduledTaskBody:
        """The body of the console's JSON, or ``InvalidInput`` naming each field it refuses
        (what FastAPI does for the API, for callers that are not FastAPI's)."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidInput(describe(error, whole="task")) from None

    @property
    def run_now(self) -> bool:
        return bool(self.runNow)

    def with_run_now(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with ``runNow: true`` when asked: a schedule with no occurrence left is
        then accepted, as the scheduler does, since the task runs once anyway."""
        return {**data, "runNow": True} if self.run_now else data


def _json(value: Any) -> Any:
    """A nested model as the SDK's JSON (no unset fields, no nulls); an enum as its value."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
    return getattr(value, "value", value)


@dataclass
class Outcome:
    """A task after a change, and the runs to hand to the workers once committed."""

    task: dict[str, Any]
    run_ids: list[int] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    can_read_tasks(caller)
    return [t.to_api() for t in list_tasks(session, account_id=caller.account_id)]


def get_for(session: Session, caller: Caller, task_id: int) -> dict[str, Any]:
    can_read_tasks(caller)
    return get_task(session, account_id=caller.account_id, task_id=task_id).to_api()


def page_for(
    session: Session, caller: Caller, *, search: str = "", offset: int = 0, limit: int = 25
) -> TaskPage:
    """One page of the account's tasks by name (those whose name contains ``search``)."""
    can_read_tasks(caller)
    return task_page(
        session, account_id=caller.account_id, search=search, offset=offset, limit=limit
    )


def names_for(
    session: Session, caller: Caller, *, limit: int = 500, task_id: int | None = None
) -> list[tuple[int, str]]:
    """(ID, name) of the account's tasks by name, at most ``limit`` (or the one ``task_id``)."""
    can_read_tasks(caller)
    statement = select(ScheduledTaskRow.id, ScheduledTaskRow.name).where(
        ScheduledTaskRow.account_id == caller.account_id
    )
    if task_id is not None:
        statement = statement.where(ScheduledTaskRow.id == task_id)
    rows = session.execute(statement.order_by(ScheduledTaskRow.name).limit(limit))
    return [(row.id, row.name) for row in rows]


def view_for(session: Session, caller: Caller, task_id: int) -> TaskView:
    """One task of the caller's account, as stored."""
    can_read_tasks(caller)
    return get_task(session, account_id=caller.account_id, task_id=task_id)


def history_for(
    session: Session, caller: Caller, task_id: int, *, limit: int = 50
) -> list[OccurrenceView]:
    """The task's newest recorded occurrences (fired, coalesced, skipped), newest first."""
    can_read_tasks(caller)
    return task_history(session, account_id=caller.account_id, task_id=task_id, limit=limit)


def require_change(caller: Caller) -> None:
    """Forbidden unless the caller may create, change, delete and run tasks (form pages)."""
    can_write_tasks(caller)


def may_change(caller: Caller) -> bool:
    """Whether the caller may create, change, delete and run tasks (to show the buttons)."""
    return caller.level("scheduledTaskRights") >= CHANGE


# --- changing -----------------------------------------------------------------------------


def create_for(
    session: Session, caller: Caller, body: ScheduledTaskBody, *, now: datetime
) -> Outcome:
    can_write_tasks(caller)
    data = body.task_fields()
    for name in ("name", "scheduleDetails", "generateReportTaskParameters"):
        if name not in data:
            raise InvalidInput(f"{name}: required")
    _check_task(session, caller, data)
    with _in_range():
        task = create_task(
            session, account_id=caller.account_id, task=body.with_run_now(data), now=now
        )
    _check_filter(session, caller, task)
    _audit(
        session,
        caller,
        audit.AuditCode.task_created,
        audit.describe_values(_subject(task), _fields(task)),
        now,
    )
    run_ids = _run_now(session, caller, task, now) if body.run_now else []
    return Outcome(get_for(session, caller, task.id), run_ids)


def modify_for(
    session: Session, caller: Caller, task_id: int, body: ScheduledTaskBody, *, now: datetime
) -> Outcome:
    can_write_tasks(caller)
    before = get_task(session, account_id=caller.account_id, task_id=task_id)
    changes = body.task_fields()
    current = before
    if changes:
        _check_task(session, caller, changes)
        with _in_range():
            current = edit_task(
                session,
                account_id=caller.account_id,
                task_id=task_id,
                changes=body.with_run_now(changes),
                now=now,
            )
        if "generateReportTaskParameters" in changes:
            _check_filter(session, caller, current)
        _audit(
            session,
            caller,
            audit.AuditCode.task_updated,
            audit.describe_changes(_subject(current), _fields(before), _fields(current)),
            now,
        )
    run_ids = _run_now(session, caller, current, now) if body.run_now else []
    return Outcome(get_for(session, caller, task_id), run_ids)


def delete_for(session: Session, caller: Caller, task_id: int, *, now: datetime) -> None:
    can_write_tasks(caller)
    before = get_task(session, account_id=caller.account_id, task_id=task_id)
    delete_task(session, account_id=caller.account_id, task_id=task_id)
    _audit(session, caller, audit.AuditCode.task_deleted, _subject(before), now)


def set_enabled_for(
    session: Session, caller: Caller, task_id: int, enabled: bool, *, now: datetime
) -> Outcome:
    """Enable or disable a task (enabling starts it afresh from ``now``)."""
    return modify_for(session, caller, task_id, ScheduledTaskBody(enabled=enabled), now=now)


def run_now_for(session: Session, caller: Caller, task_id: int, *, now: datetime) -> Outcome:
    """Run the task once now, whatever its schedule says; the runs to start after the commit."""
    return modify_for(session, caller, task_id, ScheduledTaskBody(runNow=True), now=now)


def _run_now(session: Session, caller: Caller, task: TaskView, now: datetime) -> list[int]:
    """Flag the task and fire it with a tick, as the scheduler would; the runs it created."""
    request_run_now(session, account_id=caller.account_id, task_id=task.id, now=now)
    _audit(session, caller, audit.AuditCode.task_run_now, _subject(task), now)
    with _in_range():
        fired = tick(session, now=now, only_task=task.id)
    return [run.run_id for run in fired]


# --- checks -------------------------------------------------------------------------------


def _check_task(session: Session, caller: Caller, data: Mapping[str, Any]) -> None:
    """Recipients of the caller's account, and numbers a schedule can compute with."""
    _check_schedule(data.get("scheduleDetails"))
    params = data.get("generateReportTaskParameters")
    if not isinstance(params, Mapping):
        return
    window = params.get("timeRange")
    if isinstance(window, Mapping) and int(window.get("value", 1)) > MAX_TIME_RANGE:
        raise InvalidInput(
            f"generateReportTaskParameters.timeRange.value: at most {MAX_TIME_RANGE}"
        )
    recipients = params.get("recipients")
    if isinstance(recipients, Mapping):
        check_named_recipients(
            caller,
            contact_ids=_ids(recipients.get("contactIDs")),
            user_ids=_ids(recipients.get("administratorIDs")),
            where=RECIPIENTS,
        )
        _check_recipients(session, caller.account_id, recipients)


def _check_filter(session: Session, caller: Caller, task: TaskView) -> None:
    """The task's computer filter names something the caller may see (its reports would
    otherwise be empty)."""
    spec = GenerateReportTaskParameters.model_validate(task.parameters).spec
    check_filter(session, caller.scope, spec)


def _check_schedule(details: Any) -> None:
    for where, name, value in _numbers("scheduleDetails", details):
        if name.endswith("Time") and value > MAX_MILLIS:
            raise InvalidInput(f"{where}: {value} is after the year 9998 (epoch milliseconds)")
        if name in ("interval", "customInterval") and value > MAX_INTERVAL:
            raise InvalidInput(f"{where}: at most {MAX_INTERVAL}")
        if name == "recurrenceCount" and value > MAX_RECURRENCE_COUNT:
            raise InvalidInput(f"{where}: at most {MAX_RECURRENCE_COUNT}")


def _check_recipients(session: Session, account_id: int, recipients: Mapping[str, Any]) -> None:
    contact_ids = set(recipients.get("contactIDs") or ())
    if contact_ids:
        known = set(
            session.scalars(
                select(Contact.id).where(
                    Contact.account_id == account_id, Contact.id.in_(_storable(contact_ids))
                )
            )
        )
        if contact_ids - known:
            raise InvalidInput(
                f"{RECIPIENTS}.contactIDs: no contact with ID {sorted(contact_ids - known)}"
                " in this account"
            )
    user_ids = set(recipients.get("administratorIDs") or ())
    if user_ids:
        members = set(
            session.scalars(
                select(Membership.user_id).where(
                    Membership.account_id == account_id,
                    Membership.user_id.in_(_storable(user_ids)),
                )
            )
        )
        if user_ids - members:
            raise InvalidInput(
                f"{RECIPIENTS}.administratorIDs: no administrator with ID"
                f" {sorted(user_ids - members)} in this account"
            )


def _ids(value: Any) -> list[int]:
    return [i for i in value if isinstance(i, int)] if isinstance(value, list | tuple) else []


def _storable(ids: set[int]) -> list[int]:
    """The ids a table can hold (the others exist nowhere)."""
    return sorted(i for i in ids if 1 <= i <= MAX_ID)


def _numbers(where: str, value: Any) -> Iterator[tuple[str, str, int]]:
    """Every whole number inside ``value``: (path, field name, number)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            path = f"{where}.{key}"
            if isinstance(inner, int) and not isinstance(inner, bool):
                yield path, str(key), inner
            else:
                yield from _numbers(path, inner)


@contextmanager
def _in_range() -> Iterator[None]:
    """Turns a date computation beyond datetime's range into a 400 about the schedule."""
    try:
        yield
    except OverflowError:
        raise InvalidInput(
            "scheduleDetails: the schedule reaches beyond the dates reportd can compute"
        ) from None


# --- audit --------------------------------------------------------------------------------


def _audit(
    session: Session, caller: Caller, code: audit.AuditCode, description: str, now: datetime
) -> None:
    audit.record(
        session,
        account_id=caller.account_id,
        code=code,
        description=description,
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )


def _subject(task: TaskView) -> str:
    return f"scheduled task {task.name!r} (ID {task.id})"


def _fields(task: TaskView) -> dict[str, Any]:
    """What the trail shows of a task: its settings, not its bookkeeping."""
    return {
        "name": task.name,
        "enabled": task.enabled,
        "misfirePolicy": task.misfire_policy.value if task.misfire_policy else "",
        "scheduleDetails": json.dumps(task.schedule_details, sort_keys=True),
        "generateReportTaskParameters": json.dumps(task.parameters, sort_keys=True),
    }
