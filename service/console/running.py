"""Handing committed runs to the workers from the console, as the API does.

``reportd api`` gives the console the API's ``Dispatcher`` (Redis, or the embedded worker); an
application made without one (a test's, or ``create_app`` without ``dispatcher``) leaves new runs
pending until ``reportd reconcile`` or a worker's reconciler enqueues them.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.console.web import Console


def start_runs(app: Console, run_ids: Iterable[int]) -> bool:
    """Enqueue ``start_run`` for each run (after the commit); False without a dispatcher."""
    dispatcher = app.backend.dispatcher
    if dispatcher is None:
        return False
    dispatcher.start_runs(list(run_ids))
    return True


def resend(app: Console, delivery_ids: list[int]) -> bool:
    """Enqueue deliveries put back to pending (after the commit), as ``reportd deliveries
    retry`` does: a run's ``start_run`` queues only what its fan-out has not reached yet."""
    dispatcher = app.backend.dispatcher
    if dispatcher is None:
        return False
    dispatcher.enqueue_deliveries(delivery_ids)
    return True
