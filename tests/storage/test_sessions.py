"""Read-only sessions: on SQLite they read beside the writer instead of queueing for its lock."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine, make_session_factory, read_only_sessions, transaction


def test_a_read_only_session_reads_while_another_holds_the_sqlite_write_lock(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.sqlite3'}")
    try:
        writers = make_session_factory(engine)
        with transaction(writers) as session:
            session.execute(text("CREATE TABLE notes (body TEXT)"))
            session.execute(text("INSERT INTO notes VALUES ('committed')"))
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
    finally:
        engine.dispose()


def test_read_only_sessions_are_on_the_same_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'same.sqlite3'}")
    try:
        writers = make_session_factory(engine)
        with transaction(writers) as session:
            session.execute(text("CREATE TABLE notes (body TEXT)"))
            session.execute(text("INSERT INTO notes VALUES ('one')"))
        with read_only_sessions(writers)() as session:
            assert session.scalar(text("SELECT body FROM notes")) == "one"
    finally:
        engine.dispose()
