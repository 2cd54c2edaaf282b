"""The sliced fan-out's ledger (``service.delivery.fanout``): slices grow and cover a run once,
a stale marker does nothing, and the reconciler tells lost work from work the fan-out owes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.delivery.fanout import FIRST_SLICE, MAX_SLICE, slice_size, stalled_fan_outs, take_slice
from service.delivery.ledger import DeliveryState, Recipients, create_run
from service.delivery.reconcile import find_lost_work
from service.directory.accounts import create_account
from service.directory.contacts import add_contact
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.models import Delivery, ReportRun

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
WAIT = timedelta(minutes=10)


def large_run(session: Session, contacts: int) -> tuple[int, list[int]]:
    """A run to the sample's three contacts and ``contacts - 3`` more."""
    account = create_account(session, name=f"Fan-out {id(session)} {contacts}")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    for n in range(contacts - 3):
        add_contact(
            session,
            account_id=account.id,
            box=SecretBox("k"),
            name=f"Extra {n:03d}",
            email_address=f"extra{n:03d}@example.com",
            role_id=None,
        )
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


def test_slices_start_small_double_and_cover_each_delivery_once(session: Session) -> None:
    # Given a run of 200 deliveries
    run_id, ids = large_run(session, 200)

    # When its fan-out takes slice after slice, each marker passing the cursor it was given
    taken = take_slice(session, run_id, number=0, now=NOW, resume=True)
    slices = []
    while taken is not None and taken.delivery_ids:
        slices.append(taken)
        if not taken.more:
            break
        taken = take_slice(session, run_id, number=taken.number + 1, now=NOW, expected=taken.cursor)

    # Then the slices are 10, 20, 40, 80 and the rest, and cover the run once, in order
    assert [len(s.delivery_ids) for s in slices] == [10, 20, 40, 80, 50]
    assert [d for s in slices for d in s.delivery_ids] == sorted(ids)
    assert [s.more for s in slices] == [True] * 4 + [False]
    run = session.get(ReportRun, run_id)
    assert run is not None and run.fanout_cursor == max(ids) and run.fanout_at is None
    assert slice_size(0) == FIRST_SLICE and slice_size(30) == MAX_SLICE


def test_a_marker_delivered_twice_or_late_queues_nothing(session: Session) -> None:
    run_id, _ = large_run(session, 40)
    first = take_slice(session, run_id, number=0, now=NOW, resume=True)
    assert first is not None
    second = take_slice(session, run_id, number=1, now=NOW, expected=first.cursor)
    assert second is not None and second.delivery_ids

    # When the first slice's marker comes again (Redis redelivered it)
    again = take_slice(session, run_id, number=1, now=NOW, expected=first.cursor)

    # Then it finds the cursor moved and queues nothing
    assert again is None


def test_start_run_again_goes_on_from_the_cursor_never_back(session: Session) -> None:
    run_id, ids = large_run(session, 40)
    first = take_slice(session, run_id, number=0, now=NOW, resume=True)
    restarted = take_slice(session, run_id, number=0, now=NOW, resume=True)
    assert first is not None and restarted is not None
    assert set(first.delivery_ids).isdisjoint(restarted.delivery_ids)
    assert restarted.delivery_ids == sorted(ids)[10:20]


def test_the_reconciler_resends_a_lost_slice_and_restarts_a_stalled_fan_out(
    session: Session,
) -> None:
    # Given a fan-out that committed its first slice, then lost it and its marker (a crash
    # between the commit and the queueing, or Redis forgetting)
    run_id, ids = large_run(session, 40)
    first = take_slice(session, run_id, number=0, now=NOW, resume=True)
    assert first is not None

    # When the reconciler looks before the wait is over, nothing is lost yet
    assert not find_lost_work(session, now=NOW + WAIT / 2, pending_for=WAIT)

    # When it looks after the wait
    lost = find_lost_work(session, now=NOW + 2 * WAIT, pending_for=WAIT)

    # Then it resends the slice's deliveries, and leaves the rest to the restarted fan-out
    assert lost.deliveries == first.delivery_ids
    assert lost.runs == [run_id]
    # ... and the next pass waits again rather than restart it twice
    assert stalled_fan_outs(session, now=NOW + 2 * WAIT, stalled_for=WAIT) == []


def test_a_run_fanned_out_whole_is_reconciled_delivery_by_delivery(session: Session) -> None:
    run_id, ids = large_run(session, 5)
    taken = take_slice(session, run_id, number=0, now=NOW, resume=True)
    assert taken is not None and not taken.more
    session.execute(
        update(Delivery).where(Delivery.id == ids[0]).values(state=DeliveryState.sent.value)
    )

    lost = find_lost_work(session, now=NOW + 2 * WAIT, pending_for=WAIT)

    assert lost.deliveries == sorted(ids)[1:] and lost.runs == []
