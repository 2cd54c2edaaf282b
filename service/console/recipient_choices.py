"""Whom a report form offers as recipients: the contacts and administrators the viewer may see.

Contacts are listed when the viewer's ``contactRights`` shows them, administrators when its
User Rights do (``can_view_users``), through the same service functions as their own pages;
a viewer who may see neither can still send to everyone. Contacts come a page of
:data:`PICKER_PAGE` at a time, found by a part of their name or address (``contact_admin``'s
search, as the contacts page's), so every contact of a large account can be picked; the ones
already chosen are listed apart, ticked, whatever the search shows. Every active
administrator is listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.directory import administrator_admin, contact_admin
from service.directory.principal import VIEW, Principal
from service.errors import NotFound

#: Contacts a picker lists per page of a search.
PICKER_PAGE = 50


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email_address: str


@dataclass(frozen=True)
class ContactPicker:
    """The contacts part of a picker: the chosen ones, and one page of the search."""

    chosen: list[Person]
    #: This page of the contacts found (the chosen ones left out: they are listed above).
    found: list[Person]
    search: str = ""
    offset: int = 0
    #: Contacts the search finds in all (chosen ones included).
    total: int = 0
    limit: int = PICKER_PAGE

    @property
    def first(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


@dataclass(frozen=True)
class RecipientChoices:
    """None where the viewer may not see that kind of recipient."""

    contacts: ContactPicker | None
    administrators: list[Person] | None

    def names(self) -> dict[tuple[str, int], Person]:
        """("contact" | "administrator", ID) -> the person, for showing a task's recipients."""
        found: dict[tuple[str, int], Person] = {}
        if self.contacts is not None:
            found.update({("contact", p.id): p for p in self.contacts.chosen})
            found.update({("contact", p.id): p for p in self.contacts.found})
        found.update({("administrator", p.id): p for p in self.administrators or ()})
        return found


def contact_picker(
    session: Session,
    viewer: Principal,
    *,
    chosen: Iterable[int] = (),
    search: str = "",
    offset: int = 0,
) -> ContactPicker:
    """The chosen contacts (those the viewer may see and that still exist) and one page of the
    contacts whose name or address contains ``search``."""
    people = []
    for contact_id in dict.fromkeys(chosen):
        try:
            found = contact_admin.get_for(session, viewer, contact_id)
        except NotFound:
            continue  # gone since: the task's check names it
        people.append(Person(found.id, found.name, found.email_address))
    people.sort(key=lambda p: (p.name.casefold(), p.id))
    page = contact_admin.page_for(
        session, viewer, search=search, offset=max(offset, 0), limit=PICKER_PAGE
    )
    picked = {p.id for p in people}
    return ContactPicker(
        chosen=people,
        found=[Person(c.id, c.name, c.email_address) for c in page.contacts if c.id not in picked],
        search=search,
        offset=page.offset,
        total=page.total,
        limit=PICKER_PAGE,
    )


def recipient_choices(
    session: Session,
    viewer: Principal,
    *,
    chosen_contacts: Iterable[int] = (),
    search: str = "",
    offset: int = 0,
) -> RecipientChoices:
    contacts = None
    if viewer.level("contactRights") >= VIEW:
        contacts = contact_picker(
            session, viewer, chosen=chosen_contacts, search=search, offset=offset
        )
    administrators: list[Person] | None = None
    if viewer.rights.can_view_users:
        administrators = [
            Person(m.id, m.name, m.email_address)
            for m in administrator_admin.list_for(session, viewer)
            if m.active
        ]
    return RecipientChoices(contacts, administrators)
