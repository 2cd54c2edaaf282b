"""Contacts: a list with search and paging; add, edit and delete; what a contact sees.

Every rule is ``service.directory.contact_admin``'s (the API's too): ``contactRights`` at
hide refuses the pages, view-only shows them without forms, full allows changes, and a
contact's clearance is never set above, or changed when above, the viewer's own role. The
report password is write-only: never shown, never put back into a form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from service.console.choices import language_options, zone_options
from service.console.i18n import N_
from service.console.web import ConsoleDep, FormDep, ViewerDep, render, see_other, text
from service.directory import contact_admin
from service.directory.contacts import API_NAMES, ContactView
from service.errors import InvalidInput

router = APIRouter()

#: Contacts per page of the list.
PAGE_SIZE = 25
#: The event window "what this contact sees" counts over.
SCOPE_WINDOW = timedelta(days=7)
#: Computer and policy names shown at most; the rest are counted.
NAMES_SHOWN = 60
NOTICES = {
    "created": N_("The contact was added."),
    "saved": N_("The contact was saved."),
    "deleted": N_("The contact was deleted."),
}
#: Service field name -> the form field that shows its error.
FIELD_OF_API = {api: name for name, api in API_NAMES.items()}


@dataclass
class ContactForm:
    """What the form holds (never the report password)."""

    name: str = ""
    description: str = ""
    email_address: str = ""
    phone_number: str = ""
    mobile_number: str = ""
    pager_number: str = ""
    locale: str = "en-US"
    time_zone: str = "UTC"
    role_id: str = ""
    report_pdf_password_enabled: bool = False
    has_password: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, contact: ContactView) -> ContactForm:
        return cls(
            name=contact.name,
            description=contact.description,
            email_address=contact.email_address,
            phone_number=contact.phone_number,
            mobile_number=contact.mobile_number,
            pager_number=contact.pager_number,
            locale=contact.locale,
            time_zone=contact.time_zone,
            role_id="" if contact.role_id is None else str(contact.role_id),
            report_pdf_password_enabled=contact.report_pdf_password_enabled,
            has_password=contact.report_pdf_password_enabled,
        )

    @classmethod
    def posted(cls, form: FormData, *, has_password: bool = False) -> ContactForm:
        return cls(
            name=text(form, "name"),
            description=text(form, "description"),
            email_address=text(form, "email_address"),
            phone_number=text(form, "phone_number"),
            mobile_number=text(form, "mobile_number"),
            pager_number=text(form, "pager_number"),
            locale=text(form, "locale") or "en-US",
            time_zone=text(form, "time_zone") or "UTC",
            role_id=text(form, "role_id"),
            report_pdf_password_enabled=text(form, "report_pdf_password_enabled") == "on",
            has_password=has_password,
        )

    def values(self, password: str) -> dict[str, Any]:
        """The service's field values; an empty password field keeps the current password."""
        if self.role_id and not self.role_id.isdigit():
            raise InvalidInput("roleID: choose one of the listed roles")
        values: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "email_address": self.email_address,
            "phone_number": self.phone_number,
            "mobile_number": self.mobile_number,
            "pager_number": self.pager_number,
            "locale": self.locale,
            "time_zone": self.time_zone,
            "role_id": int(self.role_id) if self.role_id else None,
            "report_pdf_password_enabled": self.report_pdf_password_enabled,
        }
        if password:
            values["report_pdf_password"] = password
        return values

    def refused(self, error: InvalidInput) -> ContactForm:
        """The form with the service's refusal beside the field it names."""
        message = str(error)
        api, _, _ = message.partition(":")
        name = FIELD_OF_API.get(api.strip(), "")
        self.errors[name or "form"] = message
        return self


@dataclass(frozen=True)
class Paging:
    """Where a page of a list is: its rows' numbers and its neighbours' offsets."""

    total: int
    offset: int
    limit: int

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def previous(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def _offset(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() else 0


@router.get("/contacts")
def contact_list(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    search = request.query_params.get("q", "").strip()[:200]
    offset = _offset(request.query_params.get("offset"))
    with app.transaction() as session:
        page = contact_admin.page_for(
            session, viewer.principal, search=search, offset=offset, limit=PAGE_SIZE
        )
        roles = contact_admin.role_names(session, viewer.principal)
        may_add = contact_admin.may_change(session, viewer.principal)
    return render(
        request,
        "contacts/list.html",
        {
            "contacts": page.contacts,
            "paging": Paging(page.total, page.offset, page.limit),
            "search": search,
            "roles": roles,
            "may_add": may_add,
        },
        viewer=viewer,
        current="contacts",
        notices=NOTICES,
    )


def _form_page(
    request: Request,
    viewer: ViewerDep,
    app: ConsoleDep,
    form: ContactForm,
    *,
    contact: ContactView | None,
    status: int = 200,
) -> Response:
    with app.transaction() as session:
        roles = contact_admin.assignable_roles(session, viewer.principal)
    return render(
        request,
        "contacts/form.html",
        {
            "contact": contact,
            "form": form,
            "role_options": [(str(role.id), role.name) for role in roles],
            "languages": language_options(),
            "zones": zone_options(form.time_zone),
        },
        viewer=viewer,
        status=status,
        current="contacts",
    )


@router.get("/contacts/new")
def new_contact(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    form = ContactForm(locale=viewer.locale, time_zone=viewer.me.time_zone)
    return _form_page(request, viewer, app, form, contact=None)


@router.post("/contacts")
def create_contact(
    request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep
) -> Response:
    form = ContactForm.posted(posted)
    try:
        with app.transaction() as session:
            created = contact_admin.create_for(
                session,
                viewer.principal,
                form.values(text(posted, "report_pdf_password")),
                box=app.backend.box,
            )
    except InvalidInput as error:
        return _form_page(request, viewer, app, form.refused(error), contact=None, status=422)
    return see_other(f"/contacts/{created.id}", notice="created")


@router.get("/contacts/{contact_id}")
def show_contact(request: Request, viewer: ViewerDep, app: ConsoleDep, contact_id: int) -> Response:
    now = app.now()
    with app.transaction() as session:
        contact = contact_admin.get_for(session, viewer.principal, contact_id)
        sees = contact_admin.what_contact_sees(
            session, viewer.principal, contact_id, start=now - SCOPE_WINDOW, end=now
        )
        may_change = contact_admin.may_change(session, viewer.principal, contact)
        roles = contact_admin.role_names(session, viewer.principal)
    return render(
        request,
        "contacts/show.html",
        {
            "contact": contact,
            "sees": sees,
            "names_shown": NAMES_SHOWN,
            "may_change": may_change,
            "role_name": roles.get(contact.role_id) if contact.role_id is not None else None,
            "languages": dict(language_options()),
        },
        viewer=viewer,
        current="contacts",
        notices=NOTICES,
    )


@router.get("/contacts/{contact_id}/edit")
def edit_contact(request: Request, viewer: ViewerDep, app: ConsoleDep, contact_id: int) -> Response:
    with app.transaction() as session:
        contact = contact_admin.get_for(session, viewer.principal, contact_id)
        contact_admin.require_change(session, viewer.principal, contact)
    return _form_page(request, viewer, app, ContactForm.of(contact), contact=contact)


@router.post("/contacts/{contact_id}")
def save_contact(
    request: Request, viewer: ViewerDep, app: ConsoleDep, contact_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        contact = contact_admin.get_for(session, viewer.principal, contact_id)
    form = ContactForm.posted(posted, has_password=contact.report_pdf_password_enabled)
    try:
        with app.transaction() as session:
            contact_admin.modify_for(
                session,
                viewer.principal,
                contact_id,
                form.values(text(posted, "report_pdf_password")),
                box=app.backend.box,
            )
    except InvalidInput as error:
        return _form_page(request, viewer, app, form.refused(error), contact=contact, status=422)
    return see_other(f"/contacts/{contact_id}", notice="saved")


@router.get("/contacts/{contact_id}/delete")
def confirm_delete(
    request: Request, viewer: ViewerDep, app: ConsoleDep, contact_id: int
) -> Response:
    with app.transaction() as session:
        contact = contact_admin.get_for(session, viewer.principal, contact_id)
        contact_admin.require_change(session, viewer.principal, contact)
    return render(
        request, "contacts/delete.html", {"contact": contact}, viewer=viewer, current="contacts"
    )


@router.post("/contacts/{contact_id}/delete")
def delete_contact(
    request: Request, viewer: ViewerDep, app: ConsoleDep, contact_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        contact_admin.delete_for(session, viewer.principal, contact_id)
    return see_other("/contacts", notice="deleted")
