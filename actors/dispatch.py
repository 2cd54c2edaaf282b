"""The broker's ``Dispatcher``, and the choice an entry point makes between it and the
embedded worker.

``service.delivery.dispatch.Dispatcher`` is the type; this module and ``actors.embedded`` are
its two implementations. Only entry points (the ``reportd`` commands, the API's factory
through ``reportd api``) call :func:`open_dispatcher`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dramatiq

from actors.broker import declare_actors, setup_broker
from actors.enqueue import send_all
from service.config import Settings
from service.delivery.dispatch import Dispatcher


class BrokerDispatcher:
    """Sends ``start_run`` and ``deliver`` messages to a broker, many in one pipeline."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def start_runs(self, run_ids: Sequence[int]) -> None:
        # Imported here: the actors bind to the broker that is global when they are imported.
        from actors.delivery import start_run

        send_all(self.broker, [start_run.message(run_id) for run_id in run_ids])

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        from actors.delivery import deliver

        send_all(self.broker, [deliver.message(delivery_id) for delivery_id in delivery_ids])


@contextmanager
def open_dispatcher(settings: Settings) -> Iterator[Dispatcher]:
    """Redis when ``REPORTD_BROKER_URL`` is set (workers elsewhere do the work); else a worker
    in this process on the stub broker, stopped with its renderer and helpers on exit."""
    if settings.broker_url:
        broker = setup_broker(settings)
        declare_actors(broker)
        try:
            yield BrokerDispatcher(broker)
        finally:
            broker.close()
        return
    from actors.embedded import EmbeddedDispatcher
    from actors.runtime import build_deps, close

    deps = build_deps(settings)
    try:
        with EmbeddedDispatcher(settings, deps) as embedded:
            yield embedded
    finally:
        close(deps)
