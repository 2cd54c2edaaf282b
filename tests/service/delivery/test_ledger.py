"""The delivery ledger: claims are exclusive, final states are final, lost work is found."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from service.delivery.ledger import (
    DeliveryState,
    Recipients,
    claim,
    create_run,
    finish_run_if_done,
    move,
    retry_failed,
    stale_deliveries,
)
from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from service.errors import InvalidInput
from storage.db import make_session_factory, statement_sessions, transaction
from storage.models import Delivery, DeliveryTransition, ReportRun

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _run(session: Session) -> tuple[int, list[int]]:
    account = create_account(session, name=f"Runs {uuid.uuid4().hex}")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    new = create_run(
        session,
        account_id=account.id,
        report_type="summary",
        parameters={},
        recipients=Recipients(all_contacts=True),
        triggered_by="test",
        period_start=NOW - timedelta(days=7),
        period_end=NOW,
        now=NOW,
    )
    return new.run_id, new.delivery_ids


def test_a_run_has_one_pending_delivery_per_contact(session: Session) -> None:
    run_id, ids = _run(session)
    states = session.scalars(select(Delivery.state).where(Delivery.run_id == run_id)).all()
    assert len(ids) == 3 and states == ["pending"] * 3
    assert session.get(ReportRun, run_id).total == 3  # type: ignore[union-attr]


def test_a_second_claim_of_the_same_delivery_gets_nothing(session: Session) -> None:
    _, ids = _run(session)
    first = claim(session, ids[0], now=NOW, lease=LEASE)
    assert first is not None and first.attempt == 1
    assert claim(session, ids[0], now=NOW + timedelta(seconds=1), lease=LEASE) is None


def test_a_sent_delivery_is_never_claimed_again_even_long_after(session: Session) -> None:
    _, ids = _run(session)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None
    assert move(session, held, to=DeliveryState.sending, now=NOW)
    assert move(session, held, to=DeliveryState.sent, now=NOW)
    assert claim(session, ids[0], now=NOW + timedelta(days=30), lease=LEASE) is None


def test_a_lapsed_lease_is_taken_over_and_the_old_owner_cannot_move_it(session: Session) -> None:
    _, ids = _run(session)
    old = claim(session, ids[0], now=NOW, lease=LEASE)
    assert old is not None
    assert claim(session, ids[0], now=NOW + LEASE / 2, lease=LEASE) is None
    new = claim(session, ids[0], now=NOW + LEASE * 2, lease=LEASE)
    assert new is not None and new.attempt == 2 and not new.possible_duplicate
    assert not move(session, old, to=DeliveryState.sending, now=NOW + LEASE * 2)
    assert move(session, new, to=DeliveryState.sending, now=NOW + LEASE * 2)


def test_a_move_from_a_state_the_holder_no_longer_holds_changes_nothing(
    session: Session,
) -> None:
    _, ids = _run(session)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None and held.run_id is not None
    # The holder says it moved the delivery to sending; it is still rendering.
    assert not move(session, held, to=DeliveryState.sent, now=NOW, held_in=DeliveryState.sending)
    delivery = session.get(Delivery, ids[0], populate_existing=True)
    assert delivery is not None and delivery.state == "rendering"
    assert move(session, held, to=DeliveryState.sending, now=NOW, held_in=DeliveryState.rendering)
    assert move(session, held, to=DeliveryState.sent, now=NOW, held_in=DeliveryState.sending)
    notes = session.scalars(
        select(DeliveryTransition.to_state)
        .where(DeliveryTransition.delivery_id == ids[0])
        .order_by(DeliveryTransition.id)
    ).all()
    assert notes == ["rendering", "sending", "sent"]


def test_taking_over_a_delivery_that_was_sending_marks_a_possible_duplicate(
    session: Session,
) -> None:
    _, ids = _run(session)
    old = claim(session, ids[0], now=NOW, lease=LEASE)
    assert old is not None and move(session, old, to=DeliveryState.sending, now=NOW)
    new = claim(session, ids[0], now=NOW + LEASE * 2, lease=LEASE)
    assert new is not None and new.possible_duplicate
    assert session.get(Delivery, ids[0], populate_existing=True).possible_duplicate  # type: ignore[union-attr]


def test_the_run_finishes_with_counts_when_its_last_delivery_is_final(session: Session) -> None:
    run_id, ids = _run(session)
    for i, delivery_id in enumerate(ids):
        assert not finish_run_if_done(session, run_id, now=NOW)
        held = claim(session, delivery_id, now=NOW, lease=LEASE)
        assert held is not None
        final = DeliveryState.failed if i == 0 else DeliveryState.sent
        assert move(session, held, to=final, now=NOW)
    assert finish_run_if_done(session, run_id, now=NOW)
    run = session.get(ReportRun, run_id, populate_existing=True)
    assert run is not None and (run.sent, run.failed, run.finished) == (2, 1, NOW)
    assert not finish_run_if_done(session, run_id, now=NOW)


def test_a_skipped_delivery_is_final_and_counted_apart(session: Session) -> None:
    # Given a run whose first recipient's report held nothing (skipIfEmpty)
    run_id, ids = _run(session)
    for i, delivery_id in enumerate(ids):
        held = claim(session, delivery_id, now=NOW, lease=LEASE)
        assert held is not None
        final = DeliveryState.skipped if i == 0 else DeliveryState.sent
        assert move(session, held, to=final, now=NOW, note="nothing in the period")

    # When the last one is settled, Then the run closes and counts the skipped one apart
    assert finish_run_if_done(session, run_id, now=NOW)
    run = session.get(ReportRun, run_id, populate_existing=True)
    assert run is not None and (run.sent, run.failed, run.skipped) == (2, 0, 1)
    # ... and nothing claims it again
    assert claim(session, ids[0], now=NOW + timedelta(days=1), lease=LEASE) is None


def test_every_transition_is_recorded(session: Session) -> None:
    _, ids = _run(session)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None
    move(session, held, to=DeliveryState.sending, now=NOW)
    move(session, held, to=DeliveryState.pending, now=NOW, note="451 try later")
    rows = session.scalars(
        select(DeliveryTransition).where(DeliveryTransition.delivery_id == ids[0])
    ).all()
    assert [(r.from_state, r.to_state) for r in rows] == [
        ("pending", "rendering"),
        ("rendering", "sending"),
        ("sending", "pending"),
    ]
    assert rows[-1].note == "451 try later"


def test_the_reconciler_finds_lost_messages_and_dead_workers_once_per_timeout(
    session: Session,
) -> None:
    _, ids = _run(session)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None
    pending_for = timedelta(minutes=10)
    assert stale_deliveries(session, now=NOW + timedelta(minutes=1), pending_for=pending_for) == []
    later = NOW + timedelta(minutes=11)
    assert sorted(stale_deliveries(session, now=later, pending_for=pending_for)) == sorted(ids)
    # pending ones were touched, so the next pass right after finds only the dead worker's
    assert stale_deliveries(session, now=later, pending_for=pending_for) == [ids[0]]


def test_a_failed_delivery_can_be_retried_by_hand_and_others_cannot(session: Session) -> None:
    run_id, ids = _run(session)
    account_id = session.get(ReportRun, run_id).account_id  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="only failed"):
        retry_failed(session, account_id=account_id, delivery_id=ids[0], now=NOW)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None and move(session, held, to=DeliveryState.failed, now=NOW)
    assert retry_failed(session, account_id=account_id, delivery_id=ids[0], now=NOW) == run_id
    assert claim(session, ids[0], now=NOW, lease=LEASE) is not None


def test_a_run_without_recipients_or_with_a_foreign_contact_is_refused(session: Session) -> None:
    account = create_account(session, name="Empty Inc.")
    with pytest.raises(InvalidInput, match="no recipients"):
        create_run(
            session,
            account_id=account.id,
            report_type="summary",
            parameters={},
            recipients=Recipients(all_contacts=True),
            triggered_by="t",
            period_start=NOW - timedelta(days=1),
            period_end=NOW,
            now=NOW,
        )
    with pytest.raises(InvalidInput, match="contactIDs"):
        create_run(
            session,
            account_id=account.id,
            report_type="summary",
            parameters={},
            recipients=Recipients(contact_ids=[123456]),
            triggered_by="t",
            period_start=NOW - timedelta(days=1),
            period_end=NOW,
            now=NOW,
        )


@pytest.fixture
def committed_run(engine: Engine) -> Iterator[tuple[sessionmaker[Session], list[int]]]:
    """Sessions on each backend and the deliveries of a run committed there (deleted after),
    for tests whose sessions must see each other's work."""
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        run_id, ids = _run(session)
    yield factory, ids
    with transaction(factory) as session:
        session.execute(ReportRun.__table__.delete().where(ReportRun.id == run_id))


def _transitions(factory: sessionmaker[Session], delivery_id: int) -> list[tuple[str, str, str]]:
    with factory() as session:
        rows = session.execute(
            select(
                DeliveryTransition.from_state, DeliveryTransition.to_state, DeliveryTransition.note
            )
            .where(DeliveryTransition.delivery_id == delivery_id)
            .order_by(DeliveryTransition.id)
        ).all()
    return [(row.from_state, row.to_state, row.note) for row in rows]


@pytest.mark.parametrize("sessions", ["transactions", "statement sessions"])
def test_concurrent_claims_have_exactly_one_winner(
    committed_run: tuple[sessionmaker[Session], list[int]], sessions: str
) -> None:
    # The pipeline claims through statement sessions: on PostgreSQL, outside a transaction.
    factory, ids = committed_run
    claiming = factory if sessions == "transactions" else statement_sessions(factory)
    winners: list[int] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        with transaction(claiming) as session:
            if claim(session, ids[0], now=NOW, lease=LEASE) is not None:
                winners.append(1)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert _transitions(factory, ids[0]) == [("pending", "rendering", "claimed")]  # the winner's


@pytest.mark.parametrize("sessions", ["transactions", "statement sessions"])
def test_concurrent_take_overs_of_a_lapsed_lease_have_exactly_one_winner(
    committed_run: tuple[sessionmaker[Session], list[int]], sessions: str
) -> None:
    factory, ids = committed_run
    claiming = factory if sessions == "transactions" else statement_sessions(factory)
    with transaction(claiming) as session:
        first = claim(session, ids[0], now=NOW, lease=LEASE)
        assert first is not None and move(session, first, to=DeliveryState.sending, now=NOW)
    winners: list[tuple[int, bool, timedelta]] = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        with transaction(claiming) as session:
            taken = claim(session, ids[0], now=NOW + LEASE * 2, lease=LEASE)
            if taken is not None:
                winners.append((taken.attempt, taken.possible_duplicate, taken.waited))

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # waited: since the delivery last changed (its move to sending), read before the claim.
    assert winners == [(2, True, LEASE * 2)]
    assert _transitions(factory, ids[0]) == [
        ("pending", "rendering", "claimed"),
        ("rendering", "sending", ""),
        ("sending", "rendering", "taken over after the lease lapsed"),
    ]


def test_a_claim_on_postgresql_is_one_statement(
    committed_run: tuple[sessionmaker[Session], list[int]], engine: Engine
) -> None:
    """The look, the claim and its record: one round trip of every delivery (on SQLite a look,
    a claim and a record)."""
    factory, ids = committed_run
    statements: list[str] = []

    def count(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with transaction(statement_sessions(factory)) as session:
            assert claim(session, ids[0], now=NOW, lease=LEASE) is not None
            assert claim(session, ids[0], now=NOW, lease=LEASE) is None
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == (2 if engine.dialect.name == "postgresql" else 4)


def test_a_claim_and_a_move_in_statement_sessions_are_recorded_and_seen_at_once(
    committed_run: tuple[sessionmaker[Session], list[int]], engine: Engine
) -> None:
    factory, ids = committed_run
    with transaction(statement_sessions(factory)) as session:
        held = claim(session, ids[0], now=NOW, lease=LEASE)
        assert held is not None
        if engine.dialect.name == "postgresql":  # committed already: autocommit
            with factory() as other:
                seen = other.get(Delivery, ids[0])
                assert seen is not None and seen.state == "rendering"
        rendering = DeliveryState.rendering
        assert move(session, held, to=DeliveryState.sending, now=NOW, held_in=rendering)
        assert not move(session, held, to=DeliveryState.sending, now=NOW, held_in=rendering)
    with factory() as session:
        delivery = session.get(Delivery, ids[0])
        assert delivery is not None and delivery.state == "sending"
    assert _transitions(factory, ids[0]) == [
        ("pending", "rendering", "claimed"),
        ("rendering", "sending", ""),
    ]


def test_entering_sending_renews_the_lease_so_a_slow_render_cannot_lead_to_a_double_send(
    session: Session,
) -> None:
    _, ids = _run(session)
    held = claim(session, ids[0], now=NOW, lease=LEASE)
    assert held is not None
    # Rendering took most of the lease; the mail goes out just before it would lapse.
    assert move(session, held, to=DeliveryState.sending, now=NOW + LEASE * 0.9)
    assert claim(session, ids[0], now=NOW + LEASE * 1.5, lease=LEASE) is None
    assert claim(session, ids[0], now=NOW + LEASE * 2, lease=LEASE) is not None


def test_a_lease_shorter_than_an_smtp_attempt_is_refused_by_the_settings() -> None:
    from pydantic import ValidationError

    from service.config import Settings

    with pytest.raises(ValidationError, match="must outlast one SMTP attempt"):
        Settings(reconcile_after=10, smtp_timeout=30)
