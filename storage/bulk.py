"""Writing many rows of one table in one statement, each column sent as one array.

SQLAlchemy sends a list of rows to PostgreSQL either as one ``INSERT ... VALUES`` with a
placeholder per value (``insertmanyvalues``, when ids come back) or as one prepared statement
per row (``executemany``). The first is a statement of 5,000 placeholders for 500 runs of ten
columns, which psycopg parses again at every execution (a statement that long escapes its
cache): about half of a scheduler pass's CPU at the top of the hour. Here, on PostgreSQL, each
column goes as one array parameter and the rows come out of ``unnest``: a statement of a few
hundred bytes, parsed once, whatever the number of rows; the arrays go in psycopg's binary
format (``%(name)b``), which needs no quoting of each string. Other databases (SQLite) get
SQLAlchemy's bulk statements, as before.

Values pass through each column's type (``UTCDateTime`` refuses a naive time, JSON is
serialized) as they would through SQLAlchemy, and a column left out gets its scalar default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Table, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session

#: The primary key column every bulk UPDATE matches rows by.
KEY = "id"


def insert_rows(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` (each with the same keys) in the session's transaction; with
    ``returning_ids`` their new ids, in the rows' order (else an empty list)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        if returning_ids:
            key = getattr(model, KEY)
            statement = insert(model).returning(key, sort_by_parameter_order=True)
            return list(session.scalars(statement, rows))
        session.execute(insert(model), rows)
        return []
    table = _table(model)
    names = _with_defaults(table, rows)
    arrays, casts = _arrays(dialect, table, names, rows)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    sql = (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {aliases}"
        f" FROM unnest({casts}) WITH ORDINALITY AS v({aliases}, n) ORDER BY n"
    )
    if not returning_ids:
        session.connection().exec_driver_sql(sql, arrays)
        return []
    # The ids come from the table's sequence as the rows are inserted, in the ORDER BY's
    # order: ascending ids are the rows' order (the assumption SQLAlchemy's own
    # sort_by_parameter_order makes on PostgreSQL for an autoincrement key).
    found = session.connection().exec_driver_sql(f"{sql} RETURNING {quote(KEY)}", arrays)
    return sorted(found.scalars())


def update_rows(
    session: Session, model: type[DeclarativeBase], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Update rows by ``id``: each of ``rows`` is ``{"id": ..., column: value, ...}``, every
    one setting the same columns. Objects of those rows the session holds are expired (read
    again at their next use), as an ORM bulk UPDATE would refresh them."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(update(model), rows)
        return
    table = _table(model)
    names = [KEY, *(name for name in rows[0] if name != KEY)]
    arrays, casts = _arrays(dialect, table, names, rows)
    quote = dialect.identifier_preparer.quote
    target = quote(table.name)
    settings = ", ".join(f"{quote(name)} = v.c{i}" for i, name in enumerate(names) if i)
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    session.connection().exec_driver_sql(
        f"UPDATE {target} SET {settings} FROM unnest({casts}) AS v({aliases})"
        f" WHERE {target}.{quote(KEY)} = v.c0",
        arrays,
    )
    mapper = model.__mapper__
    for row in rows:
        held = session.identity_map.get(mapper.identity_key_from_primary_key((row[KEY],)))
        if held is not None:
            session.expire(held)


def _table(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The columns to write: the rows' own, then those left out that have a scalar default
    (a callable default must be given: this module does not call it per row)."""
    given = list(rows[0])
    for column in table.columns:
        if column.name in rows[0] or column.default is None:
            continue
        if not column.default.is_scalar:
            if column.server_default is None and not column.nullable and not column.primary_key:
                raise ValueError(f"{table.name}.{column.name}: give it, its default is a function")
            continue
        given.append(column.name)
    return given


def _arrays(
    dialect: Dialect, table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, list[Any]], str]:
    """One list per column (its values through the column's type) and the ``unnest``
    arguments casting each to its column's array type."""
    arrays: dict[str, list[Any]] = {}
    casts = []
    for i, name in enumerate(names):
        column: Column[Any] = table.columns[name]
        if name in rows[0]:
            values = [row[name] for row in rows]
        else:
            assert column.default is not None and column.default.is_scalar
            values = [column.default.arg] * len(rows)  # type: ignore[attr-defined]
        kind = column.type.compile(dialect=dialect)
        if isinstance(column.type, JSON):
            # Sent as text, as SQLAlchemy serializes it (json.dumps; None is JSON null).
            arrays[f"c{i}"] = [json.dumps(value) for value in values]
            casts.append(f"CAST(CAST(%(c{i})b AS TEXT[]) AS {kind}[])")
            continue
        process = column.type.bind_processor(dialect)
        arrays[f"c{i}"] = [process(value) for value in values] if process else values
        casts.append(f"CAST(%(c{i})b AS {kind}[])")
    return arrays, ", ".join(casts)
