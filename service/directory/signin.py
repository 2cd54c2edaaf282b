"""Signing a user in: the one function the web console calls (``authenticate``).

It checks the password (argon2id), the second factor when the user has one, and counts
failures: after ``MAX_FAILED_SIGN_INS`` in a row the user is locked out for ``LOCKOUT``
(``unsuccessfulSignInAttempts``, ``unlockTime``); a success or the lockout's end starts the
count afresh. Every outcome is an audit event in each account the user belongs to, and the
answer is a typed value, never an exception, so the caller commits the count and the trail
even when it refuses (raising would roll them back).

What the caller learns is deliberately little: an unknown address, a user without a password
and a wrong password are one refusal (``bad-credentials``) and take the same time. The
password is never logged, stored or repeated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.passwords import burn_time, hash_password, verify_password
from service.directory.secretbox import SecretBox
from service.directory.totp import check_second_factor, confirm_enrolment
from service.directory.users import (
    disable_second_factor,
    find_identity,
    memberships_of,
    set_password,
)
from service.errors import InvalidInput, NotFound
from storage.models import User

log = logging.getLogger(__name__)

#: Failed sign-ins in a row that lock a user out.
MAX_FAILED_SIGN_INS = 5
#: How long a lockout lasts.
LOCKOUT = timedelta(minutes=15)


class Refusal(StrEnum):
    """Why a sign-in was refused."""

    #: Unknown address, no password set yet, or a wrong password (told apart for nobody).
    bad_credentials = "bad-credentials"
    #: Too many failures: no password is checked until ``unlock_time``.
    locked_out = "locked-out"
    #: The password was right and the user has TOTP: ask for the code and call again.
    second_factor_required = "second-factor-required"
    #: The password was right, the TOTP or recovery code was not (counts as a failure).
    bad_second_factor = "bad-second-factor"
    #: Right credentials, but no account where the user is active.
    no_active_account = "no-active-account"


@dataclass(frozen=True)
class AccountAccess:
    """An account the signed-in user may enter, and their role there."""

    account_id: int
    role_id: int | None
    read_only: bool


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    email_address: str
    accounts: tuple[AccountAccess, ...]
    second_factor_used: bool


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    #: When a locked-out user may try again.
    unlock_time: datetime | None = None


SignInResult = SignedIn | Refused


def authenticate(
    session: Session,
    email: str,
    password: str,
    totp: str | None = None,
    *,
    now: datetime,
    box: SecretBox,
    origin: str = "",
) -> SignInResult:
    """Sign ``email`` in with ``password`` (and ``totp``: a TOTP or recovery code).

    The caller commits the session whatever the result: the failure count, the lockout and
    the audit events are part of the answer.
    """
    user = _locked_row(session, email)
    if user is None:
        burn_time(str(password))
        log.info("sign-in refused: no user with that address")
        return Refused(Refusal.bad_credentials)
    actor = f"user:{user.email_address}"
    if user.unlock_time is not None:
        if now < user.unlock_time:
            _audit(session, user, audit.AuditCode.user_sign_in_failed, "locked out", origin, now)
            return Refused(Refusal.locked_out, unlock_time=user.unlock_time)
        user.unlock_time = None
        user.unsuccessful_sign_in_attempts = 0
    verified = verify_password(user.password_hash, str(password))
    if not verified.ok:
        return _failed(session, user, "wrong password", origin, now)
    second_factor = user.mfa_type == "local-totp"
    if second_factor:
        if not totp:
            return Refused(Refusal.second_factor_required)
        if not check_second_factor(session, user=user, code=totp, box=box, now=now):
            return _failed(session, user, "wrong second factor", origin, now)
    accounts = tuple(
        AccountAccess(m.account_id, m.role_id, m.read_only)
        for m in memberships_of(session, user.id)
        if m.active
    )
    if not accounts:
        _audit(session, user, audit.AuditCode.user_sign_in_failed, "not active", origin, now)
        return Refused(Refusal.no_active_account)
    user.unsuccessful_sign_in_attempts = 0
    user.last_sign_in = now
    if verified.rehash:
        user.password_hash = hash_password(str(password))
    session.flush()
    audit.record_for_user(
        session,
        user_id=user.id,
        code=audit.AuditCode.user_signed_in,
        description=f"user {user.email_address} (ID {user.id})"
        + (" with a second factor" if second_factor else ""),
        actor=actor,
        origin=origin,
        now=now,
    )
    log.info("user %s signed in", user.id)
    return SignedIn(
        user_id=user.id,
        email_address=user.email_address,
        accounts=accounts,
        second_factor_used=second_factor,
    )


def change_own_password(
    session: Session,
    *,
    user_id: int,
    current: str,
    new: str,
    now: datetime,
    origin: str = "",
) -> bool:
    """A signed-in user changes their password, proving the current one first.

    False (and a failed sign-in counted, as ``authenticate`` counts it) when ``current`` is
    wrong; ``WeakPassword`` when ``new`` breaks the policy. The caller commits either way.
    """
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    if not verify_password(user.password_hash, str(current)).ok:
        _failed(session, user, "wrong password (changing it)", origin, now)
        return False
    set_password(session, user_id=user.id, password=new, now=now)
    audit.record_for_user(
        session,
        user_id=user.id,
        code=audit.AuditCode.user_password_changed,
        description=f"user {user.email_address} (ID {user.id}): changed by the user",
        actor=f"user:{user.email_address}",
        origin=origin,
        now=now,
    )
    return True


def confirm_own_second_factor(
    session: Session, *, user_id: int, code: str, box: SecretBox, now: datetime, origin: str = ""
) -> list[str]:
    """A signed-in user confirms the TOTP enrolment they began with a first code: TOTP is on,
    audited, and the recovery codes returned (to be shown once). ``InvalidInput`` when the
    code is not the authenticator's current one (not a failed sign-in: nothing is at stake)."""
    codes = confirm_enrolment(session, user_id=user_id, code=code, box=box, now=now)
    user = session.get(User, user_id)
    assert user is not None
    _audit(
        session,
        user,
        audit.AuditCode.user_second_factor_changed,
        "TOTP switched on by the user",
        origin,
        now,
    )
    return codes


def switch_off_own_second_factor(
    session: Session,
    *,
    user_id: int,
    password: str,
    code: str,
    box: SecretBox,
    now: datetime,
    origin: str = "",
) -> bool:
    """A signed-in user switches TOTP off, proving their password and a current code (or a
    recovery code). False, with a failed sign-in counted, when either is wrong; the caller
    commits either way."""
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    if user.mfa_type != "local-totp":
        raise InvalidInput("mfaType: TOTP is not on")
    if not verify_password(user.password_hash, str(password)).ok:
        _failed(session, user, "wrong password (switching TOTP off)", origin, now)
        return False
    if not check_second_factor(session, user=user, code=str(code), box=box, now=now):
        _failed(session, user, "wrong second factor", origin, now)
        return False
    disable_second_factor(session, user_id=user.id)
    _audit(
        session,
        user,
        audit.AuditCode.user_second_factor_changed,
        "TOTP switched off by the user",
        origin,
        now,
    )
    return True


def _locked_row(session: Session, email: str) -> User | None:
    """The user with this address, its row locked so concurrent failures all count."""
    found = find_identity(session, str(email))
    if found is None:
        return None
    statement = select(User).where(User.id == found.id).with_for_update()
    return session.scalars(statement.execution_options(populate_existing=True)).first()


def _failed(session: Session, user: User, why: str, origin: str, now: datetime) -> Refused:
    user.unsuccessful_sign_in_attempts += 1
    _audit(session, user, audit.AuditCode.user_sign_in_failed, why, origin, now)
    log.info("sign-in refused for user %s: %s", user.id, why)
    if user.unsuccessful_sign_in_attempts >= MAX_FAILED_SIGN_INS:
        user.unlock_time = now + LOCKOUT
        session.flush()
        _audit(
            session,
            user,
            audit.AuditCode.user_locked_out,
            f"after {user.unsuccessful_sign_in_attempts} failed sign-ins, until "
            f"{user.unlock_time.isoformat()}",
            origin,
            now,
        )
        return Refused(Refusal.locked_out, unlock_time=user.unlock_time)
    session.flush()
    if why == "wrong second factor":
        return Refused(Refusal.bad_second_factor)
    return Refused(Refusal.bad_credentials)


def _audit(
    session: Session, user: User, code: audit.AuditCode, why: str, origin: str, now: datetime
) -> None:
    audit.record_for_user(
        session,
        user_id=user.id,
        code=code,
        description=f"user {user.email_address} (ID {user.id}): {why}",
        actor=f"user:{user.email_address}",
        origin=origin,
        now=now,
    )
