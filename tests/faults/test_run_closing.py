"""The last two deliveries of a run settled at the same moment by two workers close the run.

Found by the PostgreSQL restart test: workers released together when the database came back
settled the last deliveries of a run in overlapping transactions; each counted the other's
delivery as still open, so neither closed the run, and nothing ever would. Two real
PostgreSQL sessions reproduce the overlap exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.delivery.ledger import (
    Claim,
    DeliveryState,
    Recipients,
    claim,
    finish_run_if_done,
    move,
)
from service.delivery.ledger import settle as settle_and_finish
from service.delivery.smtp_sink import SmtpSink
from storage.db import transaction
from storage.models import ReportRun
from tests.actors.conftest import ALEX, HANAKO, NOW, World, make_world
from tests.faults.servers import PostgresCluster

pytestmark = pytest.mark.postgres

#: How long the second settle is given to get ahead of the first one's commit.
HEAD_START = 0.5


@pytest.fixture
def ledger(tmp_path: Path, postgres: PostgresCluster) -> Iterator[World]:
    """The sample account in a database of its own; no server but PostgreSQL is used."""
    url = postgres.create_database(f"closing_{tmp_path.name}"[:63].lower())
    world = make_world(tmp_path, SmtpSink(tmp_path / "outbox"), database_url=url)
    yield world
    world.sessions.kw["bind"].dispose()


@pytest.mark.parametrize("how", ["move, then finish", "one statement"])
def test_the_last_two_deliveries_settled_at_once_close_the_run(ledger: World, how: str) -> None:
    world = ledger
    run_id, ids = world.new_run(
        Recipients(contact_ids=[world.contacts[ALEX], world.contacts[HANAKO]])
    )
    first, second = (sending(world, delivery_id) for delivery_id in ids)

    # Given the first worker has recorded its mail as sent, not yet committed ...
    with transaction(world.sessions) as session:
        assert settle(session, first, run_id, how) is False  # the other delivery is still open
        # ... when the second worker records the last mail at the same time ...
        closed: list[bool] = []
        other = threading.Thread(
            target=settle_and_commit, args=(world, second, run_id, closed, how)
        )
        other.start()
        time.sleep(HEAD_START)
    other.join(timeout=30)

    # ... then the run is closed, with both mails counted.
    assert closed == [True]
    with world.sessions() as session:
        run = session.get(ReportRun, run_id)
        assert run is not None and run.finished is not None
        assert (run.sent, run.failed, run.total) == (2, 0, 2)


def sending(world: World, delivery_id: int) -> Claim:
    """Claim the delivery and move it to sending, as a worker does before SMTP."""
    with transaction(world.sessions) as session:
        held = claim(session, delivery_id, now=NOW, lease=timedelta(minutes=5))
        assert held is not None
        assert move(session, held, to=DeliveryState.sending, now=NOW)
    return held


def settle(session: Session, held: Claim, run_id: int, how: str) -> bool:
    """Record the mail as sent and close the run if it was the last: in two steps, or as the
    pipeline does (``ledger.settle``: on PostgreSQL the move locks the run's row)."""
    if how == "one statement":
        moved, finished = settle_and_finish(
            session,
            held,
            to=DeliveryState.sent,
            now=NOW,
            run_id=run_id,
            held_in=DeliveryState.sending,
        )
        assert moved
        return finished
    assert move(session, held, to=DeliveryState.sent, now=NOW)
    return finish_run_if_done(session, run_id, now=NOW)


def settle_and_commit(world: World, held: Claim, run_id: int, closed: list[bool], how: str) -> None:
    with transaction(world.sessions) as session:
        closed.append(settle(session, held, run_id, how))
