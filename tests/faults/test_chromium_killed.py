"""Chromium killed under a running worker in the middle of a render: the worker launches a new
one, and every delivery completes, each exactly once, without the worker restarting.

Only the browser's processes are killed (``kill -9``), never the worker's own: the renderer
(``service.delivery.pdf``) sees its browser gone, launches another and renders again.
"""

from __future__ import annotations

import contextlib
import os
import signal
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
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

CONTACTS = 40
#: Time zones among the contacts: a document and a render each, in each worker's life.
ZONES = 8
#: A delivery claimed this long ago and not yet sending is waiting for Chromium.
IN_CHROMIUM_AFTER = 0.15


def test_chromium_killed_under_a_worker_mid_render_is_relaunched_and_each_contact_mailed_once(
    world: World, processes: Processes
) -> None:
    add_contacts(world, CONTACTS - len(world.contacts), zones=ZONES)
    run_id, _ = world.new_run(report_type=REPORT_TYPE)
    worker = processes.worker()
    python = worker.python_pids()  # dramatiq's main process and the worker process it forked
    start_run(world, run_id)

    with explained(processes):
        # When the worker is rendering, its Chromium is killed ...
        wait_for(lambda: count_states(world, run_id)[DeliveryState.sent] >= 5, "5 mails sent")
        killed, interrupted = kill_chromium_mid_render(world, run_id, worker)
        wait_for(lambda: not set(killed) & set(worker.pids()), "Chromium gone", timeout=10)

        # ... the same worker starts another one, and the run completes.
        run = world.wait_finished(run_id, timeout=90)
        # The same processes (an encryption helper may have started beside them).
        assert worker.popen.poll() is None and set(python) <= set(worker.python_pids())
        relaunched = worker.chromium_pids()
        assert relaunched and not set(relaunched) & set(killed)

    assert (run.sent, run.failed, run.total) == (CONTACTS, 0, CONTACTS)
    assert_each_delivery_mailed_once(world, run_id)
    for delivery_id in interrupted:
        assert not world.delivery(delivery_id).possible_duplicate, notes(world, delivery_id)


def kill_chromium_mid_render(
    world: World, run_id: int, worker: FaultWorker, timeout: float = 60
) -> tuple[list[int], list[int]]:
    """``kill -9`` every Chromium process of the worker while it renders; their pids, and
    the deliveries whose render was cut short.
    """
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"never mid-render: {count_states(world, run_id)}"
        if rendering_for(world, run_id, IN_CHROMIUM_AFTER):
            worker.freeze()
            try:
                chromium = worker.chromium_pids()
                rendering = rendering_for(world, run_id, IN_CHROMIUM_AFTER)
                if chromium and rendering:
                    for pid in chromium:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    return chromium, sorted(rendering)
            finally:
                worker.thaw()
        time.sleep(0.02)
