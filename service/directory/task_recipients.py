"""A deleted recipient leaves the scheduled tasks that named it, and the account is told.

A task names its recipients by ID (``contactIDs``, ``administratorIDs`` in its stored
``generateReportTaskParameters.recipients``). When a contact is deleted, or a user removed from
the account, each task of the account that named them forgets them, so that the ID can never
mail anyone else (IDs are not reused either: migration 0016), and an audit event (8405,
Scheduled Task Recipients Removed) in the account says which task lost whom. Tasks have no
owner of their own: the account's audit trail, which the System Event report shows, is where
its administrators learn of it.

A task left with nobody to send to is disabled, with the reason in the same event, rather than
left to fire runs that mail nobody; enabling it again needs recipients (the task's own check:
"recipients name nobody").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from storage.tasks import ScheduledTaskRow

#: Where each kind of recipient is listed in a task's ``recipients``.
CONTACTS, USERS = "contactIDs", "administratorIDs"


@dataclass(frozen=True)
class TaskChange:
    """A task that lost a recipient; ``disabled`` when it had nobody left."""

    task_id: int
    name: str
    disabled: bool


def forget_recipient(
    session: Session,
    *,
    account_id: int,
    field: str,
    recipient_id: int,
    who: str,
    actor: str,
    origin: str,
    now: datetime | None = None,
) -> list[TaskChange]:
    """Take ``recipient_id`` out of ``field`` (:data:`CONTACTS` or :data:`USERS`) of every task
    of the account that names it, in the caller's transaction; an audit event per task."""
    changes: list[TaskChange] = []
    rows = session.scalars(
        select(ScheduledTaskRow)
        .where(ScheduledTaskRow.account_id == account_id)
        .order_by(ScheduledTaskRow.id)
    )
    for row in rows:
        recipients = _recipients(row.parameters)
        named = recipients.get(field)
        if not isinstance(named, list) or recipient_id not in named:
            continue
        left = {**recipients, field: [i for i in named if i != recipient_id]}
        if not left[field]:
            del left[field]
        row.parameters = {**row.parameters, "recipients": left}
        disabled = row.enabled and not _anybody(left)
        if disabled:
            row.enabled = False
            row.run_now = False
        changes.append(TaskChange(task_id=row.id, name=row.name, disabled=disabled))
        audit.record(
            session,
            account_id=account_id,
            code=audit.AuditCode.task_recipient_removed,
            description=_describe(row, field, who, disabled=disabled),
            actor=actor,
            origin=origin,
            now=now,
        )
    session.flush()
    return changes


def forget_user_everywhere(
    session: Session,
    *,
    account_ids: Iterable[int],
    user_id: int,
    who: str,
    actor: str,
    origin: str,
    now: datetime | None = None,
) -> None:
    """:func:`forget_recipient` for a user deleted from every account they belonged to."""
    for account_id in sorted(set(account_ids)):
        forget_recipient(
            session,
            account_id=account_id,
            field=USERS,
            recipient_id=user_id,
            who=who,
            actor=actor,
            origin=origin,
            now=now,
        )


def _recipients(parameters: Any) -> dict[str, Any]:
    found = parameters.get("recipients") if isinstance(parameters, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def _anybody(recipients: dict[str, Any]) -> bool:
    return bool(
        recipients.get("allAdministratorsAndContacts")
        or recipients.get(CONTACTS)
        or recipients.get(USERS)
    )


def _describe(row: ScheduledTaskRow, field: str, who: str, *, disabled: bool) -> str:
    kind = "contact" if field == CONTACTS else "administrator"
    text = f"scheduled task {row.name!r} (ID {row.id}): {kind} {who} removed from its recipients"
    if disabled:
        text += "; the task had no recipient left and was disabled"
    return text
