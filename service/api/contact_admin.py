"""Contacts through the API: the SDK's body in, its JSON out.

The rules (``contactRights``, a clearance never beyond the caller's, the audit trail) are
``service.directory.contact_admin``'s, which the console calls too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.api.authz import Caller, can_write_contacts
from service.api.schemas import BodyID
from service.directory import contact_admin as contacts
from service.directory.contacts import API_NAMES
from service.directory.secretbox import SecretBox
from service.fields import (
    Description,
    EmailAddress,
    Name,
    PhoneNumber,
    ReportPassword,
    TimeZone,
)
from service.reports.locales import chosen_locale

#: API name -> service field name.
FIELD_OF = {api: field for field, api in API_NAMES.items()}


class ContactBody(BaseModel):
    """The SDK's ``Contact`` (plus reportd's ``timeZone``) as a request body."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    emailAddress: EmailAddress | None = None
    phoneNumber: PhoneNumber | None = None
    mobileNumber: PhoneNumber | None = None
    pagerNumber: PhoneNumber | None = None
    locale: str | None = Field(None, description="en-US or ja-JP; see reportdLocale.")
    reportdLocale: str | None = Field(
        None, description="reportd: the language, any of its ten (wins over locale)."
    )
    timeZone: TimeZone | None = Field(None, description="reportd: IANA time zone of the reports.")
    roleID: BodyID | None = Field(None, description="The clearance; null means none.")
    reportPDFPasswordEnabled: bool | None = None
    reportPDFPassword: ReportPassword | None = Field(
        None, description="Write-only; at most 127 bytes of UTF-8."
    )
    ID: int | None = Field(None, description="Read-only; ignored.")

    def changes(self, stored_locale: str | None = None) -> dict[str, Any]:
        """The given fields in the service's names (an explicit null roleID is kept).

        ``locale`` and ``reportdLocale`` become one language by ``chosen_locale``'s rule.
        """
        skip = {"ID", "locale", "reportdLocale"}
        given = {name: getattr(self, name) for name in self.model_fields_set if name not in skip}
        values = {FIELD_OF[name]: value for name, value in given.items()}
        language = chosen_locale(
            stored_locale, locale=self.locale, reportd_locale=self.reportdLocale
        )
        if language is not None:
            values["locale"] = language
        # The SDK sends nothing for unset fields; an explicit null only means "none" for roleID.
        return {k: v for k, v in values.items() if v is not None or k == "role_id"}


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [c.to_api() for c in contacts.list_for(session, caller)]


def get_for(session: Session, caller: Caller, contact_id: int) -> dict[str, Any]:
    return contacts.get_for(session, caller, contact_id).to_api()


def create_for(
    session: Session, caller: Caller, body: ContactBody, *, box: SecretBox
) -> dict[str, Any]:
    return contacts.create_for(session, caller, body.changes(), box=box).to_api()


def modify_for(
    session: Session, caller: Caller, contact_id: int, body: ContactBody, *, box: SecretBox
) -> dict[str, Any]:
    can_write_contacts(caller)
    before = contacts.get_for(session, caller, contact_id)
    values = body.changes(before.locale)
    return contacts.modify_for(session, caller, contact_id, values, box=box).to_api()


def delete_for(session: Session, caller: Caller, contact_id: int) -> None:
    contacts.delete_for(session, caller, contact_id)
