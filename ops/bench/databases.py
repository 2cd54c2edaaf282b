"""The benchmarks' PostgreSQL databases: dropped and created again, then migrated.

Each benchmark loads its own database (``reportd_bench``, ``reportd_load_bench``, ...) so a
run starts from nothing it did not make, and never touches the tests' databases.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from storage.migrate import upgrade


def fresh_database(url: str) -> Engine:
    """Drop and create the database of ``url`` (from the server's ``postgres`` database),
    migrate it, and return an engine on it."""
    parsed = make_url(url)
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine
