"""Prometheus metrics of reportd's own work, beside dramatiq's middleware metrics.

prometheus_client picks its storage (in-process, or files shared by forked worker processes)
when it is first imported, and dramatiq's Prometheus middleware sets the shared folder only
after the worker boots; so the client is imported lazily, on first use, never at import time.
Deliveries by state come from the ledger at scrape time (:class:`LedgerCollector`), since the
database, not any one process, knows them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

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
    def runs_finished(self) -> Any:
        return self._prom.Counter("reportd_runs_finished_total", "Report runs finished.")


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics


class LedgerCollector:
    """Deliveries by state and open runs, read from the database when Prometheus scrapes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from storage.models import Delivery, ReportRun

        by_state = GaugeMetricFamily(
            "reportd_deliveries", "Deliveries in each state, from the ledger.", labels=["state"]
        )
        with self.sessions() as session:
            rows = session.execute(
                select(Delivery.state, func.count(Delivery.id)).group_by(Delivery.state)
            ).all()
            open_runs = session.scalar(
                select(func.count(ReportRun.id)).where(ReportRun.finished.is_(None))
            )
        for state, count in rows:
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily("reportd_runs_open", "Runs not finished yet.", value=open_runs or 0)
