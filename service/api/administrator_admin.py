"""Administrators through the API: the SDK's ``Administrator`` body in, its JSON out.

The rules below are ``service.directory.administrator_admin``'s, which the console calls too:

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

from service.api.authz import Caller, can_administrators
from service.api.schemas import BodyID
from service.delivery.invitations import Invitations, invite
from service.directory import administrator_admin as administrators
from service.directory.secretbox import SecretBox
from service.directory.user_tokens import IssuedToken
from service.directory.users import API_NAMES, Member, get_member
from service.errors import InvalidInput
from service.fields import (
    Description,
    EmailAddress,
    Name,
    PhoneNumber,
    ReportPassword,
    TimeZone,
    Username,
)
from service.reports.locales import chosen_locale, locale_fields

#: API name -> service field name, for the fields reportd keeps.
FIELD_OF = {api: name for name, api in API_NAMES.items()}


class AdministratorBody(BaseModel):
    """The SDK's ``Administrator`` (plus reportd's ``reportdLocale``) as a request body.

    Read-only fields, and those reportd has no thing for, are accepted and ignored, except
    where ignoring would mislead: ``external: true`` (SAML) and ``type: temporary`` are 400.
    """

    model_config = ConfigDict(extra="forbid")

    username: Username | None = None
    password: str | None = Field(None, description="Write-only; never returned.")
    fullName: Name | None = None
    description: Description | None = None
    roleID: BodyID | None = Field(None, description="The role in this account.")
    locale: str | None = Field(None, description="en-US or ja-JP; see reportdLocale.")
    reportdLocale: str | None = Field(None, description="reportd: the language (wins).")
    timeZone: TimeZone | None = None
    timeFormat: Literal["12", "24"] | None = None
    active: bool | None = None
    mfaType: Literal["none", "local-totp"] | None = None
    phoneNumber: PhoneNumber | None = None
    mobileNumber: PhoneNumber | None = None
    pagerNumber: PhoneNumber | None = None
    emailAddress: EmailAddress | None = None
    receiveNotifications: bool | None = None
    reportPDFPasswordEnabled: bool | None = None
    reportPDFPassword: ReportPassword | None = Field(
        None, description="Write-only; at most 127 bytes of UTF-8."
    )
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


# --- the operations: the rules are service.directory.administrator_admin's --------------------


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [to_api(m) for m in administrators.list_for(session, caller)]


def get_for(session: Session, caller: Caller, user_id: int) -> dict[str, Any]:
    return to_api(administrators.get_for(session, caller, user_id))


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
    created = administrators.create_for(session, caller, body.changes(), box=box, now=now)
    return Created(answer=to_api(created.member), token=created.token, member=created.member)


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
    return to_api(administrators.modify_for(session, caller, user_id, values, box=box, now=now))


def delete_for(session: Session, caller: Caller, user_id: int, *, now: datetime) -> None:
    administrators.delete_for(session, caller, user_id, now=now)


def send_invitation(
    session: Session, invitations: Invitations | None, created: Created, account_id: int
) -> str | None:
    """Mail a new administrator's set-password token when SMTP is configured."""
    return invite(session, invitations, created.member, created.token, account_id=account_id)
