"""The broker: Redis when ``REPORTD_BROKER_URL`` is set, else dramatiq's in-process stub.

Call :func:`setup_broker` before importing any module that declares actors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from service.config import Settings

#: Queue names, so a deployment can give slow and fast work different workers.
RUNS_QUEUE = "runs"
#: Every run's first deliveries (its first slice), and deliveries queued again by the
#: reconciler: taken before anything on ``LATER_QUEUE``.
DELIVERIES_QUEUE = "deliveries"
#: The rest of each run's deliveries, slice by slice (``service.delivery.fanout``): a worker
#: takes them only when it holds nothing from ``DELIVERIES_QUEUE``.
LATER_QUEUE = "deliveries_later"


def worker_endpoints() -> dramatiq.Middleware:
    """dramatiq's Prometheus middleware, with reportd's endpoints (``/metrics``, ``/healthz``,
    ``/readyz``: ``service.health.worker_http``) in place of its metrics-only exposition server.

    Imported here, not at the top: the module makes its metrics folder when imported.
    """
    from dramatiq.middleware.prometheus import Prometheus

    class WorkerEndpoints(Prometheus):
        @property
        def forks(self) -> list[Callable[[], int]]:
            return [serve_worker_endpoints]

    return WorkerEndpoints()


def serve_worker_endpoints() -> int:
    """The process dramatiq forks beside the worker processes to answer HTTP.

    Host, port and the folder of the multiprocess metrics are dramatiq's own settings
    (``dramatiq_prom_host``, ``dramatiq_prom_port``, ``dramatiq_prom_db``), which
    ``reportd worker`` sets from its options.
    """
    from dramatiq.middleware.prometheus import DB_PATH, HTTP_HOST, HTTP_PORT

    from service.health.worker_http import WorkerEndpoints as Endpoints
    from service.health.worker_http import serve
    from service.runtime.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    endpoints = Endpoints(settings, worker_pid=os.getppid(), metrics_dir=Path(DB_PATH))
    return serve(endpoints, host=HTTP_HOST, port=HTTP_PORT)


def setup_broker(settings: Settings, *, prometheus: bool = False) -> dramatiq.Broker:
    """Build the configured broker and make it dramatiq's global one.

    With ``prometheus``, dramatiq's middleware records the worker's metrics (its own and
    reportd's) and the worker answers ``/metrics``, ``/healthz`` and ``/readyz`` on port 9191
    (``dramatiq_prom_port``).
    """
    broker: dramatiq.Broker
    if settings.broker_url:
        broker = RedisBroker(url=settings.broker_url)
        if prometheus:
            broker.add_middleware(worker_endpoints())
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    return broker


def declare_actors(broker: dramatiq.Broker) -> None:
    """Declare reportd's actors on ``broker``, even if they were imported for another one.

    ``@actor`` binds at import time; a process (or a test) that sets a new broker up later
    rebinds them here instead of re-importing modules.
    """
    from actors import delivery

    for actor in delivery.ACTORS:
        if actor.broker is not broker:
            actor.broker = broker
            broker.declare_actor(actor)
