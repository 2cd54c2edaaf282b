"""Real worker processes on Redis and PostgreSQL, killed with ``kill -9`` or robbed of their
queue by a Redis that forgets: the reconciler makes up for both, and every contact still gets
exactly one mail.

Each test waits until the fan-out has stalled before it reconciles, so it also shows that
without the reconciler the run would never finish.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from service.delivery.ledger import LEASED_STATES, DeliveryState
from service.delivery.smtp_sink import SmtpSink
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact, Delivery, ReportRun
from tests.actors.conftest import JONAS, SECRET, World, make_world
from tests.actors.procs import (
    REDIS_URL,
    ClaimedRedis,
    WorkerProcess,
    actors_on,
    claimed_redis,
    redis_available,
    reportd,
    reportd_env,
)
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

#: Seconds before a pending delivery counts as lost; also the claim lease, so that a dead
#: worker's claims lapse quickly.
RECONCILE_AFTER = 3
#: Auditors added to the sample's three contacts, each in a time zone of their own: a document
#: and a render each, so the fan-out lasts long enough to be interrupted.
AUDITOR_ZONES = (
    "UTC", "Europe/Lisbon", "Europe/Paris", "Europe/Athens", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Shanghai",
    "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu",
    "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
    "America/New_York",
)  # fmt: skip
#: A database of this run's own (worker processes need one they can reach; other runs of the
#: suite may be going on at the same time).
DATABASE_URL = (
    make_url(POSTGRES_URL)
    .set(database=f"reportd_crash_test_{os.getpid()}")
    .render_as_string(hide_password=False)
)
#: Seconds without a delivery held by a live worker before a fan-out counts as stalled: a
#: worker between two messages is idle for milliseconds only.
QUIET_FOR = 2.0


@pytest.fixture
def redis_db() -> Iterator[ClaimedRedis]:
    need("Redis", redis_available(), f"no answer from {REDIS_URL}")
    with claimed_redis() as db:
        yield db


@pytest.fixture
def crash_world(tmp_path: Path, redis_db: ClaimedRedis) -> Iterator[World]:
    """The sample account plus 20 auditors in PostgreSQL, an SMTP sink, Redis as the broker."""
    engine = postgres_engine(DATABASE_URL)
    need("PostgreSQL", engine is not None, f"cannot create a database at {DATABASE_URL}")
    assert engine is not None
    engine.dispose()
    try:
        with SmtpSink(tmp_path / "outbox") as sink:
            world = make_world(tmp_path, sink, database_url=DATABASE_URL)
            world.settings = world.settings.model_copy(update={"broker_url": redis_db.url})
            try:
                add_auditors(world)
                yield world
            finally:
                world.sessions.kw["bind"].dispose()
    finally:
        drop_postgres_database(engine)


@pytest.fixture
def start_worker(crash_world: World, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    """Starts ``reportd worker``-like processes on the world; kills what is left of them."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(worker_env(crash_world), tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


def test_a_worker_killed_mid_render_is_made_up_for_with_exactly_one_mail_each(
    crash_world: World, start_worker: Callable[[], WorkerProcess]
) -> None:
    world = crash_world
    run_id, ids = world.new_run()
    first = start_worker()
    start_run_through_redis(world, run_id)

    # When some mails are out and a render is in progress, with no mail half-sent
    # (a kill mid-send would rightly make a possible duplicate) ...
    wait_for(
        lambda: mid_render(count_states(world, run_id)),
        "some deliveries sent and one rendering, none sending",
    )
    first.kill()
    held_by_the_dead = ids_in(world, run_id, *LEASED_STATES)
    killed_mid_render = ids_in(world, run_id, DeliveryState.rendering)
    assert killed_mid_render and not first.pids()

    # ... another worker takes the queue over, but not what the dead one held ...
    sent_by_the_dead = count_states(world, run_id)[DeliveryState.sent]
    start_worker()
    wait_for(
        lambda: count_states(world, run_id)[DeliveryState.sent] > sent_by_the_dead,
        "mail from the second worker",
    )
    stalled = wait_until_stalled(world, run_id, dead=held_by_the_dead)
    assert set(held_by_the_dead) <= set(stalled)
    wait_until_leases_lapse(world, held_by_the_dead)

    # ... until the reconciler enqueues what the dead worker held, once its lease lapsed.
    assert reconcile(world) == len(stalled)
    run = world.wait_finished(run_id, timeout=60)

    assert (run.sent, run.failed, run.total) == (len(ids), 0, len(ids))
    assert_exactly_one_mail_each(world, run_id)
    for delivery_id in killed_mid_render:
        delivery = world.delivery(delivery_id)
        assert delivery.attempts == 2 and not delivery.possible_duplicate


def test_a_redis_flushed_mid_fan_out_is_made_up_for_with_exactly_one_mail_each(
    crash_world: World, redis_db: ClaimedRedis, start_worker: Callable[[], WorkerProcess]
) -> None:
    world = crash_world
    run_id, ids = world.new_run()
    start_worker()
    start_run_through_redis(world, run_id)

    # When some mails are out, Redis loses every message (a restart without persistence) ...
    wait_for(lambda: count_states(world, run_id)[DeliveryState.sent] >= 3, "3 mails sent")
    redis_db.flush()
    flushed_at = time.monotonic()
    assert not world.all_final(run_id), "the fan-out ended before the flush: lengthen it"

    # ... the worker finishes what it had already taken, and the rest waits forever ...
    stalled = wait_until_stalled(world, run_id)
    assert stalled and ids_in(world, run_id, DeliveryState.pending) == stalled
    time.sleep(max(0.0, flushed_at + RECONCILE_AFTER - time.monotonic()))

    # ... until the reconciler finds the deliveries left pending and enqueues them again.
    assert reconcile(world) == len(stalled)
    run = world.wait_finished(run_id, timeout=60)

    assert (run.sent, run.failed, run.total) == (len(ids), 0, len(ids))
    assert_exactly_one_mail_each(world, run_id)


# -- helpers ----------------------------------------------------------------------------------


def add_auditors(world: World) -> None:
    with transaction(world.sessions) as session:
        auditor = session.get(Contact, world.contacts[JONAS])
        assert auditor is not None
        for number, zone in enumerate(AUDITOR_ZONES, start=1):
            added = add_contact(
                session,
                account_id=world.account_id,
                box=SecretBox(SECRET),
                name=f"Auditor {number:02d}",
                email_address=f"auditor{number:02d}@example.com",
                role_id=auditor.role_id,
                time_zone=zone,
            )
            world.contacts[added.email_address] = added.id


def worker_env(world: World) -> dict[str, str]:
    return reportd_env(world.settings, reconcile_after=RECONCILE_AFTER, smtp_timeout=2)


def reconcile(world: World) -> int:
    """Run ``reportd reconcile`` once, as cron or the scheduler would; how many deliveries it
    put back on the queue: those it enqueued, and those past the cursor of a run whose
    stalled fan-out it started again (``service.delivery.fanout``: the dead worker may have
    held the marker that queues a run's next slice)."""
    owed, last_slice = owed_by_fan_outs(world)
    if owed:  # a fan-out counts as stalled once its last slice is RECONCILE_AFTER old
        time.sleep(max(0.0, (last_slice - datetime.now(UTC)).total_seconds()) + RECONCILE_AFTER)
    output = reportd("reconcile", env=worker_env(world))
    found = re.search(r"re-enqueued (\d+) deliveries", output)
    assert found, output
    resumed = re.search(r"resumed the fan-out of (\d+) runs", output)
    assert bool(resumed) == bool(owed), output
    return int(found.group(1)) + sum(owed.values())


def owed_by_fan_outs(world: World) -> tuple[dict[int, int], datetime]:
    """Pending deliveries past the cursor of each run whose fan-out is still going, and when
    the last of those runs queued its last slice."""
    with world.sessions() as session:
        rows = session.execute(
            select(Delivery.run_id, func.count(Delivery.id), func.max(ReportRun.fanout_at))
            .join(ReportRun, ReportRun.id == Delivery.run_id)
            .where(
                ReportRun.fanout_at.is_not(None),
                Delivery.id > ReportRun.fanout_cursor,
                Delivery.state == DeliveryState.pending.value,
            )
            .group_by(Delivery.run_id)
        ).all()
    last = max((row[2] for row in rows), default=datetime.now(UTC))
    return {run_id: count for run_id, count, _ in rows}, last


def start_run_through_redis(world: World, run_id: int) -> None:
    with actors_on(world.settings):
        from actors.delivery import start_run

        start_run.send(run_id)


def count_states(world: World, run_id: int) -> Counter[str]:
    return Counter(world.states(run_id).values())


def mid_render(states: Counter[str]) -> bool:
    sent, rendering, sending = DeliveryState.sent, DeliveryState.rendering, DeliveryState.sending
    return states[sent] >= 3 and states[rendering] >= 1 and states[sending] == 0


def ids_in(world: World, run_id: int, *states: DeliveryState) -> list[int]:
    with world.sessions() as session:
        statement = select(Delivery.id).where(
            Delivery.run_id == run_id, Delivery.state.in_([s.value for s in states])
        )
        return list(session.scalars(statement.order_by(Delivery.id)))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.02)


def wait_until_stalled(
    world: World, run_id: int, *, dead: Collection[int] = (), timeout: float = 90
) -> list[int]:
    """Wait until no live worker has held a delivery of the run for ``QUIET_FOR`` seconds;
    return the ids left unfinished. ``dead`` are held by a worker that was killed.
    """
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET_FOR:
        assert time.monotonic() < deadline, f"the workers never went quiet: {world.states(run_id)}"
        if set(ids_in(world, run_id, *LEASED_STATES)) - set(dead):
            quiet_since = time.monotonic()
        time.sleep(0.05)
    return ids_in(world, run_id, DeliveryState.pending, *LEASED_STATES)


def wait_until_leases_lapse(world: World, ids: Collection[int], timeout: float = 60) -> None:
    with world.sessions() as session:
        leases = session.scalars(select(Delivery.lease_until).where(Delivery.id.in_(ids))).all()
    lapse = max((lease for lease in leases if lease is not None), default=datetime.now(UTC))
    wait = (lapse - datetime.now(UTC)).total_seconds()
    assert wait < timeout, f"leases held until {lapse}, more than {timeout} s from now"
    time.sleep(max(0.0, wait) + 0.1)


def assert_exactly_one_mail_each(world: World, run_id: int) -> None:
    received = Counter(address for mail in world.sink.received for address in mail.rcpt_tos)
    assert received == dict.fromkeys(world.states(run_id), 1)
