"""The embedded default: dramatiq's in-process broker with a worker in this process.

Same actors, same pipeline as a Redis deployment; only the transport differs. Used by
``reportd send --wait`` and ``reportd demo`` when no broker URL is configured.
"""

from __future__ import annotations

import dramatiq

from actors import runtime
from actors.broker import declare_actors, setup_broker
from service.config import Settings
from service.delivery.pipeline import Deps

#: Worker threads; renders in flight are bounded separately by the renderer's slots.
DEFAULT_THREADS = 4


class EmbeddedWorker:
    """A dramatiq worker running in this process, on the configured broker."""

    def __init__(self, settings: Settings, deps: Deps, *, threads: int = DEFAULT_THREADS):
        self.broker = setup_broker(settings)
        declare_actors(self.broker)
        runtime.configure(deps)

        self.deps = deps
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)

    def __enter__(self) -> EmbeddedWorker:
        self.worker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start_run(self, run_id: int) -> None:
        self.start_runs([run_id])

    def start_runs(self, run_ids: list[int]) -> None:
        from actors.delivery import start_run
        from actors.enqueue import send_all

        send_all(self.broker, [start_run.message(run_id) for run_id in run_ids])

    def enqueue_deliveries(self, delivery_ids: list[int]) -> None:
        from actors.delivery import deliver
        from actors.enqueue import send_all

        send_all(self.broker, [deliver.message(delivery_id) for delivery_id in delivery_ids])

    def stop(self) -> None:
        self.worker.stop()
        self.broker.close()
        self.deps.connections.close_all()
