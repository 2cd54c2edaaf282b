"""Redis restarted without persistence in the middle of a run: the run completes, and no mail
is lost or sent twice.

The restart loses every queued message. The worker keeps its process (dramatiq reconnects
its consumer), finishes what it had in hand, and the reconciler (``reportd reconcile
--loop``) enqueues the deliveries left pending once they waited ``REPORTD_RECONCILE_AFTER``:
its sends during the outage wait for Redis instead of ending the process.
"""

from __future__ import annotations

import time

import pytest

from service.delivery.ledger import DeliveryState, Recipients
from tests.actors.conftest import ALEX, World
from tests.faults.harness import (
    LEASE,
    REPORT_TYPE,
    Processes,
    add_contacts,
    assert_each_delivery_mailed_once,
    count_states,
    explained,
    start_run,
    wait_for,
)
from tests.faults.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

CONTACTS = 60
#: Time zones among the contacts: a document and a render each, in each worker's life.
ZONES = 4
#: Seconds Redis stays down: longer than a delivery may wait before the reconciler sends it
#: again, so the reconciler also meets the outage.
DOWN_FOR = LEASE + 1.5


def test_redis_restarted_without_persistence_mid_run_loses_and_doubles_no_mail(
    world: World, processes: Processes, redis_server: RedisServer
) -> None:
    add_contacts(world, CONTACTS - len(world.contacts), zones=ZONES)
    run_id, _ = world.new_run(report_type=REPORT_TYPE)
    reconciler = processes.reconciler()
    worker = processes.worker()
    start_run(world, run_id)

    with explained(processes):
        # When some mails are out, Redis dies, and comes back empty on the same port ...
        wait_for(lambda: count_states(world, run_id)[DeliveryState.sent] >= 10, "10 mails sent")
        redis_server.kill()
        time.sleep(DOWN_FOR)
        redis_server.start()
        assert not world.all_final(run_id), "the run ended before Redis went: lengthen it"

        # ... the same worker and reconciler carry on (the reconciler's sends waited for
        # Redis), and the run completes ...
        run = world.wait_finished(run_id, timeout=90)
        assert "broker unreachable" in reconciler.output()
        reconciler.assert_alive()

        # ... and the worker takes new runs from the new Redis.
        alex = Recipients(contact_ids=[world.contacts[ALEX]])
        after, _ = world.new_run(alex, report_type=REPORT_TYPE)
        start_run(world, after)
        world.wait_finished(after, timeout=60)
        assert worker.popen.poll() is None, "the worker exited"

    # Exactly one mail per delivery.
    assert (run.sent, run.failed, run.total) == (CONTACTS, 0, CONTACTS)
    assert_each_delivery_mailed_once(world, run_id, after)
