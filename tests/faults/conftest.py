"""Fixtures for the fault tests: a private PostgreSQL and Redis, an SMTP sink, Chromium.

The PostgreSQL cluster is started once per session (``initdb`` takes a second) and every
test gets a fresh database on it; each test gets its own ``redis-server``. A missing program
fails the tests that need it (``need``), never skips them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.delivery.smtp_sink import SmtpSink
from tests.actors.conftest import World, make_world
from tests.conftest import chromium_available, need
from tests.faults.harness import Processes
from tests.faults.servers import (
    HoldingHandler,
    PostgresCluster,
    RedisServer,
    free_port,
    postgres_missing,
    redis_server_binary,
)


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """The session's cluster; its server log is kept in pytest's temporary directory."""
    missing = postgres_missing()
    need("PostgreSQL", not missing, missing)
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        (tmp_path_factory.getbasetemp() / "postgres.log").write_text(cluster.log(None))
        cluster.remove()


@pytest.fixture
def postgres(postgres_cluster: PostgresCluster) -> PostgresCluster:
    """The session's cluster, running (a test that stopped it may have failed midway)."""
    if not postgres_cluster.running():
        postgres_cluster.start()
    return postgres_cluster


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    need("Redis", redis_server_binary() is not None, "no redis-server (apt-get install redis)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def chromium() -> None:
    need("Chromium", chromium_available(), "apt-get install chromium")


@pytest.fixture
def world(
    tmp_path: Path, postgres: PostgresCluster, redis_server: RedisServer, chromium: None
) -> Iterator[World]:
    """The sample account in a database of its own, an SMTP sink, and Redis as the broker."""
    url = postgres.create_database(f"faults_{os.getpid()}_{tmp_path.name}"[:63].lower())
    outbox = tmp_path / "outbox"
    with SmtpSink(outbox, port=free_port(), handler_factory=HoldingHandler) as sink:
        world = make_world(tmp_path, sink, database_url=url)
        world.settings = world.settings.model_copy(update={"broker_url": redis_server.url})
        try:
            yield world
        finally:
            world.sessions.kw["bind"].dispose()


@pytest.fixture
def processes(world: World, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    """Starts reportd processes; a test module's ``PROCESS_SETTINGS`` (settings by field
    name) override the harness's defaults."""
    started = Processes(world, tmp_path, **getattr(request.module, "PROCESS_SETTINGS", {}))
    try:
        yield started
    finally:
        started.kill_all()
