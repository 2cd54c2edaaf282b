"""Contacts through the API: ``contactRights`` gates, clearance never beyond the caller's.

A contact receives what its clearance (``roleID``) lets it see, so giving a contact a role
with more rights than the caller's would let the caller read more through the contact's mail.
The same holds for changing a contact whose clearance is above the caller's (its address could
be redirected), so that is refused too; reading it is not.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.api.authz import (
    Caller,
    can_read_contacts,
    can_write_contacts,
    require_lesser_or_equal,
)
from service.api.role_io import spec_of
from service.api.schemas import BodyID
from service.directory import audit
from service.directory.contacts import (
    API_NAMES,
    add_contact,
    delete_contact,
    edit_contact,
    get_contact,
    list_contacts,
)
from service.directory.secretbox import SecretBox
from service.errors import InvalidInput
from service.reports.locales import chosen_locale
from storage.records import load_role

#: API name -> service field name.
FIELD_OF = {api: field for field, api in API_NAMES.items()}


class ContactBody(BaseModel):
    """The SDK's ``Contact`` (plus reportd's ``timeZone``) as a request body."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = None
    emailAddress: str | None = Field(None, max_length=320)
    phoneNumber: str | None = None
    mobileNumber: str | None = None
    pagerNumber: str | None = None
    locale: str | None = Field(None, description="en-US or ja-JP; see reportdLocale.")
    reportdLocale: str | None = Field(
        None, description="reportd: the language, any of its ten (wins over locale)."
    )
    timeZone: str | None = Field(None, description="reportd: IANA time zone of the reports.")
    roleID: BodyID | None = Field(None, description="The clearance; null means none.")
    reportPDFPasswordEnabled: bool | None = None
    reportPDFPassword: str | None = Field(None, description="Write-only.")
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


def _clearance_within(session: Session, caller: Caller, role_id: int | None, what: str) -> None:
    if role_id is None:
        return  # no clearance: the contact's reports show nothing
    role = load_role(session, caller.account_id, role_id)
    if role is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    require_lesser_or_equal(session, caller, spec_of(role), what)


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    can_read_contacts(caller)
    return [c.to_api() for c in list_contacts(session, account_id=caller.account_id)]


def get_for(session: Session, caller: Caller, contact_id: int) -> dict[str, Any]:
    can_read_contacts(caller)
    return get_contact(session, account_id=caller.account_id, contact_id=contact_id).to_api()


def create_for(
    session: Session, caller: Caller, body: ContactBody, *, box: SecretBox
) -> dict[str, Any]:
    can_write_contacts(caller)
    values = body.changes()
    if "role_id" in values:
        _clearance_within(session, caller, values["role_id"], "the contact's clearance")
    view = add_contact(session, account_id=caller.account_id, box=box, **values)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.contact_created,
        description=audit.describe_values(
            f"contact {view.name!r} (ID {view.id})", {**view.to_api(), **_password_note(body)}
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return view.to_api()


def modify_for(
    session: Session, caller: Caller, contact_id: int, body: ContactBody, *, box: SecretBox
) -> dict[str, Any]:
    can_write_contacts(caller)
    before = get_contact(session, account_id=caller.account_id, contact_id=contact_id)
    _clearance_within(session, caller, before.role_id, "the contact's current clearance")
    values = body.changes(before.locale)
    if "role_id" in values:
        _clearance_within(session, caller, values["role_id"], "the contact's clearance")
    after = edit_contact(
        session, account_id=caller.account_id, contact_id=contact_id, box=box, **values
    )
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.contact_updated,
        description=audit.describe_changes(
            f"contact {after.name!r} (ID {after.id})",
            before.to_api(),
            {**after.to_api(), **_password_note(body)},
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return after.to_api()


def delete_for(session: Session, caller: Caller, contact_id: int) -> None:
    can_write_contacts(caller)
    before = get_contact(session, account_id=caller.account_id, contact_id=contact_id)
    _clearance_within(session, caller, before.role_id, "the contact's clearance")
    delete_contact(session, account_id=caller.account_id, contact_id=contact_id)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.contact_deleted,
        description=f"contact {before.name!r} (ID {before.id}, {before.email_address})",
        actor=caller.actor,
        origin=caller.origin,
    )


def _password_note(body: ContactBody) -> dict[str, Any]:
    """Marks a new report password in the trail without its value."""
    return {"reportPDFPassword": "(new)"} if body.reportPDFPassword is not None else {}
