"""Contacts changed by a principal: ``contactRights`` gates, clearance never beyond the caller's.

The API and the console both call these functions. A contact receives what its clearance
(``role_id``) lets it see, so giving a contact a role with more rights than the caller's would
let the caller read more through the contact's mail. The same holds for changing a contact
whose clearance is above the caller's (its address could be redirected), so that is refused
too; reading it is not. Every change is audited with the caller as actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.authz import (
    RoleChoice,
    can_read_contacts,
    can_write_contacts,
    require_lesser_or_equal,
    roles_within,
    within,
)
from service.directory.contacts import (
    ContactPage,
    ContactView,
    add_contact,
    delete_contact,
    edit_contact,
    get_contact,
    list_contacts,
    page_contacts,
)
from service.directory.principal import CHANGE, Principal
from service.directory.role_specs import spec_of
from service.directory.scope_summary import ScopeSummary, summarize_scope
from service.directory.secretbox import SecretBox
from service.directory.task_recipients import CONTACTS, forget_recipient
from service.errors import InvalidInput
from storage.models import Role
from storage.records import load_role


def _clearance_within(session: Session, caller: Principal, role_id: int | None, what: str) -> None:
    if role_id is None:
        return  # no clearance: the contact's reports show nothing
    role = load_role(session, caller.account_id, role_id)
    if role is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    require_lesser_or_equal(session, caller, spec_of(role), what)


def list_for(session: Session, caller: Principal) -> list[ContactView]:
    can_read_contacts(caller)
    return list_contacts(session, account_id=caller.account_id)


def page_for(
    session: Session, caller: Principal, *, search: str = "", offset: int = 0, limit: int = 50
) -> ContactPage:
    """One page of the account's contacts whose name or address contains ``search``."""
    can_read_contacts(caller)
    return page_contacts(
        session, account_id=caller.account_id, search=search, offset=offset, limit=limit
    )


def get_for(session: Session, caller: Principal, contact_id: int) -> ContactView:
    can_read_contacts(caller)
    return get_contact(session, account_id=caller.account_id, contact_id=contact_id)


def may_change(session: Session, caller: Principal, contact: ContactView | None = None) -> bool:
    """Whether the caller may create contacts (``None``) or change and delete ``contact``."""
    if caller.level("contactRights") < CHANGE:
        return False
    if contact is None or contact.role_id is None:
        return True
    role = load_role(session, caller.account_id, contact.role_id)
    return role is not None and within(session, caller, spec_of(role))


def require_change(session: Session, caller: Principal, contact: ContactView) -> None:
    """Forbidden unless the caller may change and delete ``contact`` (for edit pages)."""
    can_write_contacts(caller)
    _clearance_within(session, caller, contact.role_id, "the contact's current clearance")


def assignable_roles(session: Session, caller: Principal) -> list[RoleChoice]:
    """The account's roles within the caller's own rights: the clearances they may give."""
    can_write_contacts(caller)
    return roles_within(session, caller)


def role_names(session: Session, caller: Principal) -> dict[int, str]:
    """Role ID -> name, to show each contact's clearance by name in a list."""
    can_read_contacts(caller)
    rows = session.execute(select(Role.id, Role.name).where(Role.account_id == caller.account_id))
    return {role_id: name for role_id, name in rows}


def what_contact_sees(
    session: Session, caller: Principal, contact_id: int, *, start: datetime, end: datetime
) -> ScopeSummary | None:
    """The contact's clearance summarised, or None when it reaches beyond the caller's own.

    A user sees computers, events and contacts' scopes only within their own clearance: a
    contact whose role is not lesser or equal to the caller's is shown without its scope.
    """
    contact = get_for(session, caller, contact_id)
    if contact.role_id is not None:
        role = load_role(session, caller.account_id, contact.role_id)
        if role is None or not within(session, caller, spec_of(role)):
            return None
    return summarize_scope(
        session, account_id=caller.account_id, role_id=contact.role_id, start=start, end=end
    )


def create_for(
    session: Session, caller: Principal, values: Mapping[str, Any], *, box: SecretBox
) -> ContactView:
    """A new contact from service field names (``name``, ``email_address``, ``role_id``...)."""
    can_write_contacts(caller)
    if "role_id" in values:
        _clearance_within(session, caller, values["role_id"], "the contact's clearance")
    view = add_contact(session, account_id=caller.account_id, box=box, **values)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.contact_created,
        description=audit.describe_values(
            f"contact {view.name!r} (ID {view.id})", {**view.to_api(), **_password_note(values)}
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return view


def modify_for(
    session: Session,
    caller: Principal,
    contact_id: int,
    values: Mapping[str, Any],
    *,
    box: SecretBox,
) -> ContactView:
    """Change the given fields of a contact; the others stay as they are."""
    can_write_contacts(caller)
    before = get_contact(session, account_id=caller.account_id, contact_id=contact_id)
    _clearance_within(session, caller, before.role_id, "the contact's current clearance")
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
            {**after.to_api(), **_password_note(values)},
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return after


def delete_for(session: Session, caller: Principal, contact_id: int) -> None:
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
    forget_recipient(
        session,
        account_id=caller.account_id,
        field=CONTACTS,
        recipient_id=before.id,
        who=f"{before.name!r} (ID {before.id})",
        actor=caller.actor,
        origin=caller.origin,
    )


def _password_note(values: Mapping[str, Any]) -> dict[str, Any]:
    """Marks a new report password in the trail without its value."""
    return {"reportPDFPassword": "(new)"} if values.get("report_pdf_password") is not None else {}
