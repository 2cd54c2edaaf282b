"""A ``reportd worker`` asked to stop (SIGTERM) while it holds deliveries: it stops taking
messages, gives back what it was still rendering, stops Chromium and its encryption helper,
and exits in bounded time; another worker then finishes the run with one mail per contact.

Real processes on PostgreSQL and Redis, as ``tests/actors/test_worker_crash.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from service.delivery.holding import GIVEN_BACK
from service.delivery.ledger import DeliveryState
from service.runtime import proctree
from storage.models import Delivery, DeliveryTransition
from tests.actors.conftest import World
from tests.actors.procs import REPORTD_COMMAND, ROOT, WorkerProcess
from tests.actors.test_worker_crash import (  # noqa: F401 - fixtures
    assert_exactly_one_mail_each,
    count_states,
    crash_world,
    ids_in,
    redis_db,
    start_run_through_redis,
    wait_for,
    worker_env,
)
from tests.actors.test_worker_http import free_port

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.chromium]

#: The grace given to the stopping worker: none, so that what it renders is given back.
GRACE = 0
#: Seconds the worker may take to exit after SIGTERM: dramatiq looks at its stop flag once a
#: second, closing Chromium takes a few seconds, the endpoints' process stops with it.
EXIT_WITHIN = 20.0


class StoppableWorker(WorkerProcess):
    """``reportd worker`` itself, with one render slot so that a delivery waits for it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        command = [
            *REPORTD_COMMAND,
            *("worker", "--processes", "1", "--threads", "2", "--shutdown-grace", str(GRACE)),
            *("--http-host", "127.0.0.1", "--http-port", str(free_port())),
        ]
        env = {k: v for k, v in env.items() if not k.startswith("dramatiq_")}
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                command,
                env={**env, "REPORTD_LOG_LEVEL": "INFO", "REPORTD_RENDER_SLOTS": "1"},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._sessions = {self.popen.pid}


@pytest.fixture
def start_worker(
    crash_world: World,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> Iterator[Callable[[], StoppableWorker]]:
    started: list[StoppableWorker] = []

    def start() -> StoppableWorker:
        worker = StoppableWorker(worker_env(crash_world), tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


def test_a_worker_stopped_mid_run_gives_back_what_it_renders_and_leaves_no_process(
    crash_world: World,  # noqa: F811 - the imported fixture
    start_worker: Callable[[], StoppableWorker],
) -> None:
    world = crash_world
    # Given a worker holding two deliveries, one rendering in its Chromium and one waiting
    # for the render slot
    first, run_id, ids = worker_holding_two(world, start_worker)

    # When it is asked to stop
    asked = time.monotonic()
    os.kill(first.popen.pid, signal.SIGTERM)
    exit_code = first.popen.wait(timeout=EXIT_WITHIN)
    took = time.monotonic() - asked

    # Then it exits in time, and nothing it started is left running
    assert exit_code == 0, first.output()
    assert took < EXIT_WITHIN
    wait_for(lambda: not first.pids(), "every process of the worker gone", timeout=10)
    # ... no delivery is left held for its lease to lapse: what it rendered was given back
    assert not ids_in(world, run_id, DeliveryState.rendering, DeliveryState.sending)
    with world.sessions() as session:
        given_back = session.scalars(
            select(DeliveryTransition.delivery_id)
            .join(Delivery, Delivery.id == DeliveryTransition.delivery_id)
            .where(Delivery.run_id == run_id, DeliveryTransition.note == GIVEN_BACK)
        ).all()
    assert given_back, first.output()

    # ... and another worker finishes the run, one mail for each contact, none a duplicate
    start_worker()
    run = world.wait_finished(run_id, timeout=120)
    assert (run.sent, run.failed) == (len(ids), 0)
    assert_exactly_one_mail_each(world, run_id)
    assert not any(world.delivery(delivery_id).possible_duplicate for delivery_id in ids)


def worker_holding_two(
    world: World, start_worker: Callable[[], StoppableWorker]
) -> tuple[StoppableWorker, int, list[int]]:
    """A worker started on a new run, once it holds two of its deliveries (one rendering in
    its Chromium, one waiting for the render slot): the worker, the run and its deliveries."""
    run_id, ids = world.new_run()
    worker = start_worker()
    start_run_through_redis(world, run_id)
    wait_for(
        lambda: (
            count_states(world, run_id)[DeliveryState.rendering] >= 2 and chromium_running(worker)
        ),
        "two deliveries held and Chromium rendering",
    )
    return worker, run_id, ids


def chromium_running(worker: WorkerProcess) -> bool:
    processes = proctree.live_processes()
    return any(processes[pid].kind == "chromium" for pid in worker.pids() if pid in processes)


def test_a_worker_whose_database_stopped_answering_still_stops_in_time(
    crash_world: World,  # noqa: F811 - the imported fixture
    start_worker: Callable[[], StoppableWorker],
) -> None:
    world = crash_world
    first, _, _ = worker_holding_two(world, start_worker)

    # Given the database stops answering while the worker holds deliveries (connections cut,
    # new ones refused: a fail-over that takes its time)
    database = world.sessions.kw["bind"].url.database
    world.sessions.kw["bind"].dispose()
    with refused_connections(database):
        # When the worker is asked to stop
        asked = time.monotonic()
        os.kill(first.popen.pid, signal.SIGTERM)
        exit_code = first.popen.wait(timeout=EXIT_WITHIN + 30)
        took = time.monotonic() - asked

    # Then it does not wait out the database (30 s a connection): it exits in time, and leaves
    # nothing running; what it held waits in the ledger for its lease, the reconciler's
    assert exit_code == 0, first.output()
    assert took < EXIT_WITHIN, first.output()
    wait_for(lambda: not first.pids(), "every process of the worker gone", timeout=10)
    assert "database unreachable" in first.log.read_text(errors="replace")


@contextmanager
def refused_connections(database: str | None) -> Iterator[None]:
    """The database refuses new connections and its open ones are cut, until the end."""
    admin = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        admin.dispose()
