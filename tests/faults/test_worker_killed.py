"""A worker killed with ``kill -9`` in the middle of a render, twice in one run of 200
contacts: every contact still gets exactly one mail.

What a dead worker held is made up for by the reconciler (``reportd reconcile --loop``, as an
operator runs it): the deliveries it was rendering come back once their lease lapsed, the
ones it had fetched from Redis but not started once they were pending for
``REPORTD_RECONCILE_AFTER``. Each kill happens while the worker is frozen (SIGSTOP) and the
ledger shows a delivery claimed long enough ago to be in Chromium and none sending: a kill
during SMTP would rightly leave a possible duplicate, which is not this test's subject.
"""

from __future__ import annotations

import time

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
    notes,
    rendering_for,
    start_run,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

#: Contacts of the run: the sample's three and the ones added.
CONTACTS = 200
#: Time zones among the contacts: a document and a render each, in each worker's life.
ZONES = 12
#: A delivery claimed this long ago and not yet sending is rendering: reusing a shared
#: document takes a few milliseconds, printing one a few hundred.
IN_CHROMIUM_AFTER = 0.15
#: Mails a worker sends before it is killed: the run is well under way.
SENT_BEFORE_KILL = 5


def test_a_worker_killed_twice_mid_render_leaves_each_of_200_contacts_exactly_one_mail(
    world: World, processes: Processes
) -> None:
    add_contacts(world, CONTACTS - len(world.contacts), zones=ZONES)
    run_id, ids = world.new_run(report_type=REPORT_TYPE)
    assert len(ids) == CONTACTS
    reconciler = processes.reconciler()
    worker = processes.worker()
    start_run(world, run_id)

    with explained(processes):
        # When a worker is killed mid-render, and then the worker that replaced it too ...
        killed: dict[int, str] = {}  # delivery id -> the dead worker's claim token
        for _ in range(2):
            sent_before = count_states(world, run_id)[DeliveryState.sent]
            killed |= kill_mid_render(
                world,
                run_id,
                worker,
                sent_first=sent_before + SENT_BEFORE_KILL,
                held_by_the_dead=killed,
            )
            worker = processes.worker()

        # ... the third worker, with the reconciler, finishes the run ...
        run = world.wait_finished(run_id, timeout=120)
        reconciler.assert_alive()

    # ... with exactly one mail per contact, the renders cut short done again by a new claim.
    assert (run.sent, run.failed, run.total) == (CONTACTS, 0, CONTACTS)
    assert_each_delivery_mailed_once(world, run_id)
    for delivery_id in killed:
        delivery = world.delivery(delivery_id)
        assert delivery.state == DeliveryState.sent and not delivery.possible_duplicate
        assert delivery.attempts >= 2, notes(world, delivery_id)
        assert any("lease lapsed" in note for note in notes(world, delivery_id))


def kill_mid_render(
    world: World,
    run_id: int,
    worker: FaultWorker,
    *,
    sent_first: int,
    held_by_the_dead: dict[int, str],
    timeout: float = 90,
) -> dict[int, str]:
    """``kill -9`` the worker once ``sent_first`` mails are out and it is rendering, with no
    mail being sent; the deliveries it was rendering, with its claim tokens.
    """
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"never mid-render: {count_states(world, run_id)}"
        if rendering_now(world, run_id, sent_first, held_by_the_dead):
            worker.freeze()
            rendering = rendering_now(world, run_id, sent_first, held_by_the_dead)
            if rendering:
                worker.kill()
                assert not worker.pids()
                return rendering
            worker.thaw()
        time.sleep(0.02)


def rendering_now(
    world: World, run_id: int, sent_first: int, held_by_the_dead: dict[int, str]
) -> dict[int, str]:
    """What the live worker is rendering, if ``sent_first`` mails are out and none is being
    sent; claims a killed worker left behind do not count.
    """
    states = count_states(world, run_id)
    if states[DeliveryState.sent] < sent_first or states[DeliveryState.sending]:
        return {}
    rendering = rendering_for(world, run_id, IN_CHROMIUM_AFTER)
    return {i: token for i, token in rendering.items() if held_by_the_dead.get(i) != token}
