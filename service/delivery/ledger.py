"""Report runs and the delivery ledger: creation, claims, state changes, reconciliation.

The database is the truth; queue messages only carry delivery ids. A delivery moves

::

    pending ──claim──> rendering ──> sending ──> sent
       ^                  │  │  │       │
       └── retry later ───┘  │  │       ├──> pending (4xx / unknown outcome: retry later)
                             │  └───────┴──> failed  (permanent, or out of attempts)
                             └─────────────> skipped (the report held nothing and the run
                                                      asked to leave such out: not mailed)

and a claim whose lease lapsed (a worker died) may be taken over from rendering or sending;
taking over from sending marks the delivery a possible duplicate. Every change is a
conditional UPDATE on the state (and the owner's claim token), so two workers holding the
same message can never both send; each change also writes a ``DeliveryTransition`` row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from storage.models import (
    Contact,
    Delivery,
    DeliveryTransition,
    Membership,
    RenderedPdf,
    ReportRun,
    User,
)


class DeliveryState(StrEnum):
    pending = "pending"
    rendering = "rendering"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


FINAL_STATES = frozenset({DeliveryState.sent, DeliveryState.failed, DeliveryState.skipped})
#: States whose owner may have died; a lapsed lease lets another worker take over.
LEASED_STATES = (DeliveryState.rendering, DeliveryState.sending)


@dataclass(frozen=True)
class Recipients:
    """Who a run goes to, as the console's ``Recipients`` object says it."""

    all_contacts: bool = False
    contact_ids: Sequence[int] = ()
    user_ids: Sequence[int] = ()
    #: Every active user of the account (``allAdministratorsAndContacts`` sets both "all").
    all_users: bool = False


@dataclass(frozen=True)
class NewRun:
    run_id: int
    delivery_ids: list[int] = field(default_factory=list)


def create_run(
    session: Session,
    *,
    account_id: int,
    report_type: str,
    parameters: dict[str, Any],
    recipients: Recipients,
    triggered_by: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    scheduled_task_id: int | None = None,
    occurrence: datetime | None = None,
) -> NewRun:
    """A run and one pending delivery per recipient, in the caller's transaction.

    The caller enqueues the delivery ids only after committing.
    """
    if period_end <= period_start:
        raise InvalidInput("the report period must end after it starts")
    users = _users(session, account_id, recipients)
    # A user who is also a contact with the same address gets one mail: the user's, scoped
    # by their role (what they could see by signing in).
    user_addresses = {u.email_address.lower() for u in users}
    contacts = [
        c
        for c in _contacts(session, account_id, recipients)
        if c.email_address.lower() not in user_addresses
    ]
    if not contacts and not users:
        raise InvalidInput("the report has no recipients")
    run = ReportRun(
        account_id=account_id,
        report_type=report_type,
        parameters=parameters,
        triggered_by=triggered_by,
        scheduled_task_id=scheduled_task_id,
        occurrence=occurrence,
        period_start=period_start,
        period_end=period_end,
        created=now,
        total=len(contacts) + len(users),
    )
    session.add(run)
    session.flush()
    deliveries = [
        Delivery(
            account_id=account_id,
            run_id=run.id,
            contact_id=c.id,
            recipient_name=c.name,
            recipient_address=c.email_address,
            created=now,
            updated=now,
        )
        for c in contacts
    ] + [
        Delivery(
            account_id=account_id,
            run_id=run.id,
            user_id=u.id,
            recipient_name=u.name,
            recipient_address=u.email_address,
            created=now,
            updated=now,
        )
        for u in users
    ]
    session.add_all(deliveries)
    session.flush()
    return NewRun(run_id=run.id, delivery_ids=[d.id for d in deliveries])


def _contacts(session: Session, account_id: int, recipients: Recipients) -> list[Contact]:
    statement = select(Contact).where(Contact.account_id == account_id).order_by(Contact.id)
    if recipients.all_contacts:
        return list(session.scalars(statement))
    wanted = set(recipients.contact_ids)
    found = list(session.scalars(statement.where(Contact.id.in_(sorted(wanted)))))
    missing = wanted - {c.id for c in found}
    if missing:
        raise InvalidInput(f"contactIDs: no contact {sorted(missing)} in this account")
    return found


def _users(session: Session, account_id: int, recipients: Recipients) -> list[User]:
    """The users named (or all), each an active member of the account; others are refused."""
    if not recipients.user_ids and not recipients.all_users:
        return []
    statement = (
        select(User, Membership.active)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id)
        .order_by(User.id)
    )
    if recipients.all_users:
        return [user for user, active in session.execute(statement) if active]
    wanted = set(recipients.user_ids)
    found = session.execute(statement.where(User.id.in_(sorted(wanted)))).all()
    missing = wanted - {user.id for user, _ in found}
    if missing:
        raise InvalidInput(f"administratorIDs: no user {sorted(missing)} in this account")
    inactive = sorted(user.id for user, active in found if not active)
    if inactive:
        raise InvalidInput(f"administratorIDs: user {inactive} is not active in this account")
    return [user for user, _ in found]


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a delivery: only the holder of ``token`` may move it on."""

    delivery_id: int
    token: str
    attempt: int
    possible_duplicate: bool
    #: How long the delivery waited since it was created or last changed.
    waited: timedelta = timedelta(0)
    #: The lease, renewed when the delivery moves to sending.
    lease: timedelta = timedelta(minutes=10)
    #: The run the delivery belongs to (None when the claim was made up in a test).
    run_id: int | None = None


# The ledger's statements are built once, with bound parameters: a delivery moves three
# times, and building and hashing a statement each time cost more than running it.
_deliveries = cast(Table, Delivery.__table__)
_transitions = cast(Table, DeliveryTransition.__table__)
_runs = cast(Table, ReportRun.__table__)
_pdfs = cast(Table, RenderedPdf.__table__)

_CLAIMABLE = select(_deliveries.c.state, _deliveries.c.updated, _deliveries.c.lease_until).where(
    _deliveries.c.id == bindparam("delivery_id")
)
#: What a claim writes: rendering under a fresh token and lease, one more attempt, and a
#: possible duplicate when it takes over a delivery whose mail may have gone out.
_CLAIM_VALUES: dict[str, Any] = {
    "state": DeliveryState.rendering.value,
    "claim_token": bindparam("token"),
    "lease_until": bindparam("lease_end"),
    "attempts": _deliveries.c.attempts + 1,
    "possible_duplicate": case(
        (_deliveries.c.state == DeliveryState.sending.value, True),
        else_=_deliveries.c.possible_duplicate,
    ),
    "updated": bindparam("now"),
}
_CLAIM_UPDATE = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("delivery_id"),
        _deliveries.c.state == bindparam("seen_state"),
        or_(
            _deliveries.c.state == DeliveryState.pending.value,
            _deliveries.c.lease_until < bindparam("now"),
        ),
    )
    .values(_CLAIM_VALUES)
)
_CLAIM = _CLAIM_UPDATE.returning(
    _deliveries.c.attempts, _deliveries.c.possible_duplicate, _deliveries.c.run_id
)
_HELD_STATE = select(_deliveries.c.state).where(
    _deliveries.c.id == bindparam("delivery_id"),
    _deliveries.c.claim_token == bindparam("token"),
)
_LOG = insert(_transitions).values(
    delivery_id=bindparam("delivery"),
    from_state=bindparam("before"),
    to_state=bindparam("after"),
    at=bindparam("now"),
    note=bindparam("text"),
)


def _logged(changed: Any) -> Any:
    """The transition INSERT for the rows a data-modifying CTE ``changed`` returns: on
    PostgreSQL a move and its record are one statement, one round trip instead of two."""
    return insert(_transitions).from_select(
        ["delivery_id", "from_state", "to_state", "at", "note"],
        select(
            changed.c.id,
            bindparam("before", type_=_transitions.c.from_state.type),
            bindparam("after", type_=_transitions.c.to_state.type),
            bindparam("logged_at", type_=_transitions.c.at.type),
            bindparam("text", type_=_transitions.c.note.type),
        ),
    )


#: What a claim's record says, by the state it was taken from.
CLAIMED_NOTE = "claimed"
TAKEN_OVER_NOTE = "taken over after the lease lapsed"
#: The delivery as it was when the statement began (its own snapshot), to claim it from.
_SEEN = (
    select(_deliveries.c.id, _deliveries.c.state, _deliveries.c.updated)
    .where(_deliveries.c.id == bindparam("delivery_id"))
    .subquery("seen")
)
#: The look and the claim as one UPDATE (PostgreSQL): ``seen`` is the row before the claim,
#: which the row locked by the UPDATE must still match (a claim that got there first changed
#: its state or renewed its lease, so this one changes nothing), as the two statements do.
_SEEN_CLAIMED = (
    update(_deliveries)
    .where(
        _deliveries.c.id == _SEEN.c.id,
        _deliveries.c.state == _SEEN.c.state,
        or_(
            _deliveries.c.state == DeliveryState.pending.value,
            and_(
                or_(*(_deliveries.c.state == s.value for s in LEASED_STATES)),
                _deliveries.c.lease_until < bindparam("now"),
            ),
        ),
    )
    .values(_CLAIM_VALUES)
    .returning(
        _deliveries.c.id,
        _deliveries.c.attempts,
        _deliveries.c.possible_duplicate,
        _deliveries.c.run_id,
        _SEEN.c.state.label("seen_state"),
        _SEEN.c.updated.label("seen_updated"),
    )
    .cte("claimed")
)
_SEEN_CLAIMED_LOGGED = insert(_transitions).from_select(
    ["delivery_id", "from_state", "to_state", "at", "note"],
    select(
        _SEEN_CLAIMED.c.id,
        _SEEN_CLAIMED.c.seen_state,
        literal(DeliveryState.rendering.value, _transitions.c.to_state.type),
        bindparam("now", type_=_transitions.c.at.type),
        case(
            (_SEEN_CLAIMED.c.seen_state == DeliveryState.pending.value, CLAIMED_NOTE),
            else_=TAKEN_OVER_NOTE,
        ),
    ),
)
#: Look, claim and record in one statement and one round trip, for PostgreSQL.
_LOOK_CLAIM_AND_LOG = select(
    _SEEN_CLAIMED.c.attempts,
    _SEEN_CLAIMED.c.possible_duplicate,
    _SEEN_CLAIMED.c.run_id,
    _SEEN_CLAIMED.c.seen_state,
    _SEEN_CLAIMED.c.seen_updated,
).add_cte(_SEEN_CLAIMED_LOGGED.cte("logged"))


def _one_statement_moves(session: Session) -> bool:
    """Whether the database takes a move and its record as one statement (PostgreSQL's
    data-modifying CTEs; SQLite has none)."""
    return session.get_bind().dialect.name == "postgresql"


def claim(session: Session, delivery_id: int, *, now: datetime, lease: timedelta) -> Claim | None:
    """Take a pending delivery, or one whose owner's lease lapsed; None if it is not ours.

    On PostgreSQL the look, the claim and its record are one statement (one round trip of
    every delivery); elsewhere a look, then an UPDATE that checks again what it looked at.
    """
    token = uuid.uuid4().hex
    if _one_statement_moves(session):
        params = {"delivery_id": delivery_id, "now": now, "token": token, "lease_end": now + lease}
        row = session.execute(_LOOK_CLAIM_AND_LOG, params).first()
        if row is None:  # not claimable, or another worker got there first
            return None
        return Claim(
            delivery_id=delivery_id,
            token=token,
            attempt=row.attempts,
            possible_duplicate=row.possible_duplicate,
            waited=now - row.seen_updated,
            lease=lease,
            run_id=row.run_id,
        )
    seen = session.execute(_CLAIMABLE, {"delivery_id": delivery_id}).first()
    if seen is None:
        return None
    state = DeliveryState(seen.state)
    if state is not DeliveryState.pending and not (
        state in LEASED_STATES and seen.lease_until is not None and seen.lease_until < now
    ):
        return None
    note = CLAIMED_NOTE if state is DeliveryState.pending else TAKEN_OVER_NOTE
    params = {
        "delivery_id": delivery_id,
        "seen_state": state.value,
        "now": now,
        "token": token,
        "lease_end": now + lease,
    }
    taken = session.execute(_CLAIM, params).first()
    if taken is not None:
        _log(session, delivery_id, state, DeliveryState.rendering, now, note)
    if taken is None:  # another worker got there between the two statements
        return None
    return Claim(
        delivery_id=delivery_id,
        token=token,
        attempt=taken.attempts,
        possible_duplicate=taken.possible_duplicate or state is DeliveryState.sending,
        waited=now - seen.updated,
        lease=lease,
        run_id=taken.run_id,
    )


def move(
    session: Session,
    held: Claim,
    *,
    to: DeliveryState,
    now: datetime,
    note: str = "",
    held_in: DeliveryState | None = None,
    **values: Any,
) -> bool:
    """Move a claimed delivery on; False if the claim was lost (someone else took over).

    ``held_in`` is the state the holder last moved the delivery to, when it knows it (it
    saves reading it back); the move still happens only if the delivery is in that state.
    """
    if held_in is None:
        current = session.scalar(
            _HELD_STATE, {"delivery_id": held.delivery_id, "token": held.token}
        )
        if current is None:
            return False
        held_in = DeliveryState(current)
    if held_in not in LEASED_STATES:
        return False
    # Entering sending renews the lease, so the send (bounded by the SMTP time-out, which
    # the settings keep below the lease) finishes before anyone may take the delivery over;
    # a lease that lapses while rendering is harmless: this token can then no longer send.
    release = to is not DeliveryState.sending
    changes = {"state": to.value, "updated": now, **values}
    changes.update(
        {"claim_token": None, "lease_until": None} if release else {"lease_until": now + held.lease}
    )
    columns = tuple(sorted(changes))
    params = {
        "delivery_id": held.delivery_id,
        "token": held.token,
        "held_in": held_in.value,
        **{f"new_{name}": value for name, value in changes.items()},
    }
    if _one_statement_moves(session):
        record = _record_params(held_in, to, now, note)
        result = session.execute(_move_and_log_statement(columns), params | record)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
    result = session.execute(_move_statement(columns), params)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _log(session, held.delivery_id, held_in, to, now, note)
    return True


@lru_cache(maxsize=64)
def _move_statement(columns: tuple[str, ...]) -> Any:
    """The UPDATE of a move that sets ``columns``; one per set of columns a caller uses."""
    return (
        update(_deliveries)
        .where(
            _deliveries.c.id == bindparam("delivery_id"),
            _deliveries.c.claim_token == bindparam("token"),
            _deliveries.c.state == bindparam("held_in"),
        )
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


@lru_cache(maxsize=64)
def _move_and_log_statement(columns: tuple[str, ...]) -> Any:
    """The move that sets ``columns`` and its record, as one statement (PostgreSQL)."""
    moved = _move_statement(columns).returning(_deliveries.c.id).cte("moved")
    # An INSERT's rowcount is kept only when asked for: it says whether the move happened.
    return _logged(moved).execution_options(preserve_rowcount=True)


def _record_params(
    before: DeliveryState, after: DeliveryState, now: datetime, note: str
) -> dict[str, Any]:
    return {"before": before.value, "after": after.value, "logged_at": now, "text": note[:2000]}


def _log(
    session: Session,
    delivery_id: int,
    before: DeliveryState,
    after: DeliveryState,
    now: datetime,
    note: str,
) -> None:
    session.execute(
        _LOG,
        {
            "delivery": delivery_id,
            "before": before.value,
            "after": after.value,
            "now": now,
            "text": note[:2000],
        },
    )


_OPEN_RUN = (
    select(_runs.c.id)
    .where(_runs.c.id == bindparam("run_id"), _runs.c.finished.is_(None))
    .with_for_update()
)
_OPEN_DELIVERY = (
    select(_deliveries.c.id)
    .where(
        _deliveries.c.run_id == bindparam("run_id"),
        _deliveries.c.state.in_([s.value for s in DeliveryState if s not in FINAL_STATES]),
    )
    .limit(1)
)


def _counted(state: DeliveryState) -> Any:
    return (
        select(func.count(_deliveries.c.id))
        .where(_deliveries.c.run_id == bindparam("run_id"), _deliveries.c.state == state.value)
        .scalar_subquery()
    )


_FINISH = (
    update(_runs)
    .where(_runs.c.id == bindparam("run_id"), _runs.c.finished.is_(None))
    .values(
        finished=bindparam("now"),
        sent=_counted(DeliveryState.sent),
        failed=_counted(DeliveryState.failed),
        skipped=_counted(DeliveryState.skipped),
    )
)
_FORGET_PDFS = delete(_pdfs).where(_pdfs.c.run_id == bindparam("run_id"))


def finish_run_if_done(session: Session, run_id: int, *, now: datetime) -> bool:
    """Close the run when every delivery is final, with its counts. True if it closed now.

    The run's row is locked first: two workers settling the run's last two deliveries at once
    would otherwise each see the other's delivery as open (neither has committed) and
    leave the run open forever. With the lock the second waits for the first to commit, and
    its look, a new statement, sees the first's delivery final (PostgreSQL's read committed;
    SQLite lets one writer in at a time anyway). The look stops at the first open delivery,
    so settling each of a large run's deliveries does not count the whole run.
    """
    params = {"run_id": run_id, "now": now}
    if session.scalar(_OPEN_RUN, params) is None:
        return False
    return _finish_locked(session, params)


def _finish_locked(session: Session, params: dict[str, Any]) -> bool:
    """The rest of :func:`finish_run_if_done`, the run's row locked (and open) already."""
    if session.scalar(_OPEN_DELIVERY, params) is not None:
        return False
    if session.execute(_FINISH, params).rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The PDFs its workers shared (service.delivery.shared_pdfs) are not needed any more.
    session.execute(_FORGET_PDFS, params)
    return True


def stale_deliveries(
    session: Session, *, now: datetime, pending_for: timedelta, limit: int = 10_000
) -> list[int]:
    """Deliveries whose message was probably lost, to enqueue again.

    Pending ones untouched for ``pending_for`` (their message vanished with a broker restart)
    are touched so the next pass waits again; rendering or sending ones whose lease lapsed
    (their worker died) are taken over by whichever worker claims them next.
    """
    # Deliveries past the cursor of a fan-out still in progress are not lost: the fan-out
    # queues them when their turn comes (service.delivery.fanout), or is itself started again.
    queued_later = exists().where(
        ReportRun.id == Delivery.run_id,
        ReportRun.fanout_at.is_not(None),
        Delivery.id > ReportRun.fanout_cursor,
    )
    lost = select(Delivery.id).where(
        or_(
            and_(
                Delivery.state == DeliveryState.pending.value,
                Delivery.updated < now - pending_for,
                ~queued_later,
            ),
            and_(
                Delivery.state.in_([s.value for s in LEASED_STATES]),
                Delivery.lease_until < now,
            ),
        )
    )
    ids = list(session.scalars(lost.order_by(Delivery.id).limit(limit)))
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state == DeliveryState.pending.value)
            .values(updated=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def retry_failed(session: Session, *, account_id: int, delivery_id: int, now: datetime) -> int:
    """Put a failed delivery back to pending (an admin's manual re-send); returns its run id."""
    delivery = session.scalars(
        select(Delivery).where(Delivery.account_id == account_id, Delivery.id == delivery_id)
    ).first()
    if delivery is None:
        raise InvalidInput(f"no delivery {delivery_id} in this account")
    if delivery.state != DeliveryState.failed.value:
        raise InvalidInput(f"delivery {delivery_id} is {delivery.state}; only failed ones retry")
    delivery.state = DeliveryState.pending.value
    delivery.updated = now
    delivery.attempts = 0
    _log(session, delivery_id, DeliveryState.failed, DeliveryState.pending, now, "manual retry")
    session.execute(update(ReportRun).where(ReportRun.id == delivery.run_id).values(finished=None))
    return delivery.run_id


def pending_delivery_ids(session: Session, run_id: int) -> list[int]:
    """The run's deliveries still waiting for a worker."""
    statement = (
        select(Delivery.id)
        .where(Delivery.run_id == run_id, Delivery.state == DeliveryState.pending.value)
        .order_by(Delivery.id)
    )
    return list(session.scalars(statement))


def settle(
    session: Session,
    held: Claim,
    *,
    to: DeliveryState,
    now: datetime,
    run_id: int,
    note: str = "",
    held_in: DeliveryState | None = None,
    **values: Any,
) -> tuple[bool, bool]:
    """:func:`move`, then, when ``to`` is final, :func:`finish_run_if_done`, in the caller's
    transaction: whether the delivery moved, and whether its run finished now.

    On PostgreSQL, with ``held_in`` known, the move, its record and the lock on the run's
    row are one statement: a round trip less of every delivery. The look for open
    deliveries stays a statement of its own after it, so that it sees every delivery
    settled by those that held the lock before (see :func:`finish_run_if_done`).
    """
    if held_in is None or to not in FINAL_STATES or not _one_statement_moves(session):
        if not move(session, held, to=to, now=now, note=note, held_in=held_in, **values):
            return False, False
        return True, to in FINAL_STATES and finish_run_if_done(session, run_id, now=now)
    if held_in not in LEASED_STATES:
        return False, False
    changes = {"state": to.value, "updated": now, "claim_token": None, "lease_until": None}
    changes.update(values)
    params = {
        "delivery_id": held.delivery_id,
        "token": held.token,
        "held_in": held_in.value,
        "settled_run": run_id,
        **{f"new_{name}": value for name, value in changes.items()},
        **_record_params(held_in, to, now, note),
    }
    row = session.execute(_move_log_and_lock_statement(tuple(sorted(changes))), params).one()
    if row.moved != 1:
        return False, False
    if row.open_run is None:  # finished already
        return True, False
    return True, _finish_locked(session, {"run_id": run_id, "now": now})


@lru_cache(maxsize=64)
def _move_log_and_lock_statement(columns: tuple[str, ...]) -> Any:
    """A final move, its record and the lock on its open run, as one statement (PostgreSQL):
    how many deliveries moved (0 or 1), and the run's id if it is open."""
    moved = _move_statement(columns).returning(_deliveries.c.id).cte("moved")
    locked = (
        select(_runs.c.id)
        # Not "run_id": a parameter named as a column would be SET by the UPDATE too.
        .where(_runs.c.id == bindparam("settled_run"), _runs.c.finished.is_(None))
        .with_for_update()
        .cte("locked")
    )
    return select(
        select(func.count()).select_from(moved).scalar_subquery().label("moved"),
        select(locked.c.id).scalar_subquery().label("open_run"),
    ).add_cte(_logged(moved).cte("logged"))
