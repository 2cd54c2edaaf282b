"""The viewer's own profile: name, language and time zone, and their password.

Every user may change their own password and contact information, whatever their role
(seed 003's "Change own password and contact information only"); the rule is
``service.directory.administrator_admin``'s, the password check ``signin.change_own_password``
(the current password proven, a wrong one counted like a failed sign-in). A changed password
ends the user's other console sessions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.choices import language_options, zone_options
from service.console.i18n import N_
from service.console.sessions import end_other_sessions
from service.console.web import (
    ConsoleDep,
    FormDep,
    Viewer,
    ViewerDep,
    origin_of,
    render,
    see_other,
    text,
)
from service.directory import administrator_admin
from service.directory.signin import change_own_password
from service.errors import InvalidInput, WeakPassword

router = APIRouter()

NOTICES = {
    "profile-saved": N_("Your profile was saved."),
    "password-changed": N_("Your password was changed. Your other sessions were signed out."),
}


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    profile_error: str = "",
    password_error: str = "",
    detail: str = "",
    status: int = 200,
) -> Response:
    shown = values or {
        "name": viewer.me.name,
        "locale": viewer.me.locale,
        "time_zone": viewer.me.time_zone,
    }
    return render(
        request,
        "profile.html",
        {
            "values": shown,
            "languages": language_options(),
            "zones": zone_options(shown["time_zone"]),
            "profile_error": profile_error,
            "password_error": password_error,
            "detail": detail,
        },
        viewer=viewer,
        status=status,
        current="profile",
        notices=NOTICES,
    )


@router.get("/profile")
def profile(request: Request, viewer: ViewerDep) -> Response:
    return _page(request, viewer)


@router.post("/profile")
def save_profile(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    values = {
        "name": text(posted, "name").strip(),
        "locale": text(posted, "locale"),
        "time_zone": text(posted, "time_zone"),
    }
    try:
        with app.transaction() as session:
            administrator_admin.modify_for(
                session,
                viewer.principal,
                viewer.me.user_id,
                values,
                box=app.backend.box,
                now=app.now(),
            )
    except InvalidInput as error:
        return _page(
            request,
            viewer,
            values=values,
            profile_error=N_("Your profile was not saved:"),
            detail=str(error),
            status=422,
        )
    return see_other("/profile", notice="profile-saved")


@router.post("/profile/password")
def change_password(
    request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep
) -> Response:
    new = text(posted, "new_password")
    if new != text(posted, "repeat"):
        return _page(
            request,
            viewer,
            password_error=N_("The two new passwords are not the same."),
            status=422,
        )
    try:
        with app.transaction() as session:
            changed = change_own_password(
                session,
                user_id=viewer.me.user_id,
                current=text(posted, "current_password"),
                new=new,
                now=app.now(),
                origin=origin_of(request),
            )
            if changed:
                end_other_sessions(
                    session, user_id=viewer.me.user_id, keep_session_id=viewer.session_id
                )
    except WeakPassword as weak:
        return _page(
            request,
            viewer,
            password_error=N_("This password is too weak:"),
            detail=str(weak),
            status=422,
        )
    if not changed:
        return _page(
            request,
            viewer,
            password_error=N_("Your current password is not right."),
            status=422,
        )
    return see_other("/profile", notice="password-changed")
