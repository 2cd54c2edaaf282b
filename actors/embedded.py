"""The embedded default: dramatiq's in-process broker with a worker in this process.

Same actors, same pipeline as a Redis deployment; only the transport differs. Used by
``reportd send``, ``reportd demo`` and ``reportd api`` when no broker URL is configured
(``actors.dispatch.open_dispatcher`` picks it), and by tests that deliver for real.
"""

from __future__ import annotations

import dramatiq

from actors import runtime
from actors.broker import declare_actors, setup_broker
from actors.dispatch import BrokerDispatcher
from service.config import Settings
from service.delivery.pipeline import Deps

#: Worker threads; renders in flight are bounded separately by the renderer's slots.
DEFAULT_THREADS = 4


class EmbeddedDispatcher(BrokerDispatcher):
    """A ``Dispatcher`` whose messages a dramatiq worker in this process takes, on the
    configured broker; a context manager that starts and stops that worker."""

    def __init__(self, settings: Settings, deps: Deps, *, threads: int = DEFAULT_THREADS):
        super().__init__(setup_broker(settings))
        declare_actors(self.broker)
        runtime.configure(deps)

        self.deps = deps
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)

    def __enter__(self) -> EmbeddedDispatcher:
        self.worker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.worker.stop()
        self.broker.close()
        self.deps.connections.close_all()
