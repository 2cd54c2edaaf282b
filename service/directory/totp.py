"""The optional second factor: TOTP (RFC 6238, pyotp) with one-time recovery codes.

A user switches it on in two steps (the console drives them): :func:`begin_enrolment` makes
a secret, sealed with the settings' key, and gives its ``otpauth://`` URI for an
authenticator app; :func:`confirm_enrolment` takes a first code from the app, sets
``mfaType`` to ``local-totp`` and gives ten recovery codes, shown once. Only the SHA-256 of a
recovery code is kept (80 random bits each: a plain hash is enough); each works once.

A TOTP code is accepted one 30-second step either side of now, and never twice: the last
accepted step is remembered, so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.directory.secretbox import SecretBox
from service.errors import InvalidInput, NotFound
from storage.models import RecoveryCode, User

#: Recovery codes given at enrolment (and when they are made anew).
RECOVERY_CODES = 10
#: The recovery codes' alphabet: 32 letters and digits without look-alikes (5 bits each).
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Characters in a recovery code (80 bits), shown in groups of four.
_CODE_LENGTH = 16
#: Steps of 30 s accepted either side of now (clock drift of the user's phone).
VALID_WINDOW = 1
#: The issuer an authenticator app shows beside the account.
ISSUER = "reportd"


@dataclass(frozen=True)
class Enrolment:
    """What the console shows once to a user who switches TOTP on."""

    secret: str
    uri: str

    def __repr__(self) -> str:
        return "Enrolment(<secret hidden>)"


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    return user


def begin_enrolment(session: Session, *, user_id: int, box: SecretBox) -> Enrolment:
    """A new TOTP secret for the user (not in force until confirmed with a code)."""
    user = _user(session, user_id)
    if user.mfa_type == "local-totp":
        raise InvalidInput("mfaType: TOTP is already on; switch it off first")
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = box.seal(secret)
    user.totp_last_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email_address, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def pending_enrolment(session: Session, *, user_id: int, box: SecretBox) -> Enrolment | None:
    """The enrolment begun and not yet confirmed (shown again until it is), else None: once
    TOTP is on its secret is never given out again."""
    user = _user(session, user_id)
    if user.mfa_type == "local-totp" or user.totp_secret_encrypted is None:
        return None
    secret = box.open(user.totp_secret_encrypted)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email_address, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def confirm_enrolment(
    session: Session, *, user_id: int, code: str, box: SecretBox, now: datetime
) -> list[str]:
    """Switch TOTP on with a first code from the app; returns the recovery codes (once)."""
    user = _user(session, user_id)
    if user.totp_secret_encrypted is None or user.mfa_type == "local-totp":
        raise InvalidInput("totp: no enrolment in progress; begin one first")
    if not _accept_totp(user, code, box, now):
        raise InvalidInput("totp: the code is not the authenticator's current one")
    user.mfa_type = "local-totp"
    session.flush()
    return new_recovery_codes(session, user_id=user_id)


def new_recovery_codes(session: Session, *, user_id: int) -> list[str]:
    """Ten fresh recovery codes; the earlier ones stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash(c)) for c in codes)
    session.flush()
    return ["-".join(code[i : i + 4] for i in range(0, _CODE_LENGTH, 4)) for code in codes]


def check_second_factor(
    session: Session, *, user: User, code: str, box: SecretBox, now: datetime
) -> bool:
    """Is ``code`` the user's current TOTP code or an unused recovery code? Uses it up."""
    if user.mfa_type != "local-totp":
        return True
    cleaned = "".join(ch for ch in str(code).upper() if ch.isalnum())
    if len(cleaned) == _CODE_LENGTH:
        return _use_recovery_code(session, user.id, cleaned, now)
    return _accept_totp(user, cleaned, box, now)


def _accept_totp(user: User, code: str, box: SecretBox, now: datetime) -> bool:
    if user.totp_secret_encrypted is None or not code.isdigit():
        return False
    totp = pyotp.TOTP(box.open(user.totp_secret_encrypted))
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def _use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    found = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used.is_(None),
        )
    ).first()
    if found is None:
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == found, RecoveryCode.used.is_(None))
        .values(used=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()
