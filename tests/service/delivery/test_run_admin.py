"""Runs for a principal: the filtered list, a run's ledger, retrying, asking for a report; and
what a recipient would receive (the preview), each refused beyond the caller's rights."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.delivery import run_admin
from service.delivery.ledger import DeliveryState, Recipients, create_run
from service.delivery.preview import (
    RecipientKind,
    RecipientRef,
    preview_for,
    previewable_for,
)
from service.delivery.run_admin import RunFilter, RunState
from service.directory.accounts import create_account, create_role
from service.directory.importing import import_dataset, parse_dataset
from service.directory.principal import Principal
from service.directory.rights import NEW_ROLE_DEFAULTS, RoleRights
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.errors import Forbidden, NotFound
from service.reports.spec import ReportSpec
from storage.models import Contact, Delivery, ReportRun, Role, SystemEvent
from storage.records import load_role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Account:
    id: int
    contacts: dict[str, int]

    def principal(self, session: Session, role: str, *, user_id: int | None = None) -> Principal:
        role_id = session.scalars(
            select(Role.id).where(Role.account_id == self.id, Role.name == role)
        ).one()
        record = load_role(session, self.id, role_id)
        assert record is not None
        if user_id is None:
            return Principal(account_id=self.id, key_id=1, key_name="test", role=record)
        return Principal.for_user(
            account_id=self.id, user_id=user_id, email_address="u@example.com", role=record
        )


def _with_tasks(level: str) -> RoleRights:
    return replace(
        NEW_ROLE_DEFAULTS,
        other_rights={
            **NEW_ROLE_DEFAULTS.other_rights,
            "scheduledTaskRights": level,
            "contactRights": "view-only",
        },
    )


def _account(session: Session) -> Account:
    account = create_account(session, name=f"Runs {uuid.uuid4().hex}")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    create_role(session, account_id=account.id, name="Task Viewer", rights=_with_tasks("view-only"))
    create_role(session, account_id=account.id, name="Task Runner", rights=_with_tasks("full"))
    contacts = {
        c.email_address: c.id
        for c in session.scalars(select(Contact).where(Contact.account_id == account.id))
    }
    return Account(account.id, contacts)


def _run(
    session: Session,
    account: Account,
    emails: list[str],
    *,
    at: datetime = NOW,
    task: int | None = None,
) -> int:
    new = create_run(
        session,
        account_id=account.id,
        report_type="summary",
        parameters={},
        recipients=Recipients(contact_ids=[account.contacts[e] for e in emails]),
        triggered_by="test",
        period_start=at - timedelta(days=7),
        period_end=at,
        now=at,
        scheduled_task_id=task,
        occurrence=at if task else None,
    )
    return new.run_id


def _settle(session: Session, run_id: int, state: str, *, failed: int = 0) -> None:
    for delivery in session.scalars(select(Delivery).where(Delivery.run_id == run_id)):
        delivery.state = state
        delivery.last_error = "550 No such user" if state == "failed" else ""
    run = session.get(ReportRun, run_id)
    assert run is not None
    run.finished = NOW
    run.failed = failed
    session.flush()


ALEX, HANAKO, JONAS = "alex.morgan@example.com", "hanako.sato@example.jp", "jonas.weber@example.de"


def test_the_runs_list_filters_by_state_recipient_and_period_within_the_account(
    session: Session,
) -> None:
    # Given runs of an account (one open, one finished, one failed, one older) and another's
    account, other = _account(session), _account(session)
    open_run = _run(session, account, [ALEX, HANAKO])
    done = _run(session, account, [JONAS], at=NOW - timedelta(hours=1))
    _settle(session, done, "sent")
    failed = _run(session, account, [HANAKO], at=NOW - timedelta(hours=2))
    _settle(session, failed, "failed", failed=1)
    old = _run(session, account, [ALEX], at=NOW - timedelta(days=40))
    _settle(session, old, "sent")
    _run(session, other, [ALEX])
    viewer = account.principal(session, "Task Viewer")

    def ids(wanted: RunFilter | None = None, **paging: int) -> list[int]:
        page = run_admin.runs_page_for(session, viewer, wanted or RunFilter(), **paging)
        return [run.id for run in page.runs]

    # Then the account's runs come newest first, and only the account's
    assert ids() == [open_run, done, failed, old]
    assert ids(RunFilter(state=RunState.open)) == [open_run]
    assert ids(RunFilter(state=RunState.finished)) == [done, old]
    assert ids(RunFilter(state=RunState.failed)) == [failed]
    assert ids(RunFilter(recipient="HANAKO.sato")) == [open_run, failed]
    assert ids(RunFilter(recipient="佐藤")) == [open_run, failed]
    assert ids(RunFilter(recipient="100%_")) == []
    assert ids(RunFilter(since=NOW - timedelta(days=1), until=NOW)) == [done, failed]
    page = run_admin.runs_page_for(session, viewer, offset=1, limit=2)
    assert ([r.id for r in page.runs], page.total) == ([done, failed], 4)


def test_a_ledger_counts_states_and_gives_each_delivery_its_transitions(
    session: Session,
) -> None:
    # Given a run of three with one delivery failed (and its transition recorded)
    account = _account(session)
    run_id = _run(session, account, [ALEX, HANAKO, JONAS])
    delivery = session.scalars(select(Delivery).where(Delivery.run_id == run_id)).first()
    assert delivery is not None
    retry_target = delivery.id
    delivery.state = "failed"
    delivery.last_error = "550 No such user"
    session.flush()
    viewer = account.principal(session, "Task Viewer")

    # When the ledger is read, then only the failed ones
    ledger = run_admin.ledger_for(session, viewer, run_id)
    failed = run_admin.ledger_for(session, viewer, run_id, state=DeliveryState.failed)

    # Then it counts each state, lists the deliveries by ID, and says who may retry
    assert ledger.counts[DeliveryState.pending] == 2
    assert ledger.counts[DeliveryState.failed] == 1
    assert [d.recipient_address for d in ledger.deliveries] == [ALEX, HANAKO, JONAS]
    assert [d.id for d in failed.deliveries] == [retry_target] and failed.matching == 1
    assert not ledger.may_retry
    # And a run of another account does not exist for the viewer
    other = _account(session)
    with pytest.raises(NotFound):
        run_admin.ledger_for(session, other.principal(session, "Task Viewer"), run_id)


def test_retrying_a_failed_delivery_needs_full_task_rights_and_is_audited(
    session: Session,
) -> None:
    # Given a failed delivery
    account = _account(session)
    run_id = _run(session, account, [JONAS])
    _settle(session, run_id, "failed", failed=1)
    delivery_id = session.scalars(select(Delivery.id).where(Delivery.run_id == run_id)).one()

    # Then a view-only caller may not retry it, and another account cannot find it
    with pytest.raises(Forbidden):
        run_admin.retry_for(
            session, account.principal(session, "Task Viewer"), delivery_id, now=NOW
        )
    other = _account(session)
    with pytest.raises(NotFound):
        run_admin.retry_for(session, other.principal(session, "Task Runner"), delivery_id, now=NOW)

    # When a caller with full task rights retries it
    runner = account.principal(session, "Task Runner")
    assert run_admin.retry_for(session, runner, delivery_id, now=NOW) == run_id

    # Then it is pending again, its run open, its transition and an audit event recorded
    ledger = run_admin.ledger_for(session, runner, run_id)
    assert ledger.deliveries[0].state is DeliveryState.pending
    assert ledger.run.finished is None
    assert ledger.deliveries[0].transitions[-1].note == "manual retry"
    events = session.scalars(
        select(SystemEvent.description).where(
            SystemEvent.account_id == account.id, SystemEvent.event_code == 8501
        )
    ).all()
    assert events == [f"delivery {delivery_id} of run {run_id} to {JONAS} sent again"]


def test_asking_for_a_report_needs_full_task_rights(session: Session) -> None:
    account = _account(session)
    spec = ReportSpec.from_api({"reportTemplateID": 1})
    recipients = Recipients(contact_ids=[account.contacts[ALEX]])
    with pytest.raises(Forbidden):
        run_admin.request_report_for(
            session, account.principal(session, "Task Viewer"), spec, recipients, now=NOW
        )
    run_id = run_admin.request_report_for(
        session, account.principal(session, "Task Runner"), spec, recipients, now=NOW
    )
    run = run_admin.run_for(session, account.principal(session, "Task Viewer"), run_id)
    assert (run.total, run.period_end - run.period_start) == (1, timedelta(days=1))


def test_a_preview_shows_only_recipients_within_the_callers_clearance(session: Session) -> None:
    # Given an account and a firewall report
    account = _account(session)
    spec = ReportSpec.from_api({"reportTemplateID": 7})

    # Then a Full Access caller previews Hanako (Web Team) and the preview is audited
    full = account.principal(session, "Full Access")
    hanako = RecipientRef(RecipientKind.contact, account.contacts[HANAKO])
    recipient, data = preview_for(session, full, hanako, spec, now=NOW)
    assert recipient.locale == "ja-JP" and data.locale == "ja-JP"
    assert session.scalars(
        select(SystemEvent.id).where(
            SystemEvent.account_id == account.id, SystemEvent.event_code == 8502
        )
    ).first()

    # And a caller whose role sees no contacts may preview none
    with pytest.raises(Forbidden):
        preview_for(
            session, account.principal(session, "Auditor (computers only)"), hanako, spec, now=NOW
        )
    listed = {p.ref.id for p in previewable_for(session, full)}
    assert set(account.contacts.values()) <= listed


def test_a_preview_of_a_recipient_above_the_caller_is_refused(session: Session) -> None:
    # Given a role like Web Team that may also view contacts, and Alex with Full Access
    account = _account(session)
    role = session.scalars(
        select(Role).where(Role.account_id == account.id, Role.name == "Web Team")
    ).one()
    role.other_rights = {**(role.other_rights or {}), "contactRights": "view-only"}
    session.flush()
    caller = account.principal(session, "Web Team")
    spec = ReportSpec.from_api({"reportTemplateID": 1})
    alex = RecipientRef(RecipientKind.contact, account.contacts[ALEX])
    hanako = RecipientRef(RecipientKind.contact, account.contacts[HANAKO])

    # Then Alex's report (everything) is refused, and he is not offered; Hanako's is fine
    with pytest.raises(Forbidden):
        preview_for(session, caller, alex, spec, now=NOW)
    offered = {p.ref for p in previewable_for(session, caller)}
    assert alex not in offered and hanako in offered
    preview_for(session, caller, hanako, spec, now=NOW)
    # And a contact of another account does not exist for the caller
    other = _account(session)
    with pytest.raises(NotFound):
        preview_for(
            session,
            caller,
            RecipientRef(RecipientKind.contact, other.contacts[ALEX]),
            spec,
            now=NOW,
        )
