"""Reading many rows of one statement straight from the driver, for the hot report queries.

A report reads its events by the ten thousand. SQLAlchemy builds the statement (scoping,
CTEs, dialect); for reading the rows, its result layer costs about as much again as the
driver's own parsing. On PostgreSQL (psycopg 3) :func:`fetch_rows` therefore runs the
compiled statement on the session's own connection, in its transaction, with a binary
cursor whose row factory builds the caller's row type directly. On other backends it goes
through ``session.execute``: the same rows, the same order.

Only for statements whose columns need no SQLAlchemy type processing on the way out:
plain numbers and text, and timestamps, which PostgreSQL sessions return in UTC already
(``storage.db`` sets the session time zone). Bound datetimes must be aware, as
``storage.types.UTCDateTime`` insists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

__all__ = ["fetch_rows"]

R = TypeVar("R")


def fetch_rows(
    session: Session, statement: Select[*tuple[Any, ...]], make: Callable[[Sequence[Any]], R]
) -> list[R]:
    """The rows of ``statement``, each made into ``make(values)``."""
    connection = session.connection()
    if connection.dialect.driver != "psycopg":
        return [make(row) for row in session.execute(statement)]
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = compiled.params
    for name, value in parameters.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} for {name}: reportd binds aware times")
    raw = connection.connection.driver_connection
    assert raw is not None

    def factory(_cursor: Any) -> Callable[[Sequence[Any]], R]:
        return make

    with raw.cursor(binary=True, row_factory=factory) as cursor:
        cursor.execute(str(compiled), parameters)
        rows: list[R] = cursor.fetchall()
        return rows
