"""Read-only sessions: on SQLite they read beside the writer instead of queueing for its lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory, read_only_sessions, transaction


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a SQLite file holding one committed note."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        session.execute(text("CREATE TABLE notes (body TEXT)"))
        session.execute(text("INSERT INTO notes VALUES ('committed')"))
    yield sessions
    engine.dispose()


def test_a_read_only_session_reads_while_another_holds_the_sqlite_write_lock(
    writers: sessionmaker[Session],
) -> None:
    readers = read_only_sessions(writers)
    seen: list[int] = []
    with transaction(writers) as writing:
        writing.execute(text("INSERT INTO notes VALUES ('not yet')"))  # holds the lock

        def read() -> None:
            with readers() as session:
                seen.append(session.scalar(text("SELECT count(*) FROM notes")) or 0)

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(5)  # a writer's session would wait for the lock (30 s)
        assert not reader.is_alive(), "the read-only session queued behind the writer"
    assert seen == [1]  # the committed row, not the writer's open one


def test_read_only_sessions_are_on_the_same_database(writers: sessionmaker[Session]) -> None:
    with read_only_sessions(writers)() as session:
        assert session.scalar(text("SELECT body FROM notes")) == "committed"


def test_read_only_sessions_see_what_writers_committed_on_each_backend(engine: Engine) -> None:
    # On PostgreSQL they read in autocommit (no BEGIN and ROLLBACK round trips); writers keep
    # their transactions, and a connection a reader used goes back to the pool as it came.
    writers = make_session_factory(engine)
    readers = read_only_sessions(writers)
    with transaction(writers) as session:
        session.execute(text("CREATE TABLE reader_notes (body TEXT)"))
        session.execute(text("INSERT INTO reader_notes VALUES ('committed')"))
    try:
        with readers() as session:
            assert session.scalar(text("SELECT body FROM reader_notes")) == "committed"
            raw = session.connection().connection.dbapi_connection
            if engine.dialect.name == "postgresql":
                assert raw is not None
                assert raw.info.transaction_status.name == "IDLE"  # not inside a transaction
        with transaction(writers) as session:
            session.execute(text("INSERT INTO reader_notes VALUES ('second')"))
            raw = session.connection().connection.dbapi_connection
            if engine.dialect.name == "postgresql":
                assert raw is not None
                assert raw.info.transaction_status.name == "INTRANS"
        with readers() as session:
            assert session.scalar(text("SELECT count(*) FROM reader_notes")) == 2
    finally:
        with transaction(writers) as session:
            session.execute(text("DROP TABLE reader_notes"))
