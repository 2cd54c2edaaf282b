"""Alembic, driven from code: ``reportd db upgrade`` and the test fixtures use this."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

#: The folder holding env.py and versions/.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""
    config = alembic_config()
    with engine.connect() as connection, foreign_keys_off(connection):
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


@contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, foreign keys off while the migrations rebuild tables, checked before commit.

    SQLite changes a table by copying it into a new one and dropping the old: with foreign
    keys on, dropping a parent table would first delete its rows, and with them, through ON
    DELETE CASCADE, every row that refers to them (SQLite's "making other kinds of table
    schema changes"). The switch takes effect only outside a transaction, so it is made on
    the driver's connection before the migrations begin theirs. Elsewhere: nothing.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None and not connection.in_transaction()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@cache
def head_revision() -> str | None:
    """The newest migration reportd ships (read once: every CLI command asks)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def known_revisions() -> frozenset[str]:
    """Every migration reportd ships: a revision outside them was made by a newer reportd."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(revision.revision for revision in script.walk_revisions())
