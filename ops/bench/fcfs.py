"""The fan-out as it was before issue 20, for ``ops/bench/peak.py``'s comparison only.

``start_run`` queued every pending delivery of its run at once, one message (one round trip
to Redis) at a time: first come, first served, so a large run put every run that came after
it behind all of its messages. A worker process imports this module after
``actors.worker_main`` (``python -m dramatiq actors.worker_main ops.bench.fcfs``), which puts
that ``start_run`` back in this process. Not part of reportd.
"""

from __future__ import annotations

from actors import delivery, runtime
from service.delivery.ledger import pending_delivery_ids
from storage.db import transaction


def start_run_all_at_once(run_id: int) -> None:
    """Enqueue one ``deliver`` per delivery of the run that is still pending."""
    with transaction(runtime.deps().sessions) as session:
        ids = pending_delivery_ids(session, run_id)
    for delivery_id in ids:
        delivery.deliver.send(delivery_id)


delivery.start_run.fn = start_run_all_at_once
