"""What a recipient would receive now, without sending it: ``reportd render`` and the console's
preview.

The report is built exactly as a delivery builds it (``service.delivery.pipeline``): the
recipient's clearance, language and zone read now, the spec's window ending now. A contact's
clearance is its role; an administrator's is their role in the account (nothing when they
are switched off there).

For a principal (:func:`preview_for`), the recipient must be one it may see and within its
own rights: a contact needs ``contactRights`` at view-only, an administrator ``can_view_users``
(or to be the viewer), and in both cases the recipient's role must be lesser or equal to the
viewer's own, since the preview shows what that role sees. Anything else is ``Forbidden`` (a
recipient of another account does not exist: ``NotFound``). Each preview is a system event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.delivery.compaction import compact_pdf
from service.directory import audit
from service.directory.authz import can_administrators, can_read_contacts, within
from service.directory.clearance import scope_for
from service.directory.principal import VIEW, Principal
from service.directory.role_admin import SelectionChoices, viewable_choices
from service.directory.role_specs import spec_of
from service.errors import Forbidden, NotFound
from service.reports.builder import ReportRequest, build_report
from service.reports.model import ReportData
from service.reports.rendering import render_footer_html, render_report_html
from service.reports.spec import ReportSpec
from storage.models import Account, Contact, Membership, User
from storage.records import load_role


class RecipientKind(StrEnum):
    contact = "contact"
    administrator = "administrator"


@dataclass(frozen=True)
class RecipientRef:
    """A contact or an administrator, by ID."""

    kind: RecipientKind
    id: int


@dataclass(frozen=True)
class Recipient:
    """Whom a preview is for: their clearance (a role ID, or None), language and zone."""

    ref: RecipientRef
    name: str
    email_address: str
    role_id: int | None
    locale: str
    time_zone: str


class Renderer(Protocol):
    """What prints HTML to PDF (``service.delivery.pdf.PdfRenderer``)."""

    def render(self, html: str, footer_html: str | None = None) -> bytes: ...


def find_recipient(session: Session, *, account_id: int, ref: RecipientRef) -> Recipient:
    """The contact, or the administrator with their role in this account, as they are now."""
    if ref.kind is RecipientKind.contact:
        contact = session.scalars(
            select(Contact).where(Contact.account_id == account_id, Contact.id == ref.id)
        ).first()
        if contact is None:
            raise NotFound(f"no contact with ID {ref.id} in this account")
        return Recipient(
            ref,
            contact.name,
            contact.email_address,
            contact.role_id,
            contact.locale,
            contact.time_zone,
        )
    found = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id, User.id == ref.id)
    ).first()
    if found is None:
        raise NotFound(f"no administrator with ID {ref.id} in this account")
    user, membership = found
    # Switched off here, they receive nothing: their report shows nothing either.
    role_id = membership.role_id if membership.active else None
    return Recipient(ref, user.name, user.email_address, role_id, user.locale, user.time_zone)


def report_for(
    session: Session, *, account_id: int, recipient: Recipient, spec: ReportSpec, now: datetime
) -> ReportData:
    """The report ``recipient`` would get now: their scope, language and zone."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with ID {account_id}")
    scope = scope_for(load_role(session, account_id, recipient.role_id), account_id)
    start, end = spec.period(end=now)
    request = ReportRequest(spec=spec, period_start=start, period_end=end, generated_at=now)
    return build_report(
        session,
        scope=scope,
        request=request,
        account_name=account.name,
        locale=recipient.locale,
        time_zone=recipient.time_zone,
    )


def print_pdf(data: ReportData, renderer: Renderer) -> bytes:
    """The report's PDF as a recipient's mail carries it (before any encryption)."""
    return compact_pdf(renderer.render(render_report_html(data), render_footer_html(data)))


def filter_choices_for(session: Session, caller: Principal) -> SelectionChoices:
    """What a preview's computer filter may name: what the caller's own clearance views."""
    return viewable_choices(session, caller)


def may_preview(session: Session, caller: Principal, recipient: Recipient) -> bool:
    """Whether the caller may see what ``recipient`` would receive (see the module)."""
    if recipient.ref.kind is RecipientKind.contact:
        if caller.level("contactRights") < VIEW:
            return False
    elif not (caller.rights.can_view_users or caller.user_id == recipient.ref.id):
        return False
    if recipient.role_id is None:
        return True
    role = load_role(session, caller.account_id, recipient.role_id)
    return role is not None and within(session, caller, spec_of(role))


def recipient_for(session: Session, caller: Principal, ref: RecipientRef) -> Recipient:
    """The recipient ``ref``, if the caller may preview what they receive (else Forbidden)."""
    if ref.kind is RecipientKind.contact:
        can_read_contacts(caller)
    elif caller.user_id != ref.id:
        can_administrators(caller, "can_view_users", "viewing administrators")
    recipient = find_recipient(session, account_id=caller.account_id, ref=ref)
    if not may_preview(session, caller, recipient):
        raise Forbidden(
            f"the {ref.kind.value}'s clearance reaches beyond the caller's own role: "
            "their report would show what the caller may not see"
        )
    return recipient


def preview_for(
    session: Session, caller: Principal, ref: RecipientRef, spec: ReportSpec, *, now: datetime
) -> tuple[Recipient, ReportData]:
    """The report ``ref`` would receive now, for a caller allowed to see it (an audit event)."""
    recipient = recipient_for(session, caller, ref)
    data = report_for(
        session, account_id=caller.account_id, recipient=recipient, spec=spec, now=now
    )
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.report_previewed,
        description=audit.describe_values(
            f"{spec.kind.value} as {ref.kind.value} {recipient.name!r} (ID {ref.id})"
            " would receive it",
            spec.to_api(),
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return recipient, data


@dataclass(frozen=True)
class Previewable:
    """A recipient the caller may preview."""

    ref: RecipientRef
    name: str
    email_address: str


def previewable_for(session: Session, caller: Principal, *, limit: int = 500) -> list[Previewable]:
    """The contacts (the first ``limit`` by name) and administrators the caller may preview:
    those it may see whose clearance is within its own (each role checked once)."""
    allowed: dict[int | None, bool] = {None: True}

    def within_own(role_id: int | None) -> bool:
        if role_id not in allowed:
            role = load_role(session, caller.account_id, role_id)
            allowed[role_id] = role is not None and within(session, caller, spec_of(role))
        return allowed[role_id]

    found: list[Previewable] = []
    if caller.level("contactRights") >= VIEW:
        contacts = session.execute(
            select(Contact.id, Contact.name, Contact.email_address, Contact.role_id)
            .where(Contact.account_id == caller.account_id)
            .order_by(Contact.name, Contact.id)
            .limit(limit)
        )
        found += [
            Previewable(RecipientRef(RecipientKind.contact, c.id), c.name, c.email_address)
            for c in contacts
            if within_own(c.role_id)
        ]
    members = select(User.id, User.name, User.email_address, Membership.role_id).join(
        Membership, Membership.user_id == User.id
    )
    members = members.where(Membership.account_id == caller.account_id, Membership.active)
    if not caller.rights.can_view_users:
        members = members.where(User.id == (caller.user_id or 0))  # only themselves
    found += [
        Previewable(RecipientRef(RecipientKind.administrator, u.id), u.name, u.email_address)
        for u in session.execute(members.order_by(User.name, User.id))
        if within_own(u.role_id)
    ]
    return found
