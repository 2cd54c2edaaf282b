"""A worker that stops when asked: what it holds is finished or given back, its children end.

On SIGTERM dramatiq stops taking messages, requeues the ones fetched but not started, and
waits for the ones in hand for ``--worker-shutdown-timeout`` (``reportd worker`` passes its
``--shutdown-grace``). Then this middleware gives back the deliveries still being rendered
(``service.delivery.holding``: back to pending, queued again at once, so they are not left for their
lease to lapse), waits for a mail on the wire to be recorded (bounded by the SMTP time-out),
and stops the process's Chromium, encryption helper, SMTP connections and
database pool. Without it the worker process never exited: multiprocessing joins its
children at exit, and the encryption helper waits for work forever.

After the grace the process no longer waits for a database that stopped answering (the
engine otherwise tries a lost connection again for 30 s, each time): what it could not give
back stays in the ledger as it was, and the reconciler queues it again once its lease
lapses. The bound on stopping is the grace, plus the SMTP time-out for a mail on the wire,
plus closing Chromium: about the grace plus 10 s, database or not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dramatiq

from actors import runtime
from actors.enqueue import send_all
from service.delivery.holding import give_back
from service.runtime.outages import OUTAGE_ERRORS, describe_outage
from storage.db import stop_waiting_for_database

log = logging.getLogger(__name__)

#: Seconds beyond the SMTP time-out that a stopping worker waits for a mail being sent.
SENDING_MARGIN = 2.0


class StopCleanly(dramatiq.Middleware):
    """Give back what is still held after the grace, then close the process's collaborators."""

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        deps = runtime.built()
        if deps is None:
            return
        stop_waiting_for_database(deps.sessions.kw["bind"])
        try:
            try:
                given = give_back(deps.holding, deps.sessions, now=datetime.now(UTC))
            except OUTAGE_ERRORS as error:
                given = []
                log.warning(
                    "worker stopping: database unreachable, the deliveries in hand wait for "
                    "their lease and the reconciler: %s",
                    describe_outage(error),
                )
            if given:
                from actors.delivery import deliver

                send_all(broker, [deliver.message(delivery_id) for delivery_id in given])
                log.warning("worker stopping: gave back %d deliveries in hand", len(given))
            # What is left was moved to sending: its mail is on the wire; let it be recorded.
            if not deps.holding.wait_empty(timeout=deps.smtp.timeout + SENDING_MARGIN):
                log.warning("worker stopping: a mail in flight was not recorded in time")
        finally:
            runtime.close(deps)
            runtime.configure(None)
