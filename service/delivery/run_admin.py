"""Report runs for a principal: asking for one, the runs list, a run's ledger, retrying.

The API (``POST /reports``, ``GET /reportruns/{id}``) and the console call these functions.
Asking for a report is the run ``reportd send`` creates: one ``ReportSpec`` over a period
that ends now (or the custom one it names); the caller commits, then hands the run to the
workers (``start_run``). Reading runs and
their deliveries needs ``scheduledTaskRights`` at view-only (as the overview does); retrying
a failed delivery needs full, as asking for a report does. Every query is scoped by the caller's
account; a run or delivery of another account does not exist (404).

Who a delivery went to is the recipient's own detail: its name and address (and an error or
note quoting them) are shown only to a caller who may view that recipient, ``contactRights``
view-only for a contact, ``can_view_users`` for an administrator; anyone else sees the
delivery by its IDs (:func:`recipient_visible`), and may not filter runs by recipient.

Lists are one page at a time and read no row per row: a page of runs is one statement (its
task's name joined), a page of a run's deliveries one, their transitions one more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from service.delivery.ledger import DeliveryState, Recipients, retry_failed
from service.delivery.request import check_filter, new_report_run
from service.directory import audit
from service.directory.authz import can_read_tasks, can_write_tasks
from service.directory.principal import CHANGE, VIEW, Principal
from service.directory.role_admin import SelectionChoices, viewable_choices
from service.errors import Forbidden, InvalidInput, NotFound
from service.reports.spec import ReportSpec
from storage.models import Delivery, DeliveryTransition, ReportRun
from storage.tasks import ScheduledTaskRow

#: Most rows one page of a list may hold.
MAX_PAGE = 200
#: What stands for a recipient's name or address the caller may not view.
HIDDEN = "(hidden)"


class RunState(StrEnum):
    """What the runs list filters on: still delivering, finished, or finished with failures."""

    open = "open"
    finished = "finished"
    failed = "failed"


@dataclass(frozen=True)
class RunFilter:
    """The runs list's filters; each left empty filters nothing."""

    task_id: int | None = None
    state: RunState | None = None
    #: Part of a recipient's name or address (any case): runs with such a delivery.
    recipient: str = ""
    #: Runs created at or after ``since`` and before ``until``.
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class RunLine:
    """A run as lists and its ledger show it (``task_name`` empty when not a task's)."""

    id: int
    report_type: str
    triggered_by: str
    scheduled_task_id: int | None
    task_name: str
    occurrence: datetime | None
    period_start: datetime
    period_end: datetime
    created: datetime
    finished: datetime | None
    total: int
    sent: int
    failed: int
    #: Deliveries left out because the recipient's report held nothing (``skipIfEmpty``).
    skipped: int

    @property
    def state(self) -> RunState:
        if self.finished is None:
            return RunState.open
        return RunState.failed if self.failed else RunState.finished


@dataclass(frozen=True)
class RunPage:
    runs: list[RunLine]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class Transition:
    from_state: str
    to_state: str
    at: datetime
    note: str


@dataclass(frozen=True)
class DeliveryLine:
    """One recipient's delivery and, when asked for, every state change it went through."""

    id: int
    run_id: int
    contact_id: int | None
    user_id: int | None
    recipient_name: str
    recipient_address: str
    state: DeliveryState
    attempts: int
    last_error: str
    message_id: str | None
    size: int | None
    possible_duplicate: bool
    sent_at: datetime | None
    updated: datetime
    transitions: tuple[Transition, ...] = ()
    #: The caller may not view the recipient: the name is its ID (``stand_in``), the address
    #: empty.
    hidden: bool = False

    @property
    def final(self) -> bool:
        return self.state in (DeliveryState.sent, DeliveryState.failed)


@dataclass(frozen=True)
class Ledger:
    """A run, how many of its deliveries are in each state, and one page of them."""

    run: RunLine
    parameters: dict[str, object]
    counts: dict[DeliveryState, int]
    deliveries: list[DeliveryLine]
    #: Deliveries matching the page's state filter (all of them without one).
    matching: int
    offset: int
    limit: int
    state: DeliveryState | None = None
    may_retry: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.run.finished is not None


def request_report_for(
    session: Session, caller: Principal, spec: ReportSpec, recipients: Recipients, *, now: datetime
) -> int:
    """Create the run of ``spec`` to ``recipients`` and its deliveries; returns the run ID
    (enqueue ``start_run`` after the commit)."""
    can_write_tasks(caller)
    check_named_recipients(
        caller,
        contact_ids=recipients.contact_ids,
        user_ids=recipients.user_ids,
        where="recipients",
    )
    check_filter(session, caller.scope, spec)
    start, end = spec.period(end=now)
    new = new_report_run(
        session,
        account_id=caller.account_id,
        spec=spec,
        recipients=recipients,
        triggered_by=caller.actor,
        period_start=start,
        period_end=end,
        now=now,
    )
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.report_requested,
        description=audit.describe_values(
            f"run {new.run_id}: {spec.kind.value} to {len(new.delivery_ids)} recipient(s)",
            spec.to_api(),
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return new.run_id


def check_named_recipients(
    caller: Principal, *, contact_ids: Iterable[int], user_ids: Iterable[int], where: str
) -> None:
    """Refuse recipients named by ID that the caller may not view, with one answer for IDs
    that exist and IDs that do not (the answer never tells which IDs exist).

    ``where`` prefixes the field names (``recipients``). A caller who may view them is told
    which IDs are missing by the checks that follow (the ledger's, the task's).
    """
    for field_name, named, administrator in (
        ("contactIDs", sorted(set(contact_ids)), False),
        ("administratorIDs", sorted(set(user_ids)), True),
    ):
        if named and not recipient_visible(caller, administrator=administrator):
            kind = "administrator" if administrator else "contact"
            raise InvalidInput(
                f"{where}.{field_name}: no {kind} with ID {named} that the caller may view"
                " in this account"
            )


def filter_choices_for(session: Session, caller: Principal) -> SelectionChoices:
    """The groups, computers and policies a report's computer filter may name for the caller:
    what its own clearance views (a filter only narrows a recipient's report further)."""
    can_read_tasks(caller)
    return viewable_choices(session, caller)


def _page_bounds(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} rows from a non-negative offset")


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _runs_statement(
    account_id: int, wanted: RunFilter, *, contacts: bool = True, users: bool = True
) -> Select[Any]:
    """The runs matching ``wanted``; a recipient is matched only among the kinds of
    recipient the caller may view (``contacts``, ``users``)."""
    statement = select(ReportRun).where(ReportRun.account_id == account_id)
    if wanted.task_id is not None:
        statement = statement.where(ReportRun.scheduled_task_id == wanted.task_id)
    if wanted.state is RunState.open:
        statement = statement.where(ReportRun.finished.is_(None))
    elif wanted.state is RunState.finished:
        statement = statement.where(ReportRun.finished.is_not(None), ReportRun.failed == 0)
    elif wanted.state is RunState.failed:
        statement = statement.where(ReportRun.finished.is_not(None), ReportRun.failed > 0)
    if wanted.since is not None:
        statement = statement.where(ReportRun.created >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(ReportRun.created < wanted.until)
    text = wanted.recipient.strip()
    if text:
        pattern = _like(text)
        statement = statement.where(
            exists().where(
                Delivery.run_id == ReportRun.id,
                Delivery.account_id == account_id,
                *_kinds(contacts=contacts, users=users),
                or_(
                    func.lower(Delivery.recipient_address).like(pattern, escape="\\"),
                    func.lower(Delivery.recipient_name).like(pattern, escape="\\"),
                ),
            )
        )
    return statement


def _kinds(*, contacts: bool, users: bool) -> list[Any]:
    """The condition on a delivery's kind of recipient, when the caller views only one."""
    if contacts and not users:
        return [Delivery.user_id.is_(None)]
    if users and not contacts:
        return [Delivery.user_id.is_not(None)]
    return []


def _line(run: ReportRun, task_name: str | None) -> RunLine:
    return RunLine(
        id=run.id,
        report_type=run.report_type,
        triggered_by=run.triggered_by,
        scheduled_task_id=run.scheduled_task_id,
        task_name=task_name or "",
        occurrence=run.occurrence,
        period_start=run.period_start,
        period_end=run.period_end,
        created=run.created,
        finished=run.finished,
        total=run.total,
        sent=run.sent,
        failed=run.failed,
        skipped=run.skipped,
    )


def runs_page_for(
    session: Session,
    caller: Principal,
    wanted: RunFilter = RunFilter(),
    *,
    offset: int = 0,
    limit: int = 25,
) -> RunPage:
    """One page of the account's runs matching ``wanted``, newest first."""
    can_read_tasks(caller)
    contacts = recipient_visible(caller, administrator=False)
    users = recipient_visible(caller, administrator=True)
    if wanted.recipient.strip() and not (contacts or users):
        # Which runs went to a name or address would tell who the recipients are.
        raise Forbidden(
            "the caller's role does not allow filtering runs by recipient"
            " (contactRights view-only, or can_view_users)"
        )
    _page_bounds(offset, limit)
    statement = _runs_statement(caller.account_id, wanted, contacts=contacts, users=users)
    total = session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    page = (
        statement.add_columns(ScheduledTaskRow.name)
        .outerjoin(
            ScheduledTaskRow,
            (ScheduledTaskRow.id == ReportRun.scheduled_task_id)
            & (ScheduledTaskRow.account_id == ReportRun.account_id),
        )
        .order_by(ReportRun.created.desc(), ReportRun.id.desc())
        .offset(offset)
        .limit(limit)
    )
    runs = [_line(run, name) for run, name in session.execute(page)]
    return RunPage(runs=runs, total=int(total), offset=offset, limit=limit)


def _run(session: Session, account_id: int, run_id: int) -> tuple[ReportRun, str | None]:
    found = session.execute(
        select(ReportRun, ScheduledTaskRow.name)
        .outerjoin(
            ScheduledTaskRow,
            (ScheduledTaskRow.id == ReportRun.scheduled_task_id)
            & (ScheduledTaskRow.account_id == ReportRun.account_id),
        )
        .where(ReportRun.account_id == account_id, ReportRun.id == run_id)
    ).first()
    if found is None:
        raise NotFound(f"no report run with ID {run_id}")
    return found[0], found[1]


def run_for(session: Session, caller: Principal, run_id: int) -> RunLine:
    """One run of the caller's account."""
    can_read_tasks(caller)
    run, name = _run(session, caller.account_id, run_id)
    return _line(run, name)


def run_parameters_for(session: Session, caller: Principal, run_id: int) -> dict[str, object]:
    """The run's stored report parameters (the console's JSON)."""
    can_read_tasks(caller)
    run, _ = _run(session, caller.account_id, run_id)
    return dict(run.parameters)


def recipient_visible(caller: Principal, *, administrator: bool) -> bool:
    """Whether the caller may see who a delivery went to: an administrator needs
    ``can_view_users``, a contact (or a deleted one) ``contactRights`` view-only."""
    if administrator:
        return bool(caller.rights.can_view_users)
    return caller.level("contactRights") >= VIEW


def scrub(text: str, *quoted: str) -> str:
    """``text`` without the recipient details ``quoted`` (an SMTP reply may quote the
    address)."""
    for detail in quoted:
        if detail:
            text = text.replace(detail, HIDDEN)
    return text


def stand_in(*, contact_id: int | None, user_id: int | None) -> str:
    """What names a recipient the caller may not view: its ID ("#12"), or nothing."""
    number = contact_id if contact_id is not None else user_id
    return "" if number is None else f"#{number}"


def _delivery(
    row: Delivery, transitions: tuple[Transition, ...] = (), *, caller: Principal
) -> DeliveryLine:
    hidden = not recipient_visible(caller, administrator=row.user_id is not None)
    name, address, last_error = row.recipient_name, row.recipient_address, row.last_error
    if hidden:
        last_error = scrub(last_error, address, name)
        transitions = tuple(
            Transition(t.from_state, t.to_state, t.at, scrub(t.note, address, name))
            for t in transitions
        )
        name, address = stand_in(contact_id=row.contact_id, user_id=row.user_id), ""
    return DeliveryLine(
        id=row.id,
        run_id=row.run_id,
        contact_id=row.contact_id,
        user_id=row.user_id,
        recipient_name=name,
        recipient_address=address,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        last_error=last_error,
        message_id=row.message_id,
        size=row.size,
        possible_duplicate=row.possible_duplicate,
        sent_at=row.sent_at,
        updated=row.updated,
        transitions=transitions,
        hidden=hidden,
    )


def deliveries_of(session: Session, caller: Principal, run_id: int) -> list[DeliveryLine]:
    """Every delivery of one run, by ID, without transitions (the API's run JSON)."""
    can_read_tasks(caller)
    _run(session, caller.account_id, run_id)
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.run_id == run_id, Delivery.account_id == caller.account_id)
        .order_by(Delivery.id)
    )
    return [_delivery(row, caller=caller) for row in rows]


def _transitions(session: Session, delivery_ids: list[int]) -> dict[int, tuple[Transition, ...]]:
    found: dict[int, list[Transition]] = defaultdict(list)
    if delivery_ids:
        rows = session.scalars(
            select(DeliveryTransition)
            .where(DeliveryTransition.delivery_id.in_(delivery_ids))
            .order_by(DeliveryTransition.delivery_id, DeliveryTransition.id)
        )
        for row in rows:
            found[row.delivery_id].append(
                Transition(row.from_state, row.to_state, row.at, row.note)
            )
    return {key: tuple(value) for key, value in found.items()}


def ledger_for(
    session: Session,
    caller: Principal,
    run_id: int,
    *,
    state: DeliveryState | None = None,
    offset: int = 0,
    limit: int = 50,
    transitions: bool = True,
) -> Ledger:
    """A run with its deliveries' counts per state and one page of its deliveries (by ID),
    each with its transitions unless ``transitions`` is False (the live page)."""
    can_read_tasks(caller)
    _page_bounds(offset, limit)
    run, name = _run(session, caller.account_id, run_id)
    counts = {s: 0 for s in DeliveryState}
    for found_state, count in session.execute(
        select(Delivery.state, func.count())
        .where(Delivery.run_id == run_id)
        .group_by(Delivery.state)
    ):
        counts[DeliveryState(found_state)] = int(count)
    # The page's IDs first, from the (run_id, [state,] id) index alone (however deep the
    # page), then their rows: the run is the caller's account's, and so are its deliveries.
    page = select(Delivery.id).where(Delivery.run_id == run_id)
    if state is not None:
        page = page.where(Delivery.state == state.value)
    ids = list(session.scalars(page.order_by(Delivery.id).offset(offset).limit(limit)))
    rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
    history = _transitions(session, [row.id for row in rows]) if transitions else {}
    return Ledger(
        run=_line(run, name),
        parameters=dict(run.parameters),
        counts=counts,
        deliveries=[_delivery(row, history.get(row.id, ()), caller=caller) for row in rows],
        matching=counts[state] if state is not None else sum(counts.values()),
        offset=offset,
        limit=limit,
        state=state,
        may_retry=may_retry(caller),
    )


def require_request(caller: Principal) -> None:
    """Forbidden unless the caller may ask for reports (for the form's page)."""
    can_write_tasks(caller)


def may_retry(caller: Principal) -> bool:
    """Whether the caller may retry failed deliveries (to show the button)."""
    return caller.level("scheduledTaskRights") >= CHANGE


def retry_for(session: Session, caller: Principal, delivery_id: int, *, now: datetime) -> int:
    """Put a failed delivery of the caller's account back to pending; returns its run ID.

    The caller commits, then enqueues the delivery itself: a run's ``start_run`` queues only
    what its fan-out has not reached yet. The claim keeps anything from being sent twice.
    """
    can_write_tasks(caller)
    row = session.scalars(
        select(Delivery).where(Delivery.account_id == caller.account_id, Delivery.id == delivery_id)
    ).first()
    if row is None:
        raise NotFound(f"no delivery with ID {delivery_id}")
    run_id = retry_failed(session, account_id=caller.account_id, delivery_id=delivery_id, now=now)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.delivery_retried,
        description=(
            f"delivery {delivery_id} of run {run_id} to {row.recipient_address} sent again"
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return run_id
