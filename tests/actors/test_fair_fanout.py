"""Runs take turns on the queue, and every run's first slice goes ahead of any run's later ones:
dramatiq's stub broker and a real worker, real Chromium and a real SMTP server
(``service.delivery.fanout``, ``actors.delivery``)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import func, select

from actors.broker import DELIVERIES_QUEUE, LATER_QUEUE
from actors.delivery import continue_run, deliver_later, start_run
from actors.embedded import DEFAULT_THREADS, EmbeddedDispatcher
from actors.enqueue import send_all
from service.delivery.fanout import FIRST_SLICE, take_slice
from service.delivery.ledger import Recipients
from service.delivery.pdf import PdfRenderer
from service.delivery.reconcile import find_lost_work
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, DeliveryTransition, ReportRun
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


def queued(broker: StubBroker) -> dict[str, list[tuple[str, tuple[object, ...]]]]:
    """What waits on each of the stub broker's queues: (actor, arguments), in order."""
    waiting: dict[str, list[tuple[str, tuple[object, ...]]]] = {}
    for name, queue in broker.queues.items():
        messages = [dramatiq.Message.decode(data) for data in list(queue.queue)]
        waiting[name] = [(m.actor_name, tuple(m.args)) for m in messages]
    return waiting


def test_a_runs_first_slice_goes_on_the_first_queue_and_the_rest_on_the_later_one(
    crowd: World, renderer: PdfRenderer
) -> None:
    # Given a run to every contact, and a worker that is not started
    run_id, ids = crowd.new_run()
    embedded = EmbeddedDispatcher(crowd.settings, crowd.deps(renderer))
    try:
        # When its fan-out starts, and its marker is run by hand
        start_run.fn(run_id)
        after_start = queued(cast(StubBroker, embedded.broker))
        continue_run.fn(*after_start[LATER_QUEUE][0][1])
        after_marker = queued(cast(StubBroker, embedded.broker))
    finally:
        embedded.stop()

    # Then the first ten deliveries wait on the first queue and only the marker on the later
    first = sorted(ids)[:FIRST_SLICE]
    assert after_start[DELIVERIES_QUEUE] == [("deliver", (i,)) for i in first]
    assert after_start[LATER_QUEUE] == [("continue_run", (run_id, first[-1], 1))]
    # ... and the second slice (twenty) goes on the later queue, its marker in its middle
    second = sorted(ids)[FIRST_SLICE : FIRST_SLICE * 3]
    later = after_marker[LATER_QUEUE][1:]
    assert [args[0] for name, args in later if name == "deliver_later"] == second
    assert later[len(second) // 2] == ("continue_run", (run_id, second[-1], 2))


def test_a_small_run_goes_ahead_of_a_large_runs_later_slices_a_worker_holds(
    crowd: World, renderer: PdfRenderer
) -> None:
    # Given a worker holding all of a large run's deliveries as later slices (its prefetch
    # raised so that it takes them all from the queue at once)
    large, large_ids = crowd.new_run()
    small, small_ids = crowd.new_run(Recipients(contact_ids=[crowd.contacts[ALEX]]))
    embedded = EmbeddedDispatcher(crowd.settings, crowd.deps(renderer))
    embedded.worker.queue_prefetch = len(large_ids)
    send_all(embedded.broker, [deliver_later.message(i) for i in large_ids])

    def claims_of_large(until: datetime | None = None) -> int:
        """How many of the large run's deliveries a worker had started (claimed) by ``until``."""
        statement = (
            select(func.count(func.distinct(DeliveryTransition.delivery_id)))
            .join(Delivery, Delivery.id == DeliveryTransition.delivery_id)
            .where(Delivery.run_id == large, DeliveryTransition.to_state == "rendering")
        )
        if until is not None:
            statement = statement.where(DeliveryTransition.at <= until)
        with crowd.sessions() as session:
            return session.scalar(statement) or 0

    with embedded:
        while claims_of_large() == 0:
            time.sleep(0.05)
        # When a small run's delivery arrives on the first queue
        claimed_when_queued = claims_of_large()
        embedded.enqueue_deliveries(small_ids)
        crowd.wait_finished(small)
        crowd.wait_finished(large, timeout=180)

    # Then a worker started it ahead of every later delivery it held but had not started
    with crowd.sessions() as session:
        small_claimed = session.scalar(
            select(func.min(DeliveryTransition.at)).where(
                DeliveryTransition.delivery_id == small_ids[0],
                DeliveryTransition.to_state == "rendering",
            )
        )
    assert small_claimed is not None
    assert claims_of_large(until=small_claimed) - claimed_when_queued <= 2 * DEFAULT_THREADS
    received = Counter(address for mail in crowd.sink.received for address in mail.rcpt_tos)
    assert received[ALEX] == 2 and set(received.values()) <= {1, 2}


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
