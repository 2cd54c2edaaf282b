"""Fan-out in slices: a run's deliveries go on the queue a slice at a time, so runs take turns.

The deliveries queue is first in, first out. Queued whole, a run of 5,000 contacts puts every
run that comes after it behind its 5,000 messages and its renders: at the top of the hour,
every small account due in the same minute waits for the largest one. So a run is queued in
slices. ``start_run`` queues the first; in the middle of each slice rides a marker
(``continue_run``) that queues the next one when a worker reaches it, at the back of the
queue, behind whatever other runs queued meanwhile. Each run thus has at most about one and
a half slices waiting at any time, and runs that arrive together are served round robin, a
slice each; a run that arrives later waits behind at most that much of each run in progress.

Slices start small and double (``FIRST_SLICE``, ``MAX_SLICE``): a run of ten contacts goes
out whole at once, and a large run's first slice brings few of its renders ahead of the runs
that arrived with it. The actors (``actors.delivery``) put each run's first slice on a queue
of its own whose messages a worker starts before any later slice's, so a small run's first
render comes before a large run's hundredth even when the worker already holds that one.
The marker sits in the middle of its slice, not at the end, so the next slice is queued
while half of this one still waits: a run alone on the queue never lets it run dry.

The ledger decides, as everywhere: the run's ``fanout_cursor`` is the last delivery id the
fan-out queued, moved under the run's row lock in the transaction that picks the slice and
committed before the slice is queued. A marker carries the cursor it expects and does nothing
if the cursor has moved (a marker delivered twice, or a chain of slices started again), so
one chain goes on and no delivery is queued twice by the fan-out. A crash between the commit
and the queueing loses the slice's messages and the chain: the reconciler queues the slice's
deliveries (pending, at or below the cursor) once they have waited ``REPORTD_RECONCILE_AFTER``,
and starts the run's fan-out again once ``fanout_at`` has not moved for as long
(:func:`stalled_fan_outs`). Deliveries past the cursor are the fan-out's, not lost ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from service.delivery.ledger import DeliveryState
from storage.models import Delivery, ReportRun

#: Deliveries in a run's first slice: a small run goes out whole, a large one brings few renders
#: ahead of the runs that arrived with it.
FIRST_SLICE = 10
#: The largest slice: about a second of two workers' deliveries when they share documents;
#: a run arriving later waits behind at most one and a half of these per run in progress.
MAX_SLICE = 100

_runs = cast(Table, ReportRun.__table__)
_deliveries = cast(Table, Delivery.__table__)

_CURSOR = (
    select(_runs.c.fanout_cursor, _runs.c.finished)
    .where(_runs.c.id == bindparam("run_id"))
    .with_for_update()
)
_NEXT_IDS = (
    select(_deliveries.c.id)
    .where(
        _deliveries.c.run_id == bindparam("run_id"),
        _deliveries.c.state == DeliveryState.pending.value,
        _deliveries.c.id > bindparam("after"),
    )
    .order_by(_deliveries.c.id)
    .limit(bindparam("wanted"))
)
_MOVE = (
    update(_runs)
    .where(_runs.c.id == bindparam("run_id"))
    .values(fanout_cursor=bindparam("cursor"), fanout_at=bindparam("at"))
)


@dataclass(frozen=True)
class Slice:
    """Deliveries of a run to queue now, and where the fan-out goes on from."""

    run_id: int
    delivery_ids: list[int]
    #: The last delivery id queued so far: what the next slice's marker expects.
    cursor: int
    #: This slice's number (0 for the first); the next is twice as large, up to MAX_SLICE.
    number: int
    #: Whether pending deliveries are left after this slice (then a marker rides with it).
    more: bool


def slice_size(number: int) -> int:
    """How many deliveries slice ``number`` holds: FIRST_SLICE, doubling up to MAX_SLICE."""
    return min(MAX_SLICE, FIRST_SLICE << min(number, 16))


def take_slice(
    session: Session,
    run_id: int,
    *,
    number: int,
    now: datetime,
    expected: int | None = None,
    resume: bool = False,
) -> Slice | None:
    """Pick the run's next slice and move its cursor past it, in the caller's transaction.

    A marker passes the cursor it ``expected``; None is returned (nothing to queue) when the
    cursor moved since. ``resume`` (``start_run``) goes on from wherever the cursor is. The
    caller commits, then queues the slice's deliveries.
    """
    found = session.execute(_CURSOR, {"run_id": run_id}).first()
    if found is None or found.finished is not None:
        return None
    cursor: int | None = found.fanout_cursor
    if not resume and cursor != expected:
        return None
    size = slice_size(number)
    params = {"run_id": run_id, "after": cursor or 0, "wanted": size + 1}
    ids = list(session.scalars(_NEXT_IDS, params))
    more = len(ids) > size
    ids = ids[:size]
    moved = ids[-1] if ids else (cursor or 0)
    session.execute(_MOVE, {"run_id": run_id, "cursor": moved, "at": now if more else None})
    return Slice(run_id=run_id, delivery_ids=ids, cursor=moved, number=number, more=more)


def stalled_fan_outs(session: Session, *, now: datetime, stalled_for: timedelta) -> list[int]:
    """Runs whose fan-out has not queued a slice for ``stalled_for`` though some are left (its
    marker was lost with Redis, or its worker died between commit and queueing): to be started
    again with ``start_run``. They are touched, so the next pass waits again."""
    statement = (
        select(ReportRun.id)
        .where(
            ReportRun.finished.is_(None),
            ReportRun.fanout_at.is_not(None),
            ReportRun.fanout_at < now - stalled_for,
        )
        .order_by(ReportRun.id)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(statement))
    if ids:
        session.execute(
            update(ReportRun)
            .where(ReportRun.id.in_(ids))
            .values(fanout_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids
