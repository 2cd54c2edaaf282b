"""A database or broker that goes away for a moment delays work instead of failing it.

``storage.db.make_engine`` re-establishes a lost connection for a while (``reconnect_wait``)
once it had connected, and fails at once when the database was never there; reportd's actors
offer a message to an unreachable Redis again for a while (``actors.delivery.PatientActor``).
Without the first, a mail sent just as PostgreSQL restarted could not be recorded and was sent
again; without the second, the reconciler and the scheduler died with Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from service.config import Settings
from storage.db import make_engine, stop_waiting_for_database
from tests.actors.procs import actors_on
from tests.conftest import need
from tests.faults.servers import PostgresCluster, RedisServer, free_port, redis_server_binary

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

#: Seconds the server stays away in these tests.
AWAY_FOR = 1.5


@pytest.fixture
def database(postgres: PostgresCluster, tmp_path: Path) -> str:
    return postgres.create_database(f"reconnect_{tmp_path.name}"[:63].lower())


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    engine = make_engine(database)
    yield engine
    engine.dispose()


def test_a_database_restart_delays_a_transaction_until_the_database_is_back(
    engine: Engine, postgres: PostgresCluster
) -> None:
    assert select_one(engine)  # connected once, and the connection is pooled
    postgres.stop("immediate")
    later = back_after(AWAY_FOR, postgres.start)

    started = time.monotonic()
    assert select_one(engine)

    assert time.monotonic() - started >= AWAY_FOR * 0.9
    later.join()


def test_a_database_away_longer_than_the_wait_fails_the_transaction(
    database: str, postgres: PostgresCluster
) -> None:
    engine = make_engine(database, reconnect_wait=AWAY_FOR / 3)
    try:
        assert select_one(engine)
        postgres.stop("immediate")
        later = back_after(AWAY_FOR, postgres.start)
        with pytest.raises(OperationalError):
            select_one(engine)
        later.join()
        assert select_one(engine)
    finally:
        engine.dispose()


def test_a_stopping_process_stops_waiting_for_its_database(
    engine: Engine, postgres: PostgresCluster
) -> None:
    # Given an engine that connected, and a connection waiting for the database to come back
    assert select_one(engine)
    postgres.stop("immediate")
    failed: list[BaseException] = []

    def waiting() -> None:
        try:
            select_one(engine)
        except OperationalError as error:
            failed.append(error)

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.5)
    try:
        # When the process stops waiting (a worker asked to stop)
        asked = time.monotonic()
        stop_waiting_for_database(engine)
        thread.join(timeout=10)

        # Then the waiting connection gives up at once, and so does the next one
        assert not thread.is_alive() and failed
        assert time.monotonic() - asked < 2.0
        started = time.monotonic()
        with pytest.raises(OperationalError):
            select_one(engine)
        assert time.monotonic() - started < 1.0
    finally:
        postgres.start()


def test_a_database_that_never_answered_fails_at_once() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")
    started = time.monotonic()
    with pytest.raises(OperationalError):
        select_one(engine)
    assert time.monotonic() - started < 1.0
    engine.dispose()


def test_a_message_sent_while_redis_restarts_waits_for_it(tmp_path: Path) -> None:
    need("Redis", redis_server_binary() is not None, "no redis-server (apt-get install redis)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        with actors_on(Settings(broker_url=server.url)):
            from actors.delivery import deliver

            deliver.send(1)  # connected once
            server.kill()
            later = back_after(AWAY_FOR, server.start)
            started = time.monotonic()
            deliver.send(2)
            assert time.monotonic() - started >= AWAY_FOR * 0.9
            later.join()
        client = redis.Redis.from_url(server.url)
        assert client.llen("dramatiq:deliveries") == 1  # the first died with the old Redis
        client.close()
    finally:
        server.kill()


def select_one(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT 1")) == 1


def back_after(seconds: float, start: object) -> threading.Thread:
    def later() -> None:
        time.sleep(seconds)
        start()  # type: ignore[operator]

    thread = threading.Thread(target=later)
    thread.start()
    return thread
