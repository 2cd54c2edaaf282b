"""The SMTP server down for 60 seconds in the middle of a run: every mail arrives after it
returns, once.

A refused connection is a transient failure: the delivery goes back to ``pending`` and its
message comes back after an exponential backoff (15, 30, 60 s: the fourth attempt, 105 s after
the first, is past the outage, within the five attempts allowed). No reconciler runs, so the
backoff alone carries the deliveries over. The server goes down while no mail is being sent
(the worker is frozen to find that moment): a connection cut during DATA is a possible
duplicate, ``tests/actors/test_smtp_faults.py``'s subject.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest

from service.delivery.ledger import DeliveryState
from tests.actors.conftest import World
from tests.faults.harness import (
    REPORT_TYPE,
    FaultWorker,
    Processes,
    add_contacts,
    assert_each_delivery_mailed_once,
    count_states,
    explained,
    ids_in,
    notes,
    start_run,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

CONTACTS = 40
#: Time zones among the contacts: a document and a render each, in each worker's life.
ZONES = 4
#: Seconds the SMTP server is down.
DOWN_FOR = 60.0
#: A delivery in these states has not been mailed.
NOT_SENT = (DeliveryState.pending, DeliveryState.rendering, DeliveryState.sending)


def test_smtp_down_for_60_s_mid_run_every_mail_arrives_after_it_returns_once(
    world: World, processes: Processes
) -> None:
    add_contacts(world, CONTACTS - len(world.contacts), zones=ZONES)
    run_id, _ = world.new_run(report_type=REPORT_TYPE)
    worker = processes.worker()
    start_run(world, run_id)

    with explained(processes):
        # When some mails are out, the SMTP server goes away for a minute ...
        wait_for(lambda: count_states(world, run_id)[DeliveryState.sent] >= 10, "10 mails sent")
        stop_smtp_between_two_sends(world, run_id, worker)
        down_since = time.monotonic()
        waiting = ids_in(world, run_id, *NOT_SENT)
        assert waiting, "the run ended before the SMTP server went: lengthen it"
        assert refused(world.sink.port)

        # ... the deliveries try, fail, and wait for their next attempt ...
        wait_for(
            lambda: all(world.delivery(i).attempts >= 2 for i in waiting),
            "a second attempt of every waiting delivery",
            timeout=DOWN_FOR,
        )
        assert world.sink.count == CONTACTS - len(waiting)
        time.sleep(max(0.0, down_since + DOWN_FOR - time.monotonic()))

        # ... and when it is back, the run completes.
        returned = datetime.now(UTC)
        world.sink.start()
        run = world.wait_finished(run_id, timeout=120)
        assert worker.popen.poll() is None, "the worker exited"

    assert (run.sent, run.failed, run.total) == (CONTACTS, 0, CONTACTS)
    assert_each_delivery_mailed_once(world, run_id)
    for delivery_id in waiting:
        delivery = world.delivery(delivery_id)
        assert delivery.sent_at is not None and delivery.sent_at >= returned
        assert not delivery.possible_duplicate, notes(world, delivery_id)
        assert any(n.startswith("sending->pending") for n in notes(world, delivery_id))


def stop_smtp_between_two_sends(world: World, run_id: int, worker: FaultWorker) -> None:
    """Stop the SMTP sink at a moment when the worker is sending nothing."""
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "the worker never paused between two sends"
        worker.freeze()
        try:
            if not count_states(world, run_id)[DeliveryState.sending]:
                world.sink.stop()
                return
        finally:
            worker.thaw()
        time.sleep(0.02)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False
