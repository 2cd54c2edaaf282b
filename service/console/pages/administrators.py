"""Administrators: the account's users, invited, given a role, switched off, removed.

The rules are ``service.directory.administrator_admin``'s (the API's too): User Rights'
``can_view_users``, ``can_create_new_users``, ``can_edit_user_properties`` and
``can_delete_users``; no role beyond the viewer's own, no change to a user above them, none to
their own role. An invited user gets a one-time set-password link, mailed when SMTP is
configured and otherwise shown once, to the inviting administrator, on the answer page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from service.console.choices import language_options, zone_options
from service.console.i18n import N_
from service.console.web import (
    ConsoleDep,
    FormDep,
    Viewer,
    ViewerDep,
    render,
    see_other,
    text,
)
from service.delivery.invitations import invite
from service.directory import administrator_admin
from service.errors import Forbidden, InvalidInput, ReportdError

log = logging.getLogger(__name__)
router = APIRouter()

NOTICES = {
    "saved": N_("The administrator was saved."),
    "removed": N_("The administrator was removed from this account."),
    "invited": N_("The invitation was mailed."),
}


@dataclass
class InviteForm:
    email_address: str = ""
    name: str = ""
    role_id: str = ""
    locale: str = "en-US"
    time_zone: str = "UTC"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def posted(cls, form: FormData) -> InviteForm:
        return cls(
            email_address=text(form, "email_address").strip(),
            name=text(form, "name").strip(),
            role_id=text(form, "role_id"),
            locale=text(form, "locale") or "en-US",
            time_zone=text(form, "time_zone") or "UTC",
        )

    def values(self) -> dict[str, Any]:
        if not self.role_id.isdigit():
            raise InvalidInput("roleID: choose one of the listed roles")
        return {
            "email_address": self.email_address,
            "name": self.name,
            "role_id": int(self.role_id),
            "locale": self.locale,
            "time_zone": self.time_zone,
        }


@router.get("/administrators")
def administrator_list(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    with app.transaction() as session:
        members = administrator_admin.list_for(session, viewer.principal)
        roles = {r.id: r.name for r in administrator_admin.role_names(session, viewer.principal)}
    return render(
        request,
        "administrators/list.html",
        {
            "members": members,
            "roles": roles,
            "may_invite": viewer.principal.rights.can_create_new_users,
            "now": app.now(),
        },
        viewer=viewer,
        current="administrators",
        notices=NOTICES,
    )


def _invite_page(
    request: Request,
    viewer: Viewer,
    app: ConsoleDep,
    form: InviteForm,
    *,
    status: int = 200,
    error: str = "",
) -> Response:
    with app.transaction() as session:
        roles = administrator_admin.assignable_roles(session, viewer.principal)
    return render(
        request,
        "administrators/invite.html",
        {
            "form": form,
            "error": error,
            "role_options": [(str(r.id), r.name) for r in roles],
            "languages": language_options(),
            "zones": zone_options(form.time_zone),
        },
        viewer=viewer,
        status=status,
        current="administrators",
    )


@router.get("/administrators/new")
def new_administrator(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    administrator_admin.require(viewer.principal, "can_create_new_users")
    form = InviteForm(locale=viewer.locale, time_zone=viewer.me.time_zone)
    return _invite_page(request, viewer, app, form)


@router.post("/administrators")
def invite_administrator(
    request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep
) -> Response:
    form = InviteForm.posted(posted)
    try:
        with app.transaction() as session:
            created = administrator_admin.create_for(
                session, viewer.principal, form.values(), box=app.backend.box, now=app.now()
            )
    except InvalidInput as error:
        return _invite_page(request, viewer, app, form, status=422, error=str(error))
    mailed = None
    if created.token is not None and app.backend.invitations is not None:
        try:
            with app.transaction() as session:
                mailed = invite(
                    session,
                    app.backend.invitations,
                    created.member,
                    created.token,
                    account_id=viewer.principal.account_id,
                )
        except (ReportdError, OSError) as error:
            log.warning("set-password mail to user %s not sent: %s", created.member.id, error)
    if created.token is None or mailed is not None:
        return see_other(f"/administrators/{created.member.id}", notice="invited")
    # No mail: the link is shown once, here, to the administrator who invited.
    base = app.settings.console_url.rstrip("/") or str(request.base_url).rstrip("/")
    return render(
        request,
        "administrators/invited.html",
        {
            "member": created.member,
            "link": f"{base}/set-password?token={created.token.token}",
            "expires": created.token.expires,
        },
        viewer=viewer,
        current="administrators",
    )


@router.get("/administrators/{user_id}")
def show_administrator(
    request: Request, viewer: ViewerDep, app: ConsoleDep, user_id: int
) -> Response:
    return _member_page(request, viewer, app, user_id)


def _member_page(
    request: Request,
    viewer: Viewer,
    app: ConsoleDep,
    user_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    with app.transaction() as session:
        member = administrator_admin.get_for(session, viewer.principal, user_id)
        may_edit = administrator_admin.may_manage(
            session, viewer.principal, member, "can_edit_user_properties"
        )
        may_remove = administrator_admin.may_manage(
            session, viewer.principal, member, "can_delete_users"
        )
        roles = administrator_admin.assignable_roles(session, viewer.principal) if may_edit else []
        names = {r.id: r.name for r in administrator_admin.role_names(session, viewer.principal)}
    return render(
        request,
        "administrators/show.html",
        {
            "member": member,
            "may_edit": may_edit,
            "may_remove": may_remove,
            "role_options": [(str(r.id), r.name) for r in roles],
            "role_name": names.get(member.role_id) if member.role_id is not None else None,
            "languages": dict(language_options()),
            "error": error,
            "now": app.now(),
        },
        viewer=viewer,
        status=status,
        current="administrators",
        notices=NOTICES,
    )


@router.post("/administrators/{user_id}")
def save_administrator(
    request: Request, viewer: ViewerDep, app: ConsoleDep, user_id: int, posted: FormDep
) -> Response:
    role = text(posted, "role_id")
    values: dict[str, Any] = {
        "active": text(posted, "active") == "on",
        "read_only": text(posted, "read_only") == "on",
        "description": text(posted, "description"),
    }
    if role:
        if not role.isdigit():
            raise InvalidInput("roleID: choose one of the listed roles")
        values["role_id"] = int(role)
    try:
        with app.transaction() as session:
            administrator_admin.modify_for(
                session, viewer.principal, user_id, values, box=app.backend.box, now=app.now()
            )
    except InvalidInput as error:
        return _member_page(request, viewer, app, user_id, error=str(error), status=422)
    return see_other(f"/administrators/{user_id}", notice="saved")


@router.get("/administrators/{user_id}/remove")
def confirm_remove(request: Request, viewer: ViewerDep, app: ConsoleDep, user_id: int) -> Response:
    with app.transaction() as session:
        member = administrator_admin.get_for(session, viewer.principal, user_id)
        if not administrator_admin.may_manage(
            session, viewer.principal, member, "can_delete_users"
        ):
            administrator_admin.require(viewer.principal, "can_delete_users")
            raise Forbidden("you cannot remove this administrator")
    return render(
        request,
        "administrators/remove.html",
        {"member": member},
        viewer=viewer,
        current="administrators",
    )


@router.post("/administrators/{user_id}/remove")
def remove_administrator(
    request: Request, viewer: ViewerDep, app: ConsoleDep, user_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        administrator_admin.delete_for(session, viewer.principal, user_id, now=app.now())
    return see_other("/administrators", notice="removed")
