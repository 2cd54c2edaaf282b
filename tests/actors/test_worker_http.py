"""A running ``reportd worker`` answers ``/healthz``, ``/readyz`` and ``/metrics`` over HTTP.

Real processes: the ``reportd worker`` command (dramatiq with its worker process and the
endpoints' own process), Redis, Chromium, and the world's SQLite file and SMTP sink.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.config import Settings
from tests.actors.conftest import World
from tests.actors.procs import (
    REDIS_URL,
    REPORTD_COMMAND,
    ROOT,
    ClaimedRedis,
    WorkerProcess,
    actors_on,
    claimed_redis,
    redis_available,
    reportd_env,
)
from tests.conftest import need

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.chromium]

#: A PostgreSQL nobody listens on: connections are refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/reportd"
#: Seconds a worker may take to answer HTTP after it started.
START_TIMEOUT = 60.0


class ReportdWorker(WorkerProcess):
    """``reportd worker`` itself (the command operators run), its endpoints on ``port``."""

    def __init__(self, settings: Settings, log: Path, port: int) -> None:
        self.settings = settings
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        command = [
            *REPORTD_COMMAND,
            *("worker", "--processes", "1", "--threads", "2"),
            *("--http-host", "127.0.0.1", "--http-port", str(port)),
        ]
        # The command picks its own metrics folder; the test's shell decides nothing.
        env = {k: v for k, v in reportd_env(settings).items() if not k.startswith("dramatiq_")}
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                command,
                env={**env, "REPORTD_LOG_LEVEL": "INFO"},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._sessions = {self.popen.pid}

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.get("/healthz")
                return
            except OSError:
                assert self.popen.poll() is None, f"the worker exited:\n{self.output()}"
                assert time.monotonic() < deadline, f"no HTTP answer:\n{self.output()}"
                time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_db() -> Iterator[ClaimedRedis]:
    need("Redis", redis_available(), f"no answer from {REDIS_URL}")
    with claimed_redis() as db:
        yield db


@pytest.fixture
def start_worker(tmp_path: Path, redis_db: ClaimedRedis) -> Iterator[Any]:
    """Start ``reportd worker`` processes on the claimed Redis; all killed afterwards."""
    started: list[ReportdWorker] = []

    def start(settings: Settings) -> ReportdWorker:
        on_redis = settings.model_copy(update={"broker_url": redis_db.url})
        worker = ReportdWorker(on_redis, tmp_path / f"worker-{len(started)}.log", free_port())
        started.append(worker)
        worker.wait_answering()
        return worker

    yield start
    for worker in started:
        worker.kill()


def metric(exposition: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_a_running_worker_is_healthy_ready_and_counts_the_deliveries_it_made(
    world: World, start_worker: Any
) -> None:
    # Given a worker on the world's database and Redis
    worker = start_worker(world.settings)

    # Then it is alive, and ready before its first render (Chromium can start) ...
    status, body = worker.get("/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok", "worker_pid": worker.popen.pid})
    status, body = worker.get("/readyz")
    ready = json.loads(body)
    assert (status, ready["status"]) == (200, "ready"), ready
    assert {name: check["ok"] for name, check in ready["checks"].items()} == {
        "database": True,
        "broker": True,
        "chromium": True,
    }
    assert ready["checks"]["chromium"]["detail"].startswith("not launched yet")

    # When it delivers a run to the sample's three contacts
    from actors.delivery import start_run

    run_id, _ = world.new_run()
    with actors_on(worker.settings):
        start_run.send(run_id)
    assert world.wait_finished(run_id).sent == 3

    # Then /metrics has dramatiq's counts, reportd's, the ledger's and the worker's memory
    status, exposition = worker.get("/metrics")
    assert status == 200
    deliver = {"actor_name": "deliver", "queue_name": "deliveries"}
    assert metric(exposition, "dramatiq_messages_total", **deliver) == 3
    assert metric(exposition, "reportd_deliveries_total", outcome="sent") == 3
    assert metric(exposition, "reportd_render_seconds_count") == 3
    assert metric(exposition, "reportd_deliveries", state="sent") == 3
    assert metric(exposition, "reportd_ledger_up") == 1
    for kind in ("python", "playwright", "chromium"):
        assert (metric(exposition, "reportd_worker_memory_bytes", kind=kind) or 0) > 10 * 2**20
    # ... and readiness now sees the Chromium the worker launched
    ready = json.loads(worker.get("/readyz")[1])
    assert ready["checks"]["chromium"]["detail"].startswith("launched")


def test_readyz_says_not_ready_and_why_when_the_database_is_unreachable(
    world: World, start_worker: Any
) -> None:
    # Given a worker whose database does not answer
    worker = start_worker(world.settings.model_copy(update={"database_url": UNREACHABLE_DATABASE}))

    # Then it is alive but not ready, and says why in plain words
    assert worker.get("/healthz")[0] == 200
    status, body = worker.get("/readyz")
    ready = json.loads(body)
    assert (status, ready["status"]) == (503, "unavailable")
    assert ready["reason"].startswith(
        "database: cannot connect to postgresql+psycopg://postgres@127.0.0.1:1/reportd"
    ), ready["reason"]
    assert ready["checks"]["broker"]["ok"] and ready["checks"]["chromium"]["ok"]
    # ... and its own metrics are still served, without the ledger's
    status, exposition = worker.get("/metrics")
    assert status == 200
    assert metric(exposition, "reportd_ledger_up") == 0


def test_the_endpoints_stop_when_their_worker_is_killed(world: World, start_worker: Any) -> None:
    # Given a running worker
    worker = start_worker(world.settings)

    # When its dramatiq main process is killed, and nothing else
    worker.popen.kill()
    worker.popen.wait()

    # Then its endpoints stop answering instead of vouching for a dead worker
    deadline = time.monotonic() + 10
    while True:
        try:
            worker.get("/healthz")
        except OSError:
            break
        assert time.monotonic() < deadline, "the endpoints outlived their worker"
        time.sleep(0.1)
