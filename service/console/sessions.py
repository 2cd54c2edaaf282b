"""Console sessions in the database: started at sign-in, found by the cookie, timed out.

The cookie carries a 256-bit random token; the table keeps its SHA-256 (like set-password
tokens), so reading the table signs nobody in. A session ends when its user signs out, when
it has been idle for ``idle`` or alive for ``absolute``, or when the user changes their
password elsewhere (every other session of the user ends). Each session has its own CSRF
synchronizer token, compared in constant time on every state-changing request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import ConsoleSession

#: Random bytes in a session token and in a CSRF token.
TOKEN_BYTES = 32
#: ``last_seen`` is written at most this often: a page view is not a write every time.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives unused (``idle``) and at most (``absolute``)."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class StartedSession:
    """A new session as the browser gets it: the cookie's token, shown once."""

    session_id: int
    token: str
    csrf_token: str

    def __repr__(self) -> str:  # the token must not reach a log through a repr
        return f"StartedSession(session_id={self.session_id})"


@dataclass(frozen=True)
class LiveSession:
    """A session found by its cookie: who, in which account, and its CSRF token."""

    session_id: int
    user_id: int
    account_id: int | None
    csrf_token: str
    created: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session, *, user_id: int, account_id: int | None, now: datetime, origin: str = ""
) -> StartedSession:
    """A fresh session (never one carried over from before sign-in: no fixation)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ConsoleSession(
        token_hash=hash_token(token),
        user_id=user_id,
        account_id=account_id,
        csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
        origin=origin[:64],
        created=now,
        last_seen=now,
    )
    session.add(row)
    session.flush()
    return StartedSession(session_id=row.id, token=token, csrf_token=row.csrf_token)


def find_session(
    session: Session, *, token: str | None, now: datetime, timeouts: Timeouts
) -> LiveSession | None:
    """The live session behind ``token``, touched; None (and the row gone) when timed out."""
    if not token:
        return None
    row = session.scalars(
        select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    if now - row.last_seen > timeouts.idle or now - row.created > timeouts.absolute:
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen >= TOUCH_EVERY:
        row.last_seen = now
        session.flush()
    return LiveSession(
        session_id=row.id,
        user_id=row.user_id,
        account_id=row.account_id,
        csrf_token=row.csrf_token,
        created=row.created,
    )


def switch_account(session: Session, *, session_id: int, account_id: int) -> None:
    """The session now works in ``account_id`` (the caller checked the membership)."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id)
        .values(account_id=account_id)
        .execution_options(synchronize_session=False)
    )


def end_session(session: Session, *, token: str | None) -> None:
    """Sign-out: the session's row is deleted, so the cookie is worth nothing anywhere."""
    if token:
        session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token))
        )


def end_other_sessions(session: Session, *, user_id: int, keep_session_id: int | None) -> int:
    """Every session of the user but ``keep_session_id`` ends (after a password change)."""
    statement = delete(ConsoleSession).where(ConsoleSession.user_id == user_id)
    if keep_session_id is not None:
        statement = statement.where(ConsoleSession.id != keep_session_id)
    result = session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge_expired(session: Session, *, now: datetime, timeouts: Timeouts) -> int:
    """Delete sessions past either time-out (run at each sign-in; cheap with few rows)."""
    result = session.execute(
        delete(ConsoleSession).where(
            or_(
                ConsoleSession.last_seen < now - timeouts.idle,
                ConsoleSession.created < now - timeouts.absolute,
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token; an absent one never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), str(given).encode("utf-8"))
