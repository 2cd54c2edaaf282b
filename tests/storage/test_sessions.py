"""Read-only sessions: on SQLite they read beside the writer instead of queueing for its lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
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
