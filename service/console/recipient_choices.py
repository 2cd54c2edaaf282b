"""Whom a report form offers as recipients: the contacts and administrators the viewer may see.

Contacts are listed when the viewer's ``contactRights`` shows them, administrators when its
User Rights do (``can_view_users``), through the same service functions as their own pages;
a viewer who may see neither can still send to everyone. A large account lists its first
:data:`PICKER_LIMIT` contacts by name (and any already chosen); "everyone" reaches the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.directory import administrator_admin, contact_admin
from service.directory.principal import VIEW, Principal
from service.errors import NotFound

#: Contacts a picker lists at most.
PICKER_LIMIT = 500


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email_address: str


@dataclass(frozen=True)
class RecipientChoices:
    """None where the viewer may not see that kind of recipient."""

    contacts: list[Person] | None
    administrators: list[Person] | None
    #: Contacts of the account the picker does not list.
    contacts_left_out: int = 0

    def names(self) -> dict[tuple[str, int], Person]:
        """("contact" | "administrator", ID) -> the person, for showing a task's recipients."""
        found = {("contact", p.id): p for p in self.contacts or ()}
        found.update({("administrator", p.id): p for p in self.administrators or ()})
        return found


def recipient_choices(
    session: Session, viewer: Principal, *, chosen_contacts: Iterable[int] = ()
) -> RecipientChoices:
    contacts: list[Person] | None = None
    left_out = 0
    if viewer.level("contactRights") >= VIEW:
        page = contact_admin.page_for(session, viewer, limit=PICKER_LIMIT)
        contacts = [Person(c.id, c.name, c.email_address) for c in page.contacts]
        left_out = page.total - len(contacts)
        listed = {p.id for p in contacts}
        for contact_id in sorted(set(chosen_contacts) - listed):
            try:
                found = contact_admin.get_for(session, viewer, contact_id)
            except NotFound:
                continue  # gone since: the task's check names it
            contacts.append(Person(found.id, found.name, found.email_address))
            left_out -= 1
    administrators: list[Person] | None = None
    if viewer.rights.can_view_users:
        administrators = [
            Person(m.id, m.name, m.email_address)
            for m in administrator_admin.list_for(session, viewer)
            if m.active
        ]
    return RecipientChoices(contacts, administrators, max(left_out, 0))
