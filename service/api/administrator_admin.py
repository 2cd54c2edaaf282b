"""Administrators through the API: the User Rights gates and the "equal or lesser" rule.

Seed 003's User Rights decide: ``canViewUsers`` lists and describes, ``canCreateNewUsers``
creates, ``canEditUserProperties`` modifies (and sets passwords), ``canDeleteUsers`` removes.
Whatever the preset, no caller gives a user a role with more rights than its own, touches a
user whose role is above its own (changing their address or password would let the caller
sign in as them), or changes its own role. A signed-in user (the console) may always change
their own password and contact information.

One identity, several accounts: a user's own fields (name, address, numbers, language,
passwords, second factor) are the same in every account they belong to, so one account's
caller changes them only while the user belongs to no other account; the membership's
fields (role, active, read-only, notifications, description) are this account's alone.
Deleting removes the user from the caller's account (the identity goes when no account is
left).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.api.authz import Caller, Forbidden, can_administrators, require_lesser_or_equal
from service.api.role_io import spec_of
from service.api.schemas import BodyID
from service.delivery.invitations import Invitations
from service.directory import audit
from service.directory.secretbox import SecretBox
from service.directory.user_tokens import IssuedToken, issue_token
from service.directory.users import (
    API_NAMES,
    IDENTITY_NAMES,
    OWN_CONTACT_FIELDS,
    Member,
    add_user,
    edit_user,
    get_member,
    list_members,
    remove_user,
)
from service.errors import InvalidInput
from service.reports.locales import chosen_locale, locale_fields
from storage.models import Account
from storage.records import load_role

#: API name -> service field name, for the fields reportd keeps.
FIELD_OF = {api: name for name, api in API_NAMES.items()}


class AdministratorBody(BaseModel):
    """The SDK's ``Administrator`` (plus reportd's ``reportdLocale``) as a request body.

    Read-only fields, and those reportd has no thing for, are accepted and ignored, except
    where ignoring would mislead: ``external: true`` (SAML) and ``type: temporary`` are 400.
    """

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, min_length=1, max_length=320)
    password: str | None = Field(None, description="Write-only; never returned.")
    fullName: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = None
    roleID: BodyID | None = Field(None, description="The role in this account.")
    locale: str | None = Field(None, description="en-US or ja-JP; see reportdLocale.")
    reportdLocale: str | None = Field(None, description="reportd: the language (wins).")
    timeZone: str | None = None
    timeFormat: Literal["12", "24"] | None = None
    active: bool | None = None
    mfaType: Literal["none", "local-totp"] | None = None
    phoneNumber: str | None = None
    mobileNumber: str | None = None
    pagerNumber: str | None = None
    emailAddress: str | None = Field(None, max_length=320)
    receiveNotifications: bool | None = None
    reportPDFPasswordEnabled: bool | None = None
    reportPDFPassword: str | None = Field(None, description="Write-only.")
    readOnly: bool | None = None
    # Not kept by reportd (ignored), or read-only:
    passwordNeverExpires: bool | None = None
    primaryContact: bool | None = None
    directoryName: str | None = None
    directoryInfo: str | None = None
    external: bool | None = None
    externalUserID: str | None = None
    type: Literal["normal", "temporary"] | None = None
    UTCOffset: str | None = None
    created: int | None = None
    lastPasswordChange: int | None = None
    lastSignIn: int | None = None
    unlockTime: int | None = None
    unsuccessfulSignInAttempts: int | None = None
    ID: int | None = None

    def changes(self, stored_locale: str | None = None) -> dict[str, Any]:
        """The given fields reportd keeps, in the service's names (explicit null roleID kept)."""
        if self.external:
            raise InvalidInput("external: reportd has no externally authenticated users")
        if self.type == "temporary":
            raise InvalidInput("type: reportd has no temporary administrators")
        values: dict[str, Any] = {}
        for api in self.model_fields_set:
            name = FIELD_OF.get(api)
            if name is None or name == "locale":
                continue
            value = getattr(self, api)
            if value is not None or name == "role_id":
                values[name] = value
        language = chosen_locale(
            stored_locale, locale=self.locale, reportd_locale=self.reportdLocale
        )
        if language is not None:
            values["locale"] = language
        return values


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def to_api(member: Member) -> dict[str, Any]:
    """The SDK's ``Administrator`` JSON; no password, hash or token ever."""
    data: dict[str, Any] = {
        "ID": member.id,
        "username": member.username,
        "fullName": member.name,
        "description": member.description,
        "roleID": member.role_id,
        **locale_fields(member.locale),
        "timeZone": member.time_zone,
        "timeFormat": member.time_format,
        "passwordNeverExpires": True,
        "active": member.active,
        "mfaType": member.mfa_type,
        "phoneNumber": member.phone_number,
        "mobileNumber": member.mobile_number,
        "pagerNumber": member.pager_number,
        "emailAddress": member.email_address,
        "primaryContact": False,
        "receiveNotifications": member.receive_notifications,
        "reportPDFPasswordEnabled": member.report_pdf_password_enabled,
        "created": _millis(member.created),
        "lastPasswordChange": _millis(member.last_password_change),
        "lastSignIn": _millis(member.last_sign_in),
        "unlockTime": _millis(member.unlock_time),
        "unsuccessfulSignInAttempts": member.unsuccessful_sign_in_attempts,
        "external": False,
        "type": "normal",
        "readOnly": member.read_only,
    }
    return {k: v for k, v in data.items() if v is not None}


# --- what a caller may do --------------------------------------------------------------------


def _role_within(session: Session, caller: Caller, role_id: int | None, what: str) -> None:
    """The role exists here and has no right beyond the caller's (None: no role, nothing)."""
    if role_id is None:
        return
    role = load_role(session, caller.account_id, role_id)
    if role is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    require_lesser_or_equal(session, caller, spec_of(role), what)


def _is_self(caller: Caller, user_id: int) -> bool:
    return caller.user_id is not None and caller.user_id == user_id


def _changed(target: Member, values: dict[str, Any]) -> dict[str, Any]:
    """The values that would change something: an SDK client sends back every field it read."""
    changed = {}
    for key, value in values.items():
        if key in ("password", "report_pdf_password"):
            changed[key] = value
        elif key == "email_address":
            if str(value).strip().lower() != target.email_address.lower():
                changed[key] = value
        elif value != getattr(target, key):
            changed[key] = value
    return changed


def _may_change(session: Session, caller: Caller, target: Member, values: dict[str, Any]) -> None:
    """Forbidden unless the caller may make these changes to ``target``."""
    values = _changed(target, values)
    if _is_self(caller, target.id):
        if "role_id" in values and values["role_id"] != target.role_id:
            raise Forbidden("an administrator cannot change their own role")
        beyond_own = set(values) - OWN_CONTACT_FIELDS
        if not beyond_own:
            return  # their own password and contact information: always allowed
        if "active" in beyond_own or "read_only" in beyond_own:
            raise Forbidden("an administrator cannot switch themselves off or to read-only")
    can_administrators(caller, "can_edit_user_properties", "changing administrators")
    _role_within(session, caller, target.role_id, "the administrator's current role")
    if "role_id" in values:
        _role_within(session, caller, values["role_id"], "the administrator's new role")
    _identity_is_ours(caller, target, values)


def _identity_is_ours(caller: Caller, target: Member, values: dict[str, Any]) -> None:
    """A user's own fields change through one account only while they belong to no other."""
    own = sorted(IDENTITY_NAMES[k] for k in values if k in IDENTITY_NAMES)
    if own and target.other_accounts and not _is_self(caller, target.id):
        raise Forbidden(
            f"{', '.join(own)}: the administrator also belongs to other accounts; their "
            "identity is their own (they change it themselves, or an operator with reportd)"
        )


# --- the operations --------------------------------------------------------------------------


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    can_administrators(caller, "can_view_users", "viewing administrators")
    return [to_api(m) for m in list_members(session, account_id=caller.account_id)]


def get_for(session: Session, caller: Caller, user_id: int) -> dict[str, Any]:
    if not _is_self(caller, user_id):
        can_administrators(caller, "can_view_users", "viewing administrators")
    return to_api(get_member(session, account_id=caller.account_id, user_id=user_id))


@dataclass(frozen=True)
class Created:
    answer: dict[str, Any]
    #: The new user's set-password token, to be mailed after the commit (None: not needed).
    token: IssuedToken | None
    member: Member


def create_for(
    session: Session, caller: Caller, body: AdministratorBody, *, box: SecretBox, now: datetime
) -> Created:
    """Add an administrator to the caller's account (a new identity, or one from elsewhere)."""
    can_administrators(caller, "can_create_new_users", "creating administrators")
    values = body.changes()
    if "role_id" not in values:
        raise InvalidInput("roleID: required (the administrator's role in this account)")
    _role_within(session, caller, values["role_id"], "the administrator's role")
    added = add_user(session, account_id=caller.account_id, box=box, now=now, **values)
    member = added.member
    token = None
    if added.new_identity and not member.password_set:
        token = issue_token(session, user_id=member.id, now=now)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_created,
        description=audit.describe_values(
            f"administrator {member.email_address} (ID {member.id})"
            + ("" if added.new_identity else ", an existing user"),
            {**member.audit_values(), **_secret_notes(body)},
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return Created(answer=to_api(member), token=token, member=member)


def modify_for(
    session: Session,
    caller: Caller,
    user_id: int,
    body: AdministratorBody,
    *,
    box: SecretBox,
    now: datetime,
) -> dict[str, Any]:
    before = get_member(session, account_id=caller.account_id, user_id=user_id)
    values = body.changes(before.locale)
    _may_change(session, caller, before, values)
    after = edit_user(
        session, account_id=caller.account_id, user_id=user_id, box=box, now=now, **values
    )
    subject = f"administrator {after.email_address} (ID {after.id})"
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_updated,
        description=audit.describe_changes(
            subject, before.audit_values(), {**after.audit_values(), **_secret_notes(body)}
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    if "password" in values:
        audit.record_for_user(
            session,
            user_id=after.id,
            code=audit.AuditCode.user_password_changed,
            description=f"{subject}: set by {caller.actor}",
            actor=caller.actor,
            origin=caller.origin,
            now=now,
        )
    return to_api(after)


def delete_for(session: Session, caller: Caller, user_id: int, *, now: datetime) -> None:
    target = get_member(session, account_id=caller.account_id, user_id=user_id)
    if _is_self(caller, user_id):
        raise Forbidden("an administrator cannot remove themselves")
    can_administrators(caller, "can_delete_users", "removing administrators")
    _role_within(session, caller, target.role_id, "the administrator's role")
    gone = remove_user(session, account_id=caller.account_id, user_id=user_id)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_removed,
        description=f"administrator {target.email_address} (ID {target.id})"
        + (" (the user is deleted: no account left)" if gone else ""),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )


def send_invitation(
    session: Session, invitations: Invitations | None, created: Created, account_id: int
) -> str | None:
    """Mail a new administrator's set-password token when SMTP is configured."""
    if invitations is None or created.token is None:
        return None
    account = session.get(Account, account_id)
    name = account.name if account is not None else ""
    return invitations.send(created.member, created.token, account_name=name)


def _secret_notes(body: AdministratorBody) -> dict[str, Any]:
    """Marks a new password in the trail without its value."""
    notes: dict[str, Any] = {}
    if body.password is not None:
        notes["password"] = "(new)"
    if body.reportPDFPassword is not None:
        notes["reportPDFPassword"] = "(new)"
    return notes
