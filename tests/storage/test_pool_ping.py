"""Pooled PostgreSQL connections are pinged only when the server may have dropped them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine

pytestmark = pytest.mark.postgres

URL = (
    make_url(POSTGRES_URL)
    .set(database=f"reportd_ping_test_{os.getpid()}")
    .render_as_string(hide_password=False)
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    created = postgres_engine(URL)
    need("PostgreSQL", created is not None, f"cannot create a database at {URL}")
    assert created is not None
    created.dispose()
    engine = make_engine(URL)
    yield engine
    engine.dispose()
    drop_postgres_database(created)


def count_pings(engine: Engine) -> list[int]:
    """Counts the pings of ``engine``'s pool (its dialect's own ``do_ping``, wrapped)."""
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def pid_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_just_given_back_is_used_without_a_ping(engine: Engine) -> None:
    pid_of(engine)
    pings = count_pings(engine)

    pids = {pid_of(engine) for _ in range(5)}

    assert len(pids) == 1 and not pings


def test_a_connection_the_server_ended_while_pooled_is_replaced_before_use(
    engine: Engine,
) -> None:
    # Given a pooled connection whose backend the server then terminates
    first = pid_of(engine)
    pings = count_pings(engine)
    admin = make_engine(URL)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            # pg_terminate_backend only signals: wait until the backend has gone (and closed
            # its socket), which on a loaded machine is not at once.
            deadline = time.monotonic() + 10
            while connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": first}
            ):
                assert time.monotonic() < deadline, "the terminated backend did not exit"
                time.sleep(0.01)
    finally:
        admin.dispose()

    # When the pool hands out a connection right away, then it works, on a new backend
    assert pid_of(engine) != first and pings
