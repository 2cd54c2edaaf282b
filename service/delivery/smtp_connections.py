"""SMTP connections kept open between mails, one per thread.

A fan-out sends hundreds of mails to one server; opening a connection, greeting, starting TLS
and logging in for each of them costs more than the transfer of a short report. A worker
thread keeps its connection and starts the next mail on it after an ``RSET``. A connection
that failed in any way is closed, never reused, so a kept connection is only ever one whose
last mail went through; one the server closed while idle is found by the ``RSET`` and
replaced before anything is sent. Connections are also dropped after ``max_messages`` mails
or ``max_idle`` seconds, well inside the five minutes RFC 5321 lets a server wait.
"""

from __future__ import annotations

import smtplib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

#: Mails sent over one connection before it is closed and a new one opened.
DEFAULT_MAX_MESSAGES = 100
#: Seconds a connection may sit unused and still be reused.
DEFAULT_MAX_IDLE = 60.0


@dataclass
class _Kept:
    client: smtplib.SMTP
    key: object
    messages: int
    idle_since: float


class SmtpConnections:
    """The open connection of each thread, keyed by the server settings it was opened for."""

    def __init__(
        self,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_idle: float = DEFAULT_MAX_IDLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_messages = max_messages
        self.max_idle = max_idle
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: set[smtplib.SMTP] = set()
        # Connections of threads that ended are still in ``_all``; close them all when this
        # object goes, rather than leave their sockets to the garbage collector.
        weakref.finalize(self, _close_each, self._all)
        self.opened = 0
        self.reused = 0

    def take(self, key: object) -> smtplib.SMTP | None:
        """This thread's open connection for ``key``, checked with ``RSET``, or None."""
        kept: _Kept | None = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is None:
            return None
        if kept.key != key or self._clock() - kept.idle_since > self.max_idle:
            self._close(kept.client)
            return None
        try:
            code, _ = kept.client.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._close(kept.client)
            return None
        kept.messages += 1
        self._local.in_use = kept
        with self._lock:
            self.reused += 1
        return kept.client

    def opened_new(self, client: smtplib.SMTP, key: object) -> None:
        """Record a connection the caller just opened (and greeted) for ``key``."""
        self._local.in_use = _Kept(client, key, messages=1, idle_since=self._clock())
        with self._lock:
            self._all.add(client)
            self.opened += 1

    def give_back(self, client: smtplib.SMTP) -> None:
        """The mail went through: keep ``client`` for this thread's next one, if it may be."""
        kept: _Kept | None = getattr(self._local, "in_use", None)
        self._local.in_use = None
        if kept is None or kept.client is not client or kept.messages >= self.max_messages:
            self._close(client)
            return
        kept.idle_since = self._clock()
        self._local.kept = kept

    def discard(self, client: smtplib.SMTP) -> None:
        """Something went wrong on ``client``: close it; it is never used again."""
        self._local.in_use = None
        self._close(client, polite=False)

    def close_all(self) -> None:
        """Close every connection this object opened, in whatever thread (at shutdown)."""
        with self._lock:
            clients = list(self._all)
            self._all.clear()
        for client in clients:
            self._close(client)

    def _close(self, client: smtplib.SMTP, *, polite: bool = True) -> None:
        with self._lock:
            self._all.discard(client)
        try:
            if polite:
                client.quit()
            else:
                client.close()
        except (OSError, smtplib.SMTPException):
            client.close()


def _close_each(clients: set[smtplib.SMTP]) -> None:
    for client in list(clients):
        client.close()
    clients.clear()
