"""The schema every process needs: each entry point refuses a database that is not migrated.

Without this, the first query on a fresh database fails deep inside a command with a
traceback ("no such table: accounts"); a database behind the newest migration fails later
and stranger (a missing column in the middle of a delivery). ``reportd db upgrade`` and
``reportd demo`` migrate, so they skip the check; every other command, ``reportd api`` and
``reportd worker`` included, calls ``require_migrated`` before its first query (through
``App.engine``). ``create_app`` itself does not: an application started some other way
still answers ``/readyz`` with "not migrated", as the readiness probe expects. The long-lived
processes (``reportd api`` and ``reportd worker``) start when the database does not answer at
all (``require_migrated_unless_down``): an outage is theirs to wait out, and their ``/readyz``
says why they are not ready.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from service.errors import DatabaseNotMigrated
from service.runtime.outages import OUTAGE_ERRORS, describe_outage
from storage.migrate import current_revision, head_revision, known_revisions

log = logging.getLogger(__name__)

#: What an operator reads, whatever the command.
NOT_MIGRATED = "the database is not migrated: run `reportd db upgrade`"


def require_migrated(engine: Engine) -> None:
    """Return if the database behind ``engine`` is at the newest migration; raise otherwise."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseNotMigrated(NOT_MIGRATED)
    if current in known_revisions():
        raise DatabaseNotMigrated(
            f"{NOT_MIGRATED} (it is at revision {current}; this reportd needs {head})"
        )
    raise DatabaseNotMigrated(
        f"the database is at revision {current}, which this reportd does not know: it was "
        "migrated by a newer reportd; run that version"
    )


def require_migrated_unless_down(engine: Engine) -> None:
    """``require_migrated`` for a process that waits out outages: a database that does not
    answer is logged and let be (the process's ``/readyz`` says so); one that answers must be
    at the newest migration."""
    try:
        require_migrated(engine)
    except OUTAGE_ERRORS as error:
        log.warning("the database does not answer (%s): starting anyway", describe_outage(error))
