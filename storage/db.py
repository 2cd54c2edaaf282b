"""Engines and sessions. Callers own the session; nothing here is global."""

from __future__ import annotations

import logging
import select
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: How long SQLite waits for another writer before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Seconds a server database that answered before is waited for when it stops answering (a
#: restart, a fail-over) before connecting fails: the wait of a pool for a connection, as
#: HikariCP's ``connectionTimeout`` and psycopg_pool's ``getconn`` default to.
RECONNECT_WAIT = 30.0
#: Seconds a pooled connection may rest before it is pinged at its next use.
PING_IDLE_AFTER = 1.0
#: Where a pooled connection's record keeps when it was last given back (monotonic seconds).
_RETURNED = "reportd_returned_at"
#: The first and the longest pause between two connection attempts (seconds).
RECONNECT_PAUSE = 0.05
RECONNECT_MAX_PAUSE = 1.0


def make_engine(url: str, *, reconnect_wait: float = RECONNECT_WAIT, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout.

    A pooled connection of a server database that rested a while is pinged before use
    (``_ping_when_idle``), and a connection lost after the engine had connected once is
    re-established for up to ``reconnect_wait``
    seconds: a database restart delays work instead of failing it (a mail already sent is
    then still recorded). The first connection fails at once, so a wrong URL or a server
    that is not there is reported without waiting.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # Sessions in UTC: timestamps come back as datetime.UTC, which UTCDateTime passes
        # through as they are instead of converting ten thousand of them per report.
        connect_args = dict(kwargs.pop("connect_args", {}))
        given = connect_args.get("options") or parsed.query.get("options") or ""
        connect_args["options"] = f"{given} -c timezone=UTC".strip()
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if reconnect_wait > 0:
        reconnect = _Reconnect(reconnect_wait)
        event.listen(engine, "do_connect", reconnect)
        _RECONNECTS[engine] = reconnect
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine, idle: float = PING_IDLE_AFTER) -> None:
    """Ping a pooled connection before use when the server may have dropped it.

    ``pool_pre_ping`` pings at every checkout: a round trip before each of a delivery's
    four transactions (0.58 against 0.34 ms of the client's CPU for a one-statement
    transaction). A server that closes a connection (a restart, a fail-over, a terminated
    backend) leaves its socket readable while the connection rests in the pool, which a
    zero-time ``select`` sees without a round trip: then, or when the connection rested
    longer than ``idle`` seconds, it is pinged, and replaced when it does not answer.
    """
    broken = engine.dialect.loaded_dbapi.Error

    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested = time.monotonic() - record.info.get(_RETURNED, 0.0)
        if rested < idle and not _readable(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except broken as error:
            raise DisconnectionError(f"a pooled connection was lost: {error}") from error

    event.listen(engine.pool, "connect", fresh)
    event.listen(engine.pool, "checkin", fresh)
    event.listen(engine.pool, "checkout", checkout)


class _Reconnect:
    """``do_connect`` hook: once a connection succeeded, retry failed ones for a while."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self._connected_once = threading.Event()
        #: Set by :func:`stop_waiting_for_database`: a stopping process waits no more.
        self.stopping = threading.Event()

    def __call__(
        self, dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> Any:
        unreachable = dialect.loaded_dbapi.OperationalError
        deadline = time.monotonic() + (self.wait if self._connected_once.is_set() else 0.0)
        pause = RECONNECT_PAUSE
        while True:
            try:
                connection = dialect.connect(*cargs, **cparams)
            except unreachable as error:
                if self.stopping.is_set() or time.monotonic() + pause > deadline:
                    raise
                log.warning("database unreachable, trying again in %.2f s: %s", pause, error)
                if self.stopping.wait(pause):
                    raise
                pause = min(pause * 2, RECONNECT_MAX_PAUSE)
                continue
            self._connected_once.set()
            return connection


#: Each server engine's reconnect hook, for :func:`stop_waiting_for_database`.
_RECONNECTS: weakref.WeakKeyDictionary[Engine, _Reconnect] = weakref.WeakKeyDictionary()


def stop_waiting_for_database(engine: Engine) -> None:
    """From now on a connection of ``engine`` that fails is not tried again, and attempts
    waiting to be tried again give up: a process that is stopping (a worker asked to stop)
    must not wait out a database outage ``RECONNECT_WAIT`` seconds per connection. What it
    could not record stays in the ledger as it was, for the reconciler."""
    reconnect = _RECONNECTS.get(engine)
    if reconnect is not None:
        reconnect.stopping.set()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own implicit BEGIN is off; _sqlite_begin_immediate emits ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


#: Execution option of the engines behind read-only session factories.
READ_ONLY = "reportd_read_only"


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction begins, not when it first writes.

    A transaction that reads, then writes, cannot wait for the lock once another writer got
    in between ("database is locked" at once); taking it up front makes writers queue up
    behind the busy timeout instead: SQLite's single-writer lock, used on purpose. Sessions
    made to read only (``make_session_factory(read_only=True)``) begin without it: in WAL
    mode they read a snapshot beside the writer instead of queueing behind it.
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` ones are for reading (on SQLite they do not take
    the write lock, so they must not write: nothing stops them but SQLite's busy error).

    On PostgreSQL read-only sessions run in autocommit: under read committed every statement
    reads its own snapshot inside a transaction too, so what they see is the same, without a
    BEGIN and a ROLLBACK, each a round trip to the server, around every delivery's reading.
    """
    if read_only:
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        engine = engine.execution_options(**options)
    return sessionmaker(bind=engine, expire_on_commit=False)


def read_only_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Read-only sessions on the engine of ``sessions``."""
    return make_session_factory(_engine_of(sessions), read_only=True)


def statement_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for work whose every statement stands on its own, such as a claim (a look,
    then an UPDATE that checks again what it looked at) or a move that is one statement.

    On PostgreSQL each statement commits by itself (autocommit), which spares a BEGIN and a
    COMMIT round trip; elsewhere these are ``sessions`` themselves. Work that must see and
    change several rows as one (closing a run) keeps to ``sessions``.
    """
    engine = _engine_of(sessions)
    if engine.dialect.name != "postgresql":
        return sessions
    return make_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


def _engine_of(sessions: sessionmaker[Session]) -> Engine:
    engine = sessions.kw.get("bind")
    if not isinstance(engine, Engine):
        raise TypeError("the session factory is not bound to an engine")
    return engine


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """ANALYZE ``tables`` on PostgreSQL, after a bulk load.

    Until autovacuum gets to them (a minute or more), the planner believes freshly loaded
    tables are small, and the scoped queries, which choose between probing events per
    computer and scanning a window, pick their plans from those row estimates. SQLite is
    left alone: its planner does without statistics, and ANALYZE would add its own table.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(f'ANALYZE "{table}"'))


def _readable(dbapi_connection: Any) -> bool:
    """Whether a resting connection's socket has something to read: the server closed it or
    said why it will (nothing else arrives unasked on an idle connection)."""
    try:
        ready, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True  # no socket any more: let the ping say so
    return bool(ready)
