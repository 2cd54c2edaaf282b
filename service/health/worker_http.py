"""A worker's HTTP endpoints: ``/metrics``, ``/healthz`` and ``/readyz``.

``reportd worker`` serves them from a process of its own that dramatiq starts beside the
worker processes (a middleware's "fork", where dramatiq's Prometheus middleware ran its
exposition server; ``actors.broker`` wires it). So a scrape or a probe never waits for the GIL
of threads busy rendering, and one port answers for every worker process of the command.

- ``/metrics``: what the worker processes recorded (dramatiq's middleware metrics and
  reportd's own, through prometheus_client's multiprocess files), the ledger's deliveries by
  state, and the memory of the worker's process tree with its Chromium.
- ``/healthz``: the worker this server belongs to is alive.
- ``/readyz``: it can work: the database answers and is migrated, the broker answers, and
  Chromium runs under the worker (or, before the first render, can be started). The checks
  are ``service.health.checks``'s, the same as ``reportd check`` and the API's ``/readyz``.

The server stops by itself when the worker is gone, so that it never holds the port (or
answers probes) for a worker that died.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.health.checks import Check, check_broker, check_chromium, check_database
from service.runtime import proctree
from storage.db import make_engine, make_session_factory

log = logging.getLogger(__name__)

#: Seconds a readiness check may take before it counts as failed.
READY_TIMEOUT = 5.0
#: How often the server looks whether its worker still runs (seconds).
WATCH_INTERVAL = 1.0
#: The prefix of a ``reportd worker``'s own folder for prometheus_client's multiprocess files.
METRICS_DIR_PREFIX = "reportd-worker-metrics-"

Response = tuple[int, str, bytes]


class WorkerEndpoints:
    """The three endpoints of the worker whose dramatiq main process is ``worker_pid``."""

    def __init__(self, settings: Settings, *, worker_pid: int, metrics_dir: Path) -> None:
        self.settings = settings
        self.worker_pid = worker_pid
        self.metrics_dir = metrics_dir
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    def healthz(self) -> Response:
        if self.worker_pid not in {p.pid for p in proctree.tree(self.worker_pid)}:
            return _json(503, {"status": "down", "reason": f"worker {self.worker_pid} exited"})
        return _json(200, {"status": "ok", "worker_pid": self.worker_pid})

    def readyz(self) -> Response:
        checks = _run_bounded(
            [
                lambda: check_database(self.settings),
                lambda: check_broker(self.settings),
                self.check_chromium,
            ],
            names=["database", "broker", "chromium"],
            timeout=READY_TIMEOUT,
        )
        body: dict[str, Any] = {
            "status": "ready" if all(c.ok for c in checks) else "unavailable",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        }
        failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        if failed:
            body["reason"] = "; ".join(failed)
            return _json(503, body)
        return _json(200, body)

    def check_chromium(self) -> Check:
        """Chromium launched under the worker, else whether it can be (it starts lazily, at
        the first render, and again after a crash)."""
        running = [p for p in proctree.tree(self.worker_pid) if p.kind == "chromium"]
        if running:
            return Check("chromium", True, f"launched ({len(running)} processes)")
        found = check_chromium(self.settings)
        if not found.ok:
            return found
        return Check("chromium", True, f"not launched yet; {found.detail}")

    def metrics(self) -> Response:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        from service.runtime.metrics import LedgerCollector, TreeMemoryCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.metrics_dir))  # type: ignore[no-untyped-call]
        registry.register(LedgerCollector(self.sessions()))
        registry.register(TreeMemoryCollector(self.worker_pid))
        return 200, CONTENT_TYPE_LATEST, generate_latest(registry)

    def sessions(self) -> sessionmaker[Session]:
        """One small engine for the ledger's figures, made at the first scrape."""
        with self._lock:
            if self._sessions is None:
                engine = make_engine(self.settings.resolved_database_url())
                self._sessions = make_session_factory(engine)
            return self._sessions

    def route(self, path: str) -> Response:
        handlers: dict[str, Callable[[], Response]] = {
            "/metrics": self.metrics,
            "/healthz": self.healthz,
            "/readyz": self.readyz,
        }
        handler = handlers.get(path.split("?")[0])
        if handler is None:
            return _json(404, {"detail": "not found: /metrics, /healthz and /readyz are here"})
        return handler()


def serve(endpoints: WorkerEndpoints, *, host: str, port: int) -> int:
    """Serve ``endpoints`` until the worker is gone; 0 then, 1 if the port was not free."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, content_type, body = endpoints.route(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug(format, *args)

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as error:
        log.error(
            "worker endpoints: cannot listen on %s:%s (%s); this worker serves no /metrics, "
            "/healthz or /readyz: give each worker on a machine its own port "
            "(reportd worker --http-port, or dramatiq_prom_port)",
            host,
            port,
            error,
        )
        return 1
    server.daemon_threads = True
    # Each readiness probe reads the schema's revision; alembic would log it at INFO each time.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    threading.Thread(
        target=_stop_when_gone, args=(server, endpoints.worker_pid), daemon=True
    ).start()
    log.info("worker endpoints on http://%s:%s (/metrics, /healthz, /readyz)", host, port)
    with server:
        server.serve_forever()
    return 0


def fresh_metrics_dir(base: Path, pid: int) -> Path:
    """An empty folder for the multiprocess metrics of the worker command ``pid``.

    Two worker commands on one machine sharing dramatiq's default folder would each serve the
    sum of both; and files left by an earlier run would be counted again. Folders of worker
    commands that no longer run are removed.
    """
    running = proctree.live_processes()
    for old in base.glob(f"{METRICS_DIR_PREFIX}*"):
        suffix = old.name.removeprefix(METRICS_DIR_PREFIX)
        if suffix.isdigit() and (int(suffix) == pid or int(suffix) not in running):
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"{METRICS_DIR_PREFIX}{pid}"
    folder.mkdir(parents=True)
    return folder


def _stop_when_gone(server: ThreadingHTTPServer, worker_pid: int) -> None:
    # Started by the worker, this process is re-parented when the worker dies.
    while os.getppid() == worker_pid:
        time.sleep(WATCH_INTERVAL)
    log.warning("worker endpoints: worker %s is gone; stopping", worker_pid)
    server.shutdown()


def _run_bounded(
    checks: list[Callable[[], Check]], *, names: list[str], timeout: float
) -> list[Check]:
    """Run the checks side by side; one that takes longer than ``timeout`` has failed."""
    results: list[Check | None] = [None] * len(checks)

    def run(index: int) -> None:
        try:
            results[index] = checks[index]()
        except Exception as error:  # noqa: BLE001 - a probe says what broke; it must not die
            results[index] = Check(names[index], False, f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(checks))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        result or Check(name, False, f"no answer within {timeout:.0f} s")
        for name, result in zip(names, results, strict=True)
    ]


def _json(status: int, body: dict[str, Any]) -> Response:
    return status, "application/json", json.dumps(body).encode()
