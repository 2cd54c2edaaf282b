"""The broker: Redis when ``REPORTD_BROKER_URL`` is set, else dramatiq's in-process stub.

Call :func:`setup_broker` before importing any module that declares actors.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from service.config import Settings

#: Queue names, so a deployment can give slow and fast work different workers.
RUNS_QUEUE = "runs"
DELIVERIES_QUEUE = "deliveries"


def setup_broker(settings: Settings, *, prometheus: bool = False) -> dramatiq.Broker:
    """Build the configured broker and make it dramatiq's global one.

    With ``prometheus``, dramatiq's middleware serves the worker's metrics (its own and
    reportd's) on port 9191 (``dramatiq_prom_port``).
    """
    broker: dramatiq.Broker
    if settings.broker_url:
        broker = RedisBroker(url=settings.broker_url)
        if prometheus:
            from dramatiq.middleware.prometheus import Prometheus

            broker.add_middleware(Prometheus())
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
