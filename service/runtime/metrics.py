"""Prometheus metrics of reportd's own work, beside dramatiq's middleware metrics.

prometheus_client picks its storage (in-process, or files shared by forked worker processes)
when it is first imported, and dramatiq's Prometheus middleware sets the shared folder only
after the worker boots; so the client is imported lazily, on first use, never at import time.
Deliveries by state come from the ledger at scrape time (:class:`LedgerCollector`), since the
database, not any one process, knows them; a worker's memory, Chromium included, comes from
/proc at scrape time (:class:`TreeMemoryCollector`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.runtime import proctree

log = logging.getLogger(__name__)

#: Seconds; a render takes ~0.3-2 s here, a send ~10-100 ms.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class Metrics:
    """The process's metric objects, created on first use."""

    @cached_property
    def _prom(self) -> Any:
        import prometheus_client

        return prometheus_client

    @cached_property
    def deliveries(self) -> Any:
        return self._prom.Counter(
            "reportd_deliveries_total", "Delivery attempts by outcome.", ["outcome"]
        )

    @cached_property
    def render_seconds(self) -> Any:
        return self._prom.Histogram(
            "reportd_render_seconds", "Chromium time per printed PDF.", buckets=DURATION_BUCKETS
        )

    @cached_property
    def send_seconds(self) -> Any:
        return self._prom.Histogram(
            "reportd_send_seconds", "SMTP time per message.", buckets=DURATION_BUCKETS
        )

    @cached_property
    def queue_lag_seconds(self) -> Any:
        return self._prom.Histogram(
            "reportd_queue_lag_seconds",
            "From a delivery's creation (or last change) to a worker claiming it.",
            buckets=DURATION_BUCKETS,
        )

    @cached_property
    def reconciler_resends(self) -> Any:
        return self._prom.Counter(
            "reportd_reconciler_resends_total", "Deliveries enqueued again by the reconciler."
        )

    @cached_property
    def pdfs_from_other_workers(self) -> Any:
        return self._prom.Counter(
            "reportd_pdfs_from_other_workers_total",
            "PDFs read from the database, printed by another worker process for the same run.",
        )

    @cached_property
    def scheduler_ticks(self) -> Any:
        return self._prom.Counter(
            "reportd_scheduler_ticks_total",
            "Passes of reportd scheduler, by outcome (ok, or outage: waited out).",
            ["outcome"],
        )

    @cached_property
    def scheduler_runs_fired(self) -> Any:
        return self._prom.Counter(
            "reportd_scheduler_runs_fired_total", "Report runs created for due scheduled tasks."
        )

    @cached_property
    def scheduler_last_tick(self) -> Any:
        return self._prom.Gauge(
            "reportd_scheduler_last_tick_timestamp_seconds",
            "When reportd scheduler last finished a pass (alert when it stops moving).",
        )

    @cached_property
    def runs_finished(self) -> Any:
        return self._prom.Counter("reportd_runs_finished_total", "Report runs finished.")


_lock = threading.Lock()
_metrics: Metrics | None = None


def serve_metrics(host: str, port: int) -> None:
    """Serve this process's metrics for Prometheus on ``host:port``, from a daemon thread:
    for processes without an HTTP server of their own (``reportd scheduler``)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)


def metrics() -> Metrics:
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics


class LedgerCollector:
    """Deliveries by state and open runs, read from the database when Prometheus scrapes.

    The figures are the whole ledger's, the same from every process that serves them (take
    ``max``, not ``sum``, across instances). A database that does not answer leaves them out
    and sets ``reportd_ledger_up`` to 0, so that the process's own metrics are still served.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from storage.models import Delivery, ReportRun

        up = "reportd_ledger_up"
        try:
            with self.sessions() as session:
                rows = session.execute(
                    select(Delivery.state, func.count(Delivery.id)).group_by(Delivery.state)
                ).all()
                open_runs = session.scalar(
                    select(func.count(ReportRun.id)).where(ReportRun.finished.is_(None))
                )
        except SQLAlchemyError as error:
            log.warning("metrics: the ledger is not readable: %s", str(error).splitlines()[0])
            yield GaugeMetricFamily(up, "1 if the ledger was read for this scrape.", value=0)
            return
        yield GaugeMetricFamily(up, "1 if the ledger was read for this scrape.", value=1)
        by_state = GaugeMetricFamily(
            "reportd_deliveries", "Deliveries in each state, from the ledger.", labels=["state"]
        )
        for state, count in rows:
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily("reportd_runs_open", "Runs not finished yet.", value=open_runs or 0)


class TreeMemoryCollector:
    """Memory (sum of PSS) of a process and everything it started, by kind of process.

    For a worker: its Python processes, Playwright's driver and Chromium, read from /proc at
    each scrape (a few ms per process). This is the figure to size a machine by.
    """

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        processes = proctree.tree(self.root_pid)
        memory = GaugeMetricFamily(
            "reportd_worker_memory_bytes",
            "PSS of the worker's process tree (Python, Playwright driver, Chromium).",
            labels=["kind"],
        )
        for kind, kib in sorted(proctree.memory_by_kind(processes).items()):
            memory.add_metric([kind], kib * 1024)
        yield memory
        yield GaugeMetricFamily(
            "reportd_worker_processes",
            "Live processes in the worker's tree, Chromium's included.",
            value=len(processes),
        )
