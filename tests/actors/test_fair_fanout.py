"""Runs take turns on the queue: dramatiq's stub broker and a real worker, real Chromium and a
real SMTP server (``service.delivery.fanout``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from actors.embedded import EmbeddedDispatcher
from service.delivery.fanout import take_slice
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.reconcile import find_lost_work
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, ReportRun
from tests.actors.conftest import ALEX, JONAS, SECRET, World

#: Contacts added to the sample's three, all with one clearance, language and zone: one
#: document, so the large run's time goes to its deliveries.
EXTRA = 120


@pytest.fixture
def crowd(world: World) -> World:
    with transaction(world.sessions) as session:
        role_id = session.get(Contact, world.contacts[JONAS]).role_id  # type: ignore[union-attr]
        for n in range(EXTRA):
            added = add_contact(
                session,
                account_id=world.account_id,
                box=SecretBox(SECRET),
                name=f"Reader {n:03d}",
                email_address=f"reader{n:03d}@example.com",
                role_id=role_id,
            )
            world.contacts[added.email_address] = added.id
    return world


@pytest.fixture
def worker(crowd: World, renderer: PdfRenderer) -> Iterator[EmbeddedDispatcher]:
    with EmbeddedDispatcher(crowd.settings, crowd.deps(renderer)) as embedded:
        yield embedded


def test_a_small_run_queued_after_a_large_one_finishes_first(
    crowd: World, worker: EmbeddedDispatcher
) -> None:
    # Given a run to every contact and a run to Alex alone, queued together, the large first
    large, large_ids = crowd.new_run()
    small, _ = crowd.new_run(Recipients(contact_ids=[crowd.contacts[ALEX]]))

    # When the worker fans them out
    worker.start_runs([large, small])
    small_run = crowd.wait_finished(small)
    large_run = crowd.wait_finished(large, timeout=180)

    # Then the small run finished first, while most of the large one was still to be sent
    assert small_run.finished is not None and large_run.finished is not None
    assert small_run.finished < large_run.finished
    with crowd.sessions() as session:
        sent_before = session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.run_id == large, Delivery.sent_at <= small_run.finished
            )
        )
    assert (sent_before or 0) < len(large_ids) / 2
    # ... and every contact got one mail of each run it was in
    received = Counter(address for mail in crowd.sink.received for address in mail.rcpt_tos)
    assert received[ALEX] == 2 and received[JONAS] == 1
    assert set(received.values()) <= {1, 2} and sum(received.values()) == len(large_ids) + 1


def test_a_fan_out_that_crashed_mid_run_loses_and_doubles_nothing(
    crowd: World, worker: EmbeddedDispatcher
) -> None:
    # Given a fan-out that committed its first slice and then died before queueing it
    run_id, ids = crowd.new_run()
    crashed_at = datetime.now(UTC)
    with transaction(crowd.sessions) as session:
        first = take_slice(session, run_id, number=0, now=crashed_at, resume=True)
    assert first is not None and first.more

    # When the reconciler finds what was lost, and the lost slice's marker turns up as well
    with transaction(crowd.sessions) as session:
        lost = find_lost_work(
            session, now=crashed_at + timedelta(hours=1), pending_for=timedelta(minutes=10)
        )
    assert lost.deliveries == first.delivery_ids and lost.runs == [run_id]
    worker.enqueue_deliveries(lost.deliveries)
    worker.start_runs(lost.runs)
    from actors.delivery import continue_run

    continue_run.send(run_id, first.cursor, 1)  # a stale marker: the cursor has moved on

    # Then the run finishes with exactly one mail to each contact
    run = crowd.wait_finished(run_id, timeout=180)
    assert (run.sent, run.failed) == (len(ids), 0)
    received = Counter(address for mail in crowd.sink.received for address in mail.rcpt_tos)
    assert len(received) == len(ids) and set(received.values()) == {1}
    with crowd.sessions() as session:
        duplicates = session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.run_id == run_id, Delivery.possible_duplicate.is_(True)
            )
        )
        closed = session.get(ReportRun, run_id)
    assert duplicates == 0 and closed is not None and closed.fanout_at is None
