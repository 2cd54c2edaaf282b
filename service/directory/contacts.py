"""Contacts: people who cannot sign in but receive reports, seen through their clearance.

Fields follow the Workload Security API's contact object (``emailAddress``, ``roleID``,
``reportPDFPasswordEnabled``...). Every field is checked before anything is written; the
report password is sealed with the settings' key and never handed back in clear except to
the encryption step of a delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.directory.secretbox import SecretBox
from service.errors import InvalidInput, NotFound
from service.fields import (
    Description,
    EmailAddress,
    Name,
    PhoneNumber,
    ReportPassword,
    TimeZone,
    check,
)
from service.reports.locales import locale_fields, normalize_locale
from storage.models import Contact, Role

#: Contact fields that can be set, with their API (camelCase) names.
API_NAMES: dict[str, str] = {
    "name": "name",
    "description": "description",
    "email_address": "emailAddress",
    "phone_number": "phoneNumber",
    "mobile_number": "mobileNumber",
    "pager_number": "pagerNumber",
    "locale": "locale",
    "time_zone": "timeZone",
    "role_id": "roleID",
    "report_pdf_password_enabled": "reportPDFPasswordEnabled",
    "report_pdf_password": "reportPDFPassword",
}
FIELDS = frozenset(API_NAMES)


@dataclass(frozen=True)
class ContactView:
    """A contact as shown to admins: everything but the password."""

    id: int
    name: str
    description: str
    email_address: str
    phone_number: str
    mobile_number: str
    pager_number: str
    locale: str
    time_zone: str
    role_id: int | None
    report_pdf_password_enabled: bool

    def to_api(self) -> dict[str, Any]:
        """The API's JSON shape (``reportPDFPassword`` is write-only and never present).

        ``locale`` is what the SDK reads (en-US or ja-JP), ``reportdLocale`` the language.
        """
        data = {API_NAMES[k]: getattr(self, k) for k in API_NAMES if k != "report_pdf_password"}
        data.update(locale_fields(self.locale))
        data["ID"] = self.id
        return data


def view(contact: Contact) -> ContactView:
    return ContactView(
        id=contact.id,
        name=contact.name,
        description=contact.description,
        email_address=contact.email_address,
        phone_number=contact.phone_number,
        mobile_number=contact.mobile_number,
        pager_number=contact.pager_number,
        locale=contact.locale,
        time_zone=contact.time_zone,
        role_id=contact.role_id,
        report_pdf_password_enabled=contact.report_pdf_password_enabled,
    )


def normalize_email(address: str) -> str:
    """The normalised form of ``address``; a clear InvalidInput when it is not an address."""
    return str(check(EmailAddress, address, "emailAddress"))


def add_contact(session: Session, *, account_id: int, box: SecretBox, **values: Any) -> ContactView:
    """Create a contact; ``name``, ``email_address`` and ``role_id`` are required."""
    missing = [API_NAMES[k] for k in ("name", "email_address") if not values.get(k)]
    if missing:
        raise InvalidInput(f"{', '.join(missing)}: required")
    if "role_id" not in values:
        raise InvalidInput("roleID: required (the contact's clearance)")
    contact = Contact(account_id=account_id)
    _apply(session, contact, box, values)
    session.add(contact)
    session.flush()
    return view(contact)


def edit_contact(
    session: Session, *, account_id: int, contact_id: int, box: SecretBox, **changes: Any
) -> ContactView:
    """Change some fields of a contact; the others stay as they are."""
    contact = _get(session, account_id, contact_id)
    _apply(session, contact, box, changes)
    session.flush()
    return view(contact)


def delete_contact(session: Session, *, account_id: int, contact_id: int) -> None:
    session.delete(_get(session, account_id, contact_id))
    session.flush()


def get_contact(session: Session, *, account_id: int, contact_id: int) -> ContactView:
    return view(_get(session, account_id, contact_id))


def find_contact(session: Session, *, account_id: int, ref: str) -> ContactView:
    """A contact by id, name or email address."""
    statement = select(Contact).where(Contact.account_id == account_id)
    if ref.isdigit():
        found = session.scalars(statement.where(Contact.id == int(ref))).first()
    else:
        found = session.scalars(statement.where(Contact.name == ref)).first()
        if found is None and "@" in ref:
            found = session.scalars(statement.where(Contact.email_address == ref)).first()
    if found is None:
        raise NotFound(f"no contact {ref!r} in this account")
    return view(found)


def list_contacts(session: Session, *, account_id: int) -> list[ContactView]:
    statement = select(Contact).where(Contact.account_id == account_id).order_by(Contact.name)
    return [view(c) for c in session.scalars(statement)]


@dataclass(frozen=True)
class ContactPage:
    """One page of a contact list: its rows and how many contacts match in all."""

    contacts: list[ContactView]
    total: int
    offset: int
    limit: int


def page_contacts(
    session: Session, *, account_id: int, search: str = "", offset: int = 0, limit: int = 50
) -> ContactPage:
    """Contacts whose name or address contains ``search`` (any case), by name, one page."""
    if limit < 1 or offset < 0:
        raise InvalidInput("a page needs a positive size and a non-negative offset")
    statement = select(Contact).where(Contact.account_id == account_id)
    text = str(search).strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                func.lower(Contact.name).like(pattern, escape="\\"),
                func.lower(Contact.email_address).like(pattern, escape="\\"),
            )
        )
    total = session.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = session.scalars(statement.order_by(Contact.name, Contact.id).offset(offset).limit(limit))
    return ContactPage(
        contacts=[view(c) for c in rows], total=int(total), offset=offset, limit=limit
    )


def report_password(contact: Contact, box: SecretBox) -> str | None:
    """The password to encrypt this contact's reports with, or None if they are not protected."""
    return open_report_password(
        name=contact.name,
        enabled=contact.report_pdf_password_enabled,
        sealed=contact.report_pdf_password_encrypted,
        box=box,
    )


def open_report_password(
    *, name: str, enabled: bool, sealed: bytes | None, box: SecretBox
) -> str | None:
    """``report_password`` from a contact's stored columns (read without loading a Contact)."""
    if not enabled:
        return None
    if sealed is None:
        raise InvalidInput(f"contact {name!r}: protected reports but no report password")
    return box.open(sealed)


def _get(session: Session, account_id: int, contact_id: int) -> Contact:
    contact = session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.id == contact_id)
    ).first()
    if contact is None:
        raise NotFound(f"no contact with ID {contact_id} in this account")
    return contact


def _apply(session: Session, contact: Contact, box: SecretBox, values: dict[str, Any]) -> None:
    """Check every value first, then set them all: a bad field writes nothing."""
    unknown = set(values) - FIELDS
    if unknown:
        raise InvalidInput(f"unknown contact field(s): {', '.join(sorted(unknown))}")
    clean = {key: _clean(session, contact.account_id, key, value) for key, value in values.items()}
    password = clean.pop("report_pdf_password", None)
    enabled = clean.get("report_pdf_password_enabled", contact.report_pdf_password_enabled)
    if enabled and password is None and contact.report_pdf_password_encrypted is None:
        raise InvalidInput("reportPDFPassword: required when reportPDFPasswordEnabled is true")
    if "name" in clean and clean["name"] != contact.name:
        taken = select(Contact.id).where(
            Contact.account_id == contact.account_id, Contact.name == clean["name"]
        )
        if session.scalars(taken).first() is not None:
            raise InvalidInput(f"name: a contact named {clean['name']!r} already exists")
    for key, value in clean.items():
        setattr(contact, key, value)
    if password is not None:
        contact.report_pdf_password_encrypted = box.seal(password)


#: Service field -> its rule in ``service.fields`` (the others are checked below).
RULE_OF: dict[str, Any] = {
    "name": Name,
    "description": Description,
    "email_address": EmailAddress,
    "phone_number": PhoneNumber,
    "mobile_number": PhoneNumber,
    "pager_number": PhoneNumber,
    "time_zone": TimeZone,
}

#: Text fields that may be empty: null means "".
OPTIONAL_TEXT = frozenset({"description", "phone_number", "mobile_number", "pager_number"})


def _clean(session: Session, account_id: int, key: str, value: Any) -> Any:
    api = API_NAMES[key]
    if key in RULE_OF:
        empty = (
            "" if key in ("description", "phone_number", "mobile_number", "pager_number") else None
        )
        return check(RULE_OF[key], empty if value is None else value, api)
    if key == "locale":
        return normalize_locale(value)
    if key == "role_id":
        return _role_id(session, account_id, value)
    if key == "report_pdf_password_enabled":
        if not isinstance(value, bool):
            raise InvalidInput(f"{api}: must be true or false")
        return value
    if key == "report_pdf_password":
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{api}: must be a non-empty string")
        return check(ReportPassword, value, api)
    raise InvalidInput(f"unknown contact field {api}")


def _role_id(session: Session, account_id: int, value: Any) -> int | None:
    if value is None:
        return None  # no clearance: the contact's reports show nothing
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"roleID: must be a role's numeric ID, not {value!r}")
    exists = select(Role.id).where(Role.account_id == account_id, Role.id == value)
    if session.scalars(exists).first() is None:
        raise InvalidInput(f"roleID: no role with ID {value} in this account")
    return value
