"""Users (administrators): one identity across accounts, one membership (role) per account.

A user is a person who signs in (seed 002): an email address and a password, their name,
numbers, language and report password are their own, the same in every account. What one
account says about them is their :class:`~storage.models.Membership` there: the role, whether
they are active, read-only, get notifications, and the account's description of them.

Fields follow the SDK's ``Administrator`` (``fullName`` is the ``name`` column). Every value
is checked before anything is written. Passwords are set only through
:func:`set_password` (policy, argon2id); a new identity without one gets a set-password token
(``service.directory.user_tokens``). Nothing here returns a password, its hash or a token's hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.directory.passwords import check_password, hash_password
from service.directory.secretbox import SecretBox
from service.errors import InvalidInput, NotFound
from service.fields import (
    Description,
    EmailAddress,
    Name,
    PhoneNumber,
    ReportPassword,
    TimeZone,
    Username,
    check,
)
from service.reports.locales import normalize_locale
from storage.models import Membership, RecoveryCode, Role, User, UserToken

#: Identity fields (the person's own, the same in every account): column -> API name.
IDENTITY_NAMES: dict[str, str] = {
    "username": "username",
    "name": "fullName",
    "email_address": "emailAddress",
    "phone_number": "phoneNumber",
    "mobile_number": "mobileNumber",
    "pager_number": "pagerNumber",
    "locale": "locale",
    "time_zone": "timeZone",
    "time_format": "timeFormat",
    "mfa_type": "mfaType",
    "report_pdf_password_enabled": "reportPDFPasswordEnabled",
    "report_pdf_password": "reportPDFPassword",
    "password": "password",
}
#: Membership fields (what one account says): attribute -> API name.
MEMBERSHIP_NAMES: dict[str, str] = {
    "role_id": "roleID",
    "description": "description",
    "active": "active",
    "read_only": "readOnly",
    "receive_notifications": "receiveNotifications",
}
API_NAMES = IDENTITY_NAMES | MEMBERSHIP_NAMES
#: The fields a user may always change on their own identity ("change own password and
#: contact information"): not the sign-in name, the role or anything an account decides.
OWN_CONTACT_FIELDS = frozenset(
    {
        "name",
        "phone_number",
        "mobile_number",
        "pager_number",
        "locale",
        "time_zone",
        "time_format",
        "report_pdf_password_enabled",
        "report_pdf_password",
        "password",
    }
)
TIME_FORMATS = ("12", "24")
MFA_TYPES = ("none", "local-totp")


@dataclass(frozen=True)
class Member:
    """A user as one account sees them: the identity and this account's membership."""

    id: int
    account_id: int
    username: str
    name: str
    email_address: str
    phone_number: str
    mobile_number: str
    pager_number: str
    locale: str
    time_zone: str
    time_format: str
    mfa_type: str
    report_pdf_password_enabled: bool
    password_set: bool
    created: datetime
    last_password_change: datetime | None
    last_sign_in: datetime | None
    unsuccessful_sign_in_attempts: int
    unlock_time: datetime | None
    role_id: int | None
    description: str
    active: bool
    read_only: bool
    receive_notifications: bool
    #: The other accounts this identity belongs to (their ids; never shown to this account).
    other_accounts: frozenset[int] = field(default_factory=frozenset)

    def audit_values(self) -> dict[str, Any]:
        """What the audit trail may say about the user (no password, no hash)."""
        return {
            API_NAMES[name]: getattr(self, name)
            for name in API_NAMES
            if name not in ("password", "report_pdf_password")
        }


@dataclass(frozen=True)
class Added:
    member: Member
    #: True when the identity was made now; False when an existing one joined the account.
    new_identity: bool


def _member(user: User, membership: Membership, others: frozenset[int]) -> Member:
    return Member(
        id=user.id,
        account_id=membership.account_id,
        username=user.username,
        name=user.name,
        email_address=user.email_address,
        phone_number=user.phone_number,
        mobile_number=user.mobile_number,
        pager_number=user.pager_number,
        locale=user.locale,
        time_zone=user.time_zone,
        time_format=user.time_format,
        mfa_type=user.mfa_type,
        report_pdf_password_enabled=user.report_pdf_password_enabled,
        password_set=user.password_hash is not None,
        created=user.created,
        last_password_change=user.last_password_change,
        last_sign_in=user.last_sign_in,
        unsuccessful_sign_in_attempts=user.unsuccessful_sign_in_attempts,
        unlock_time=user.unlock_time,
        role_id=membership.role_id,
        description=membership.description,
        active=membership.active,
        read_only=membership.read_only,
        receive_notifications=membership.receive_notifications,
        other_accounts=others,
    )


# --- reading ---------------------------------------------------------------------------------


def _accounts_of(session: Session, user_id: int) -> set[int]:
    statement = select(Membership.account_id).where(Membership.user_id == user_id)
    return set(session.scalars(statement))


def _pair(session: Session, account_id: int, user_id: int) -> tuple[User, Membership]:
    row = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id, User.id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"no administrator with ID {user_id} in this account")
    return row[0], row[1]


def get_member(session: Session, *, account_id: int, user_id: int) -> Member:
    user, membership = _pair(session, account_id, user_id)
    return _member(user, membership, frozenset(_accounts_of(session, user_id) - {account_id}))


def list_members(session: Session, *, account_id: int) -> list[Member]:
    """The account's users, by ID, each with the other accounts it belongs to."""
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id)
        .order_by(User.id)
    ).all()
    others: dict[int, set[int]] = {}
    if rows:
        links = session.execute(
            select(Membership.user_id, Membership.account_id).where(
                Membership.user_id.in_([user.id for user, _ in rows]),
                Membership.account_id != account_id,
            )
        )
        for user_id, other in links:
            others.setdefault(user_id, set()).add(other)
    return [_member(u, m, frozenset(others.get(u.id, ()))) for u, m in rows]


def find_member(session: Session, *, account_id: int, ref: str) -> Member:
    """A user of the account by ID, email address or username."""
    statement = (
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id)
    )
    if ref.isdigit():
        found = session.scalars(statement.where(User.id == int(ref))).first()
    else:
        found = session.scalars(statement.where(User.username == ref)).first()
        if found is None and "@" in ref:
            user = find_identity(session, ref)
            if user is not None:
                found = session.scalars(statement.where(User.id == user.id)).first()
    if found is None:
        raise NotFound(f"no administrator {ref!r} in this account")
    return get_member(session, account_id=account_id, user_id=found)


def find_identity(session: Session, address: str) -> User | None:
    """The user with this email address, in any account (None when there is none)."""
    normalized = _address_or_none(address)
    if normalized is None:
        return None
    # One person, one address: "Mia.Keller@" and "mia.keller@" are the same user.
    found = session.scalars(
        select(User).where(func.lower(User.email_address) == normalized.lower())
    ).all()
    exact = [u for u in found if u.email_address == normalized]
    return next(iter(exact or found), None)


def _address_or_none(address: str) -> str | None:
    try:
        return _user_address(address)
    except InvalidInput:
        return None


# --- writing ---------------------------------------------------------------------------------


def add_user(
    session: Session, *, account_id: int, box: SecretBox, now: datetime, **values: Any
) -> Added:
    """Make ``email_address`` an administrator of the account with ``role_id``.

    A new address makes a new identity (``name`` required; a ``password`` is checked and
    hashed, else the user has none until a set-password token is used). An address that is
    already a user elsewhere joins this account: the identity is theirs, so identity fields
    given must agree with it (``InvalidInput`` names those that do not).
    """
    unknown = set(values) - set(API_NAMES)
    if unknown:
        raise InvalidInput(f"unknown administrator field(s): {', '.join(sorted(unknown))}")
    if not values.get("email_address"):
        raise InvalidInput("emailAddress: required")
    if "role_id" not in values:
        raise InvalidInput("roleID: required (the administrator's role in this account)")
    existing = find_identity(session, str(values["email_address"]))
    if existing is not None:
        if existing.id in _members_here(session, account_id, [existing.id]):
            raise InvalidInput(
                f"emailAddress: {existing.email_address} is already an administrator here"
            )
        _check_agrees(session, existing, box, values)
        user, new_identity = existing, False
    else:
        if not values.get("name"):
            raise InvalidInput("fullName: required for a new administrator")
        user, new_identity = User(created=now), True
        _apply_identity(session, user, box, _identity_values(values), now=now)
        session.add(user)
        session.flush()
    membership = Membership(account_id=account_id, user_id=user.id, created=now)
    _apply_membership(session, membership, _membership_values(values))
    session.add(membership)
    session.flush()
    return Added(get_member(session, account_id=account_id, user_id=user.id), new_identity)


def edit_user(
    session: Session,
    *,
    account_id: int,
    user_id: int,
    box: SecretBox,
    now: datetime,
    **changes: Any,
) -> Member:
    """Change fields of the identity and of this account's membership; the rest stays."""
    unknown = set(changes) - set(API_NAMES)
    if unknown:
        raise InvalidInput(f"unknown administrator field(s): {', '.join(sorted(unknown))}")
    user, membership = _pair(session, account_id, user_id)
    _apply_identity(session, user, box, _identity_values(changes), now=now)
    _apply_membership(session, membership, _membership_values(changes))
    session.flush()
    return get_member(session, account_id=account_id, user_id=user_id)


def remove_user(session: Session, *, account_id: int, user_id: int) -> bool:
    """Take the user out of the account; the identity goes too when no account is left.

    Returns True when the identity (its password hash, tokens and codes) was deleted.
    """
    user, membership = _pair(session, account_id, user_id)
    session.delete(membership)
    session.flush()
    if _accounts_of(session, user_id):
        return False
    session.delete(user)
    session.flush()
    return True


def delete_identity(session: Session, *, user_id: int) -> None:
    """Delete the user everywhere (every membership, token and recovery code with it)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    session.delete(user)
    session.flush()


def set_password(session: Session, *, user_id: int, password: str, now: datetime) -> None:
    """Check ``password`` against the policy and store its hash; unlocks the user."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    _store_password(user, password, now)
    session.flush()
    _retire_tokens(session, user_id, now)


def _store_password(user: User, password: str, now: datetime) -> None:
    check_password(password, name=user.name, email=user.email_address, username=user.username)
    user.password_hash = hash_password(password)
    user.last_password_change = now
    user.unsuccessful_sign_in_attempts = 0
    user.unlock_time = None


def _retire_tokens(session: Session, user_id: int, now: datetime) -> None:
    """A password set another way retires the user's pending set-password tokens."""
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user_id, UserToken.used.is_(None))
        .values(used=now)
        .execution_options(synchronize_session=False)
    )


def disable_second_factor(session: Session, *, user_id: int) -> None:
    """Switch TOTP off: the secret and the recovery codes are deleted."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with ID {user_id}")
    user.mfa_type = "none"
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.flush()


def memberships_of(session: Session, user_id: int) -> list[Membership]:
    statement = select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)
    return list(session.scalars(statement))


def _members_here(session: Session, account_id: int, user_ids: list[int]) -> set[int]:
    statement = select(Membership.user_id).where(
        Membership.account_id == account_id, Membership.user_id.in_(user_ids)
    )
    return set(session.scalars(statement))


def pending_tokens(session: Session, user_id: int, now: datetime) -> int:
    """How many unused, unexpired tokens the user has (for ``reportd users show``)."""
    statement = select(func.count(UserToken.id)).where(
        UserToken.user_id == user_id, UserToken.used.is_(None), UserToken.expires > now
    )
    return int(session.scalar(statement) or 0)


def _identity_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in IDENTITY_NAMES}


def _membership_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in MEMBERSHIP_NAMES}


def _check_agrees(session: Session, user: User, box: SecretBox, values: dict[str, Any]) -> None:
    """Identity fields given for an existing identity must be what it already has."""
    given = _identity_values(values)
    if "password" in given or "report_pdf_password" in given:
        raise InvalidInput(
            f"emailAddress: {user.email_address} is an existing user; their passwords are "
            "their own (leave password and reportPDFPassword out)"
        )
    differ = []
    for key, value in given.items():
        if key in ("mfa_type", "email_address"):  # the address is how they were found
            continue
        clean = _clean_identity(session, user, key, value)
        if clean != getattr(user, key):
            differ.append(IDENTITY_NAMES[key])
    if differ:
        raise InvalidInput(
            f"{', '.join(sorted(differ))}: {user.email_address} is an existing user whose "
            "identity is their own; leave these out to add them to this account"
        )


def _apply_identity(
    session: Session, user: User, box: SecretBox, values: dict[str, Any], *, now: datetime
) -> None:
    """Check every value first, then set them: a bad field writes nothing."""
    clean = {key: _clean_identity(session, user, key, value) for key, value in values.items()}
    password = clean.pop("password", None)
    report_password = clean.pop("report_pdf_password", None)
    mfa = clean.pop("mfa_type", None)
    enabled = clean.get("report_pdf_password_enabled", user.report_pdf_password_enabled)
    if enabled and report_password is None and user.report_pdf_password_encrypted is None:
        raise InvalidInput("reportPDFPassword: required when reportPDFPasswordEnabled is true")
    if mfa is not None and mfa != user.mfa_type:
        if mfa == "local-totp":
            raise InvalidInput(
                "mfaType: local-totp is switched on by the user, who enrols an authenticator "
                "(service.directory.totp); it can only be switched off here (none)"
            )
    for key, value in clean.items():
        setattr(user, key, value)
    if not user.username:
        user.username = user.email_address
    if report_password is not None:
        user.report_pdf_password_encrypted = box.seal(report_password)
    if password is not None:
        _store_password(user, password, now)
        if user.id is not None:
            _retire_tokens(session, user.id, now)
    if mfa == "none" and user.mfa_type != "none":
        user.mfa_type = "none"
        user.totp_secret_encrypted = None
        user.totp_last_step = None
        if user.id is not None:
            session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _clean_identity(session: Session, user: User, key: str, value: Any) -> Any:  # noqa: C901
    api = IDENTITY_NAMES[key]
    if key == "name":
        return _line(api, value, Name)
    if key == "username":
        name = _line(api, value, Username)
        if any(ch.isspace() for ch in name):
            raise InvalidInput(f"{api}: must not contain spaces")
        _unique(session, user, User.username, name, api)
        return name
    if key == "email_address":
        address = _user_address(value)
        _unique(session, user, func.lower(User.email_address), address.lower(), api)
        return address
    if key == "locale":
        return normalize_locale(value)
    if key == "time_zone":
        return str(check(TimeZone, value, "timeZone"))
    if key == "time_format":
        if str(value) not in TIME_FORMATS:
            raise InvalidInput(f"{api}: must be 12 or 24")
        return str(value)
    if key == "mfa_type":
        if value not in MFA_TYPES:
            raise InvalidInput(f"{api}: must be none or local-totp")
        return value
    if key == "report_pdf_password_enabled":
        if not isinstance(value, bool):
            raise InvalidInput(f"{api}: must be true or false")
        return value
    if key == "password":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{api}: must be a non-empty string")
        return value
    if key == "report_pdf_password":
        return _report_password(api, value)
    return str(check(PhoneNumber, "" if value is None else value, api))


# The field rules are service.fields' table, as for contacts, the API and the import.


def _line(api: str, value: Any, kind: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{api}: must be text")
    return str(check(kind, value, api))


def _description(value: Any) -> str:
    return str(check(Description, "" if value is None else value, "description"))


def _report_password(api: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{api}: must not be empty or only blanks")
    return str(check(ReportPassword, value, api))


def _user_address(value: Any) -> str:
    """A sign-in address: an ASCII local part (mail goes out without SMTPUTF8), the domain
    in ASCII (IDNA)."""
    address = str(check(EmailAddress, value, "emailAddress"))
    found = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return found.ascii_email or found.normalized


def _unique(session: Session, user: User, column: Any, value: str, api: str) -> None:
    taken = session.scalars(select(User.id).where(column == value)).first()
    if taken is not None and taken != user.id:
        raise InvalidInput(f"{api}: another user already has {value!r}")


def _apply_membership(session: Session, membership: Membership, values: dict[str, Any]) -> None:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        api = MEMBERSHIP_NAMES[key]
        if key == "role_id":
            clean[key] = _role_id(session, membership.account_id, value)
        elif key == "description":
            clean[key] = _description(value)
        else:
            if not isinstance(value, bool):
                raise InvalidInput(f"{api}: must be true or false")
            clean[key] = value
    for key, value in clean.items():
        setattr(membership, key, value)


def _role_id(session: Session, account_id: int, value: Any) -> int | None:
    if value is None:
        return None  # no role: the user sees nothing in this account
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"roleID: must be a role's numeric ID, not {value!r}")
    exists = select(Role.id).where(Role.account_id == account_id, Role.id == value)
    if session.scalars(exists).first() is None:
        raise InvalidInput(f"roleID: no role with ID {value} in this account")
    return value
