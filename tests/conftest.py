"""Fixtures shared by the whole suite.

Components the suite talks to for real (PostgreSQL, Redis, Chromium) are required: a
missing one fails the test with what to start or install, never skips it, so a green run
always means the real thing ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.migrate import upgrade

if TYPE_CHECKING:
    from service.delivery.pdf import PdfRenderer


def need(component: str, available: bool, why: str = "") -> None:
    """Fail the calling test, saying what to start or install, when ``component`` is missing.

    Never a skip: a skipped test proves nothing, and ``ops/install.sh`` and ``.ci/run`` set
    up every component the suite uses.
    """
    if available:
        return
    reason = f": {why}" if why else ""
    pytest.fail(
        f"{component} is not available{reason} (run `bash ops/install.sh`; `.ci/run` starts "
        "PostgreSQL and Redis when they are down)"
    )


#: The PostgreSQL server the suite uses. The database is this run's own (dropped and created
#: at the start, dropped at the end): a second run of the suite at the same time, a helper's
#: or CI's, must not drop the database under this one.
POSTGRES_URL = os.environ.get(
    "REPORTD_TEST_POSTGRES_URL",
    f"postgresql+psycopg://postgres@127.0.0.1:5432/reportd_test_{os.getpid()}",
)


def _admin_engine(url: str) -> Engine:
    database = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return make_engine(database, isolation_level="AUTOCOMMIT")


def postgres_engine(url: str = POSTGRES_URL) -> Engine | None:
    """A fresh, empty, migrated database on the test server, or None if it is unreachable."""
    name = make_url(url).database
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - any failure here means "not available"
        return None
    finally:
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


def drop_postgres_database(engine: Engine) -> None:
    """Dispose of ``engine`` and drop its database."""
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)')
            )
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "reportd.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """Each storage test runs on SQLite and on PostgreSQL, both migrated by Alembic."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_engine")
        return
    engine = postgres_engine()
    need("PostgreSQL", engine is not None, f"cannot create a database at {POSTGRES_URL}")
    assert engine is not None
    yield engine
    drop_postgres_database(engine)


def _rolled_back_session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, on each backend."""
    yield from _rolled_back_session(engine)


@pytest.fixture
def sqlite_session(sqlite_engine: Engine) -> Iterator[Session]:
    """A rolled-back session on SQLite only, for tests about logic rather than backends."""
    yield from _rolled_back_session(sqlite_engine)


# --- Chromium ------------------------------------------------------------------------------


def chromium_available() -> bool:
    from service.delivery.pdf import find_chromium

    try:
        find_chromium()
    except Exception:  # noqa: BLE001 - any failure means it is not there
        return False
    return True


@pytest.fixture(scope="session")
def renderer() -> Iterator[PdfRenderer]:
    """One Chromium for the whole session: launching one per test would dominate the suite."""
    need("Chromium", chromium_available(), "apt-get install chromium")
    from service.delivery.pdf import PdfRenderer

    pdf = PdfRenderer(timeout=60)
    yield pdf
    pdf.close()
