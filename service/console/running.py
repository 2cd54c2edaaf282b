"""Handing committed runs to the workers from the console, as the API does.

``reportd api`` gives the console the API's runner (Redis, or the embedded worker); an
application made without one (a test's, or ``create_app`` without ``runner``) leaves new runs
pending until ``reportd reconcile`` or a worker's reconciler enqueues them.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.console.web import Console


def start_runs(app: Console, run_ids: Iterable[int]) -> bool:
    """Enqueue ``start_run`` for each run (after the commit); False when there is no runner."""
    runner = app.backend.runner
    if runner is None:
        return False
    for run_id in run_ids:
        runner.start_run(run_id)
    return True


def resend(app: Console, delivery_ids: list[int]) -> bool:
    """Enqueue deliveries put back to pending (after the commit), as ``reportd deliveries
    retry`` does: a run's ``start_run`` queues only what its fan-out has not reached yet."""
    runner = app.backend.runner
    if runner is None:
        return False
    runner.enqueue_deliveries(delivery_ids)
    return True
