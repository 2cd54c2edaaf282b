"""One-time set-password tokens: a new user's invitation, or a reset.

A token is 256 random bits (``secrets.token_urlsafe``), shown once (printed by the CLI,
mailed when SMTP is configured) and stored only as its SHA-256: with that much randomness a
plain hash cannot be brute-forced, and the lookup stays one indexed equality. A token works
once, until it expires; issuing a new one for the same purpose retires the user's earlier
ones, and using one retires them all.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.passwords import check_password
from service.directory.users import set_password
from service.errors import InvalidInput, TokenRefused
from storage.models import User, UserToken

#: How long a set-password token works.
DEFAULT_TOKEN_LIFETIME = timedelta(hours=72)
#: Random bytes in a token.
TOKEN_BYTES = 32


class TokenPurpose(StrEnum):
    set_password = "set-password"


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once to whoever delivers it; never stored like this."""

    user_id: int
    token: str
    expires: datetime

    def __repr__(self) -> str:  # the token must not reach a log through a repr
        return f"IssuedToken(user_id={self.user_id}, expires={self.expires.isoformat()})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    *,
    user_id: int,
    now: datetime,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    purpose: TokenPurpose = TokenPurpose.set_password,
) -> IssuedToken:
    """A fresh token for the user; their earlier unused ones of this purpose stop working."""
    if lifetime <= timedelta(0):
        raise InvalidInput("a token's lifetime must be positive")
    _retire(session, user_id, purpose, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        UserToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=hash_token(token),
            created=now,
            expires=now + lifetime,
        )
    )
    session.flush()
    return IssuedToken(user_id=user_id, token=token, expires=now + lifetime)


def redeem_set_password(
    session: Session, *, token: str, password: str, now: datetime, origin: str = ""
) -> int:
    """Set the password of the token's user (policy checked) and use the token up.

    Returns the user's ID. An unknown, used or expired token is ``TokenRefused``; a weak
    password is ``WeakPassword`` and leaves the token usable.
    """
    row = session.scalars(
        select(UserToken).where(
            UserToken.token_hash == hash_token(str(token)),
            UserToken.purpose == TokenPurpose.set_password.value,
        )
    ).first()
    if row is None or row.used is not None or row.expires <= now:
        raise TokenRefused("token: unknown, already used or expired; ask for a new one")
    user = session.get(User, row.user_id)
    if user is None:  # pragma: no cover - the token goes with its user (CASCADE)
        raise TokenRefused("token: unknown, already used or expired; ask for a new one")
    # The policy first: a weak password leaves the token as it was.
    check_password(password, name=user.name, email=user.email_address, username=user.username)
    # Used only if still unused: two requests with one token cannot both set a password.
    claimed = session.execute(
        update(UserToken)
        .where(UserToken.id == row.id, UserToken.used.is_(None))
        .values(used=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenRefused("token: unknown, already used or expired; ask for a new one")
    set_password(session, user_id=user.id, password=password, now=now)  # retires the others
    audit.record_for_user(
        session,
        user_id=user.id,
        code=audit.AuditCode.user_password_changed,
        description=f"user {user.email_address} (ID {user.id}): set with a set-password token",
        actor=f"user:{user.email_address}",
        origin=origin,
        now=now,
    )
    return user.id


def _retire(session: Session, user_id: int, purpose: TokenPurpose, now: datetime) -> None:
    session.execute(
        update(UserToken)
        .where(
            UserToken.user_id == user_id,
            UserToken.purpose == purpose.value,
            UserToken.used.is_(None),
        )
        .values(used=now)
        .execution_options(synchronize_session=False)
    )
