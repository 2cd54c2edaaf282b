"""API keys: creation with a secret shown once, authentication by its hash, administration.

Only the SHA-256 of a secret is stored; a secret is 256 random bits
(``secrets.token_urlsafe``), so a plain hash cannot be brute-forced and the lookup stays one
indexed equality. A key authenticates when it is active, not expired, and its role (of the
same account) allows the web service API. The key's JSON follows the SDK's ``ApiKey``;
``secretKey`` appears only in the answer that created or replaced the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.authz import Caller, Forbidden, can_api_keys, require_lesser_or_equal
from service.api.role_io import spec_of
from service.api.schemas import BodyID
from service.directory import audit
from service.errors import InvalidInput, NotFound, ReportdError
from service.fields import Description, Name, TimeZone
from service.reports.locales import (
    chosen_locale,
    locale_fields,
    normalize_locale,
    validate_time_zone,
)
from storage.models import ApiKey
from storage.records import RoleRecord, load_role

#: Random bytes in a new secret.
SECRET_BYTES = 32


class Unauthorized(ReportdError):
    """No key, an unknown, disabled or expired key, or a role without API access (401)."""


class ApiKeyBody(BaseModel):
    """The SDK's ``ApiKey`` as a request body. Read-only fields are accepted and ignored."""

    model_config = ConfigDict(extra="forbid")

    keyName: Name | None = None
    description: Description | None = None
    locale: str | None = None
    reportdLocale: str | None = None
    roleID: BodyID | None = None
    timeZone: TimeZone | None = None
    active: bool | None = None
    expiryDate: int | None = Field(None, description="Epoch milliseconds; 0 or null: never.")
    created: int | None = Field(None, description="Read-only; ignored.")
    lastSignIn: int | None = Field(None, description="Read-only; ignored.")
    unlockTime: int | None = Field(None, description="Read-only; ignored.")
    unsuccessfulSignInAttempts: int | None = Field(None, description="Read-only; ignored.")
    secretKey: str | None = Field(None, description="Read-only; ignored.")
    serviceAccount: bool | None = Field(None, description="Read-only; ignored.")
    ID: int | None = Field(None, description="Read-only; ignored.")


@dataclass(frozen=True)
class Authenticated:
    key_id: int
    key_name: str
    account_id: int
    role: RoleRecord


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def key_to_api(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ID": key.id,
        "keyName": key.key_name,
        "description": key.description,
        **locale_fields(key.locale),
        "roleID": key.role_id,
        "timeZone": key.time_zone,
        "active": key.active,
        "created": _millis(key.created),
        "lastSignIn": _millis(key.last_sign_in),
        "expiryDate": _millis(key.expiry_date),
        "serviceAccount": False,
    }
    if secret is not None:
        data["secretKey"] = secret
    return {k: v for k, v in data.items() if v is not None}


def authenticate(session: Session, secret: str | None, *, now: datetime) -> Authenticated:
    """The key and role behind ``secret``, or Unauthorized (always the same message)."""
    refused = Unauthorized("the api-secret-key is unknown, disabled, expired or not allowed")
    if not secret:
        raise Unauthorized("the api-secret-key header is missing")
    key = session.scalars(
        select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret))
    ).one_or_none()
    if key is None or not key.active:
        raise refused
    if key.expiry_date is not None and key.expiry_date <= now:
        raise refused
    role = load_role(session, key.account_id, key.role_id)
    if role is None or role.rights.get("allow_web_service") is not True:
        raise refused
    return Authenticated(key.id, key.key_name, key.account_id, role)


def new_key(
    session: Session,
    *,
    account_id: int,
    role_id: int,
    name: str,
    description: str = "",
    locale: str = "en-US",
    time_zone: str = "UTC",
    active: bool = True,
    expiry: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise InvalidInput("keyName: must not be empty")
    if load_role(session, account_id, role_id) is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    taken = select(ApiKey.id).where(ApiKey.account_id == account_id, ApiKey.key_name == name)
    if session.scalars(taken).first() is not None:
        raise InvalidInput(f"keyName: a key named {name!r} already exists")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key = ApiKey(
        account_id=account_id,
        role_id=role_id,
        key_name=name,
        description=description,
        locale=normalize_locale(locale),
        time_zone=validate_time_zone(time_zone),
        active=active,
        expiry_date=expiry,
        secret_hash=hash_secret(secret),
    )
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session, *, account_id: int) -> list[ApiKey]:
    statement = select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id)
    return list(session.scalars(statement))


def _get(session: Session, account_id: int, key_id: int) -> ApiKey:
    key = session.scalars(
        select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == key_id)
    ).one_or_none()
    if key is None:
        raise NotFound(f"no API key with ID {key_id}")
    return key


def _expiry(value: int | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"expiryDate: {value} is not a time in epoch milliseconds") from None


# --- what a caller may do -------------------------------------------------------------------


def _role_within(session: Session, caller: Caller, role_id: int | None, what: str) -> None:
    """The role ``role_id`` exists here and is lesser or equal to the caller's."""
    role = load_role(session, caller.account_id, role_id)
    if role is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    require_lesser_or_equal(session, caller, spec_of(role), what)


def _key_within(session: Session, caller: Caller, key: ApiKey) -> None:
    """The caller may manage ``key``: its role is lesser or equal (a key without a role is)."""
    if key.role_id is not None:
        _role_within(session, caller, key.role_id, "the API key")


def _allows_web_service(session: Session, account_id: int, role_id: int) -> None:
    """A key's role must allow the web service API: a key of any other could never sign in."""
    role = load_role(session, account_id, role_id)
    if role is not None and role.rights.get("allow_web_service") is not True:
        raise InvalidInput(
            f"roleID: role {role.name!r} does not allow the web service API (allowWebService)"
        )


def create_for(session: Session, caller: Caller, body: ApiKeyBody) -> dict[str, Any]:
    can_api_keys(caller, "can_create_new_users", "creating API keys")
    if body.keyName is None or body.roleID is None:
        raise InvalidInput("keyName and roleID: required")
    _role_within(session, caller, body.roleID, "the API key's role")
    _allows_web_service(session, caller.account_id, body.roleID)
    key, secret = new_key(
        session,
        account_id=caller.account_id,
        role_id=body.roleID,
        name=body.keyName,
        description=body.description or "",
        locale=chosen_locale(None, locale=body.locale, reportd_locale=body.reportdLocale)
        or "en-US",
        time_zone=body.timeZone or "UTC",
        active=True if body.active is None else body.active,
        expiry=_expiry(body.expiryDate),
    )
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.api_key_created,
        description=audit.describe_values(
            f"API key {key.key_name!r} (ID {key.id})", key_to_api(key)
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return key_to_api(key, secret)


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    can_api_keys(caller, "can_view_users", "viewing API keys")
    return [key_to_api(k) for k in list_keys(session, account_id=caller.account_id)]


def get_for(session: Session, caller: Caller, key_id: int) -> dict[str, Any]:
    if key_id != caller.key_id:
        can_api_keys(caller, "can_view_users", "viewing API keys")
    return key_to_api(_get(session, caller.account_id, key_id))


def modify_for(
    session: Session, caller: Caller, key_id: int, body: ApiKeyBody, *, current: bool = False
) -> dict[str, Any]:
    """Change a key. The current key may change its own name, description, locale and zone."""
    key = _get(session, caller.account_id, key_id)
    privileged = body.roleID is not None or body.active is not None or body.expiryDate is not None
    if not current or privileged:
        can_api_keys(caller, "can_edit_user_properties", "changing API keys")
        _key_within(session, caller, key)
    before = key_to_api(key)
    if body.roleID is not None and key.id == caller.key_id and body.roleID != key.role_id:
        raise Forbidden("an API key cannot change its own role")
    if body.roleID is not None:
        _role_within(session, caller, body.roleID, "the API key's new role")
        if body.roleID != key.role_id:
            _allows_web_service(session, caller.account_id, body.roleID)
        key.role_id = body.roleID
    if body.keyName is not None and body.keyName.strip() != key.key_name:
        taken = select(ApiKey.id).where(
            ApiKey.account_id == caller.account_id, ApiKey.key_name == body.keyName.strip()
        )
        if session.scalars(taken).first() is not None:
            raise InvalidInput(f"keyName: a key named {body.keyName!r} already exists")
        key.key_name = body.keyName.strip()
    if body.description is not None:
        key.description = body.description
    language = chosen_locale(key.locale, locale=body.locale, reportd_locale=body.reportdLocale)
    if language is not None:
        key.locale = language
    if body.timeZone is not None:
        key.time_zone = validate_time_zone(body.timeZone)
    if body.active is not None:
        key.active = body.active
    if body.expiryDate is not None:
        key.expiry_date = _expiry(body.expiryDate)
    session.flush()
    after = key_to_api(key)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.api_key_updated,
        description=audit.describe_changes(
            f"API key {key.key_name!r} (ID {key.id})", before, after
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return after


def delete_for(session: Session, caller: Caller, key_id: int) -> None:
    key = _get(session, caller.account_id, key_id)
    can_api_keys(caller, "can_delete_users", "deleting API keys")
    _key_within(session, caller, key)
    session.delete(key)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.api_key_deleted,
        description=f"API key {key.key_name!r} (ID {key.id})",
        actor=caller.actor,
        origin=caller.origin,
    )


def replace_secret_for(
    session: Session, caller: Caller, key_id: int, *, current: bool = False
) -> dict[str, Any]:
    key = _get(session, caller.account_id, key_id)
    if not current:
        can_api_keys(caller, "can_edit_user_properties", "changing API keys")
        _key_within(session, caller, key)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key.secret_hash = hash_secret(secret)
    session.flush()
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.api_key_secret_replaced,
        description=f"API key {key.key_name!r} (ID {key.id})",
        actor=caller.actor,
        origin=caller.origin,
    )
    return key_to_api(key, secret)
