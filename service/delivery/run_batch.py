"""Creating many runs in one go: what a scheduler pass fires at the top of the hour.

``service.delivery.ledger.create_run`` makes one run through the ORM: a read of its recipients
and an INSERT for the run and one for its deliveries, three round trips and an ORM object per
delivery. A scheduler pass firing a hundred tasks paid that a hundred times (about 1.5 ms a
run; ``ops/bench/scheduler.py``). Here the recipients of every account come from one read each
(:class:`RecipientBook`), and the runs and then all their deliveries are each one bulk INSERT
(``storage.bulk``: on PostgreSQL one short statement of arrays), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.delivery.ledger import DeliveryState, Recipients
from service.errors import InvalidInput
from storage.bulk import insert_rows
from storage.models import Contact, Delivery, Membership, ReportRun, User


@dataclass(frozen=True)
class Recipient:
    """Who a delivery is for, as the run records it."""

    name: str
    address: str
    contact_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class RunRequest:
    """A run to create, its recipients resolved (checked by ``service.delivery.request``)."""

    account_id: int
    report_type: str
    parameters: dict[str, Any]
    recipients: Sequence[Recipient]
    triggered_by: str
    period_start: datetime
    period_end: datetime
    now: datetime
    scheduled_task_id: int | None = None
    occurrence: datetime | None = None


class RecipientBook:
    """The contacts and member users of each account, read once per account."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._contacts: dict[int, dict[int, Recipient]] = {}
        self._users: dict[int, dict[int, tuple[Recipient, bool]]] = {}

    def contacts(self, account_id: int) -> dict[int, Recipient]:
        """The account's contacts by id, in id order."""
        if account_id not in self._contacts:
            rows = self.session.execute(
                select(Contact.id, Contact.name, Contact.email_address)
                .where(Contact.account_id == account_id)
                .order_by(Contact.id)
            )
            self._contacts[account_id] = {
                row.id: Recipient(row.name, row.email_address, contact_id=row.id) for row in rows
            }
        return self._contacts[account_id]

    def users(self, account_id: int) -> dict[int, tuple[Recipient, bool]]:
        """The account's member users by id, in id order, each with whether it is active."""
        if account_id not in self._users:
            rows = self.session.execute(
                select(User.id, User.name, User.email_address, Membership.active)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.account_id == account_id)
                .order_by(User.id)
            )
            self._users[account_id] = {
                row.id: (Recipient(row.name, row.email_address, user_id=row.id), row.active)
                for row in rows
            }
        return self._users[account_id]

    def resolve(self, account_id: int, wanted: Recipients) -> list[Recipient]:
        """The recipients of a run, as ``create_run`` picks them: contacts in id order, then
        active users; a user who is also a contact (the same address) once, as the user; an id
        that is not the account's, an inactive user named, or nobody at all, is refused."""
        contacts, members = self.contacts(account_id), self.users(account_id)
        if wanted.all_users:
            users = [person for person, active in members.values() if active]
        else:
            named = sorted(set(wanted.user_ids))
            missing = [i for i in named if i not in members]
            if missing:
                raise InvalidInput(f"administratorIDs: no user {missing} in this account")
            inactive = [i for i in named if not members[i][1]]
            if inactive:
                raise InvalidInput(
                    f"administratorIDs: user {inactive} is not active in this account"
                )
            users = [members[i][0] for i in named]
        if wanted.all_contacts:
            chosen = list(contacts.values())
        else:
            missing = sorted(set(wanted.contact_ids) - contacts.keys())
            if missing:
                raise InvalidInput(f"contactIDs: no contact {missing} in this account")
            chosen = [contacts[i] for i in sorted(set(wanted.contact_ids))]
        addresses = {user.address.lower() for user in users}
        chosen = [c for c in chosen if c.address.lower() not in addresses] + users
        if not chosen:
            raise InvalidInput("the report has no recipients")
        return chosen


def create_runs(session: Session, requests: Sequence[RunRequest]) -> list[int]:
    """Create the runs and one pending delivery per recipient; their ids, in order.

    In the caller's transaction; the caller commits, then queues ``start_run`` for each.
    """
    if not requests:
        return []
    for request in requests:
        if request.period_end <= request.period_start:
            raise InvalidInput("the report period must end after it starts")
    runs = [
        {
            "account_id": r.account_id,
            "report_type": r.report_type,
            "parameters": r.parameters,
            "triggered_by": r.triggered_by,
            "scheduled_task_id": r.scheduled_task_id,
            "occurrence": r.occurrence,
            "period_start": r.period_start,
            "period_end": r.period_end,
            "created": r.now,
            "total": len(r.recipients),
        }
        for r in requests
    ]
    run_ids = insert_rows(session, ReportRun, runs, returning_ids=True)
    deliveries = [
        {
            "account_id": r.account_id,
            "run_id": run_id,
            "contact_id": person.contact_id,
            "user_id": person.user_id,
            "recipient_name": person.name,
            "recipient_address": person.address,
            "state": DeliveryState.pending.value,
            "created": r.now,
            "updated": r.now,
        }
        for r, run_id in zip(requests, run_ids, strict=True)
        for person in r.recipients
    ]
    insert_rows(session, Delivery, deliveries)
    return run_ids
