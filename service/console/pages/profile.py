"""The viewer's own profile: name, language and time zone, and their password.

Every user may change their own password and contact information, whatever their role
(seed 003's "Change own password and contact information only"); the rule is
``service.directory.administrator_admin``'s, the password check ``signin.change_own_password``
(the current password proven, a wrong one counted like a failed sign-in). A changed password
ends the user's other console sessions.

Two-factor sign-in (TOTP, ``service.directory.totp``): the user begins an enrolment, gets its
secret and ``otpauth://`` URI as text (no QR code: nothing in the lock draws one), confirms
with a current code and is shown the recovery codes once, on the confirming POST's answer.
Once TOTP is on, its secret is never in a page again. Switching it off takes the password and
a code (``signin.switch_off_own_second_factor``: wrong ones count as failed sign-ins).
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
from service.directory.signin import (
    change_own_password,
    confirm_own_second_factor,
    switch_off_own_second_factor,
)
from service.directory.totp import begin_enrolment, pending_enrolment
from service.errors import InvalidInput, WeakPassword
from storage.models import User

router = APIRouter()

NOTICES = {
    "profile-saved": N_("Your profile was saved."),
    "password-changed": N_("Your password was changed. Your other sessions were signed out."),
    "totp-off": N_("Two-factor sign-in is off: your password alone signs you in."),
}
#: The states of the user's second factor the profile tells apart.
TOTP_ON, TOTP_PENDING, TOTP_OFF = "on", "pending", "off"


def _totp_state(app: ConsoleDep, user_id: int) -> str:
    with app.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            return TOTP_OFF
        if user.mfa_type == "local-totp":
            return TOTP_ON
        return TOTP_PENDING if user.totp_secret_encrypted is not None else TOTP_OFF


def _page(
    request: Request,
    viewer: Viewer,
    app: ConsoleDep,
    *,
    values: dict[str, str] | None = None,
    profile_error: str = "",
    password_error: str = "",
    totp_error: str = "",
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
            "totp_error": totp_error,
            "totp": _totp_state(app, viewer.me.user_id),
            "detail": detail,
        },
        viewer=viewer,
        status=status,
        current="profile",
        notices=NOTICES,
    )


@router.get("/profile")
def profile(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    return _page(request, viewer, app)


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
            app,
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
            app,
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
            app,
            password_error=N_("This password is too weak:"),
            detail=str(weak),
            status=422,
        )
    if not changed:
        return _page(
            request,
            viewer,
            app,
            password_error=N_("Your current password is not right."),
            status=422,
        )
    return see_other("/profile", notice="password-changed")


@router.post("/profile/totp")
def begin_totp(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    """Step 1: a new secret (not in force until confirmed); its page shows it."""
    with app.transaction() as session:
        begin_enrolment(session, user_id=viewer.me.user_id, box=app.backend.box)
    return see_other("/profile/totp")


def _enrolment_page(
    request: Request, viewer: Viewer, app: ConsoleDep, *, error: str = "", status: int = 200
) -> Response:
    with app.transaction() as session:
        enrolment = pending_enrolment(session, user_id=viewer.me.user_id, box=app.backend.box)
    if enrolment is None:
        return see_other("/profile")
    secret = enrolment.secret
    return render(
        request,
        "profile_totp.html",
        {
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "uri": enrolment.uri,
            "error": error,
        },
        viewer=viewer,
        status=status,
        current="profile",
    )


@router.get("/profile/totp")
def enrolment(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    """Step 2: the secret and its URI for the authenticator app, and the code to confirm."""
    return _enrolment_page(request, viewer, app)


@router.post("/profile/totp/confirm")
def confirm_totp(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    """Step 3: a current code switches TOTP on; the recovery codes are in this answer alone."""
    try:
        with app.transaction() as session:
            codes = confirm_own_second_factor(
                session,
                user_id=viewer.me.user_id,
                code=text(posted, "code").strip(),
                box=app.backend.box,
                now=app.now(),
                origin=origin_of(request),
            )
    except InvalidInput:
        return _enrolment_page(
            request,
            viewer,
            app,
            error=N_("The code is not your authenticator app's current one. Try the next code."),
            status=422,
        )
    return render(
        request, "profile_totp_codes.html", {"codes": codes}, viewer=viewer, current="profile"
    )


@router.post("/profile/totp/off")
def switch_off_totp(
    request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep
) -> Response:
    try:
        with app.transaction() as session:
            switched = switch_off_own_second_factor(
                session,
                user_id=viewer.me.user_id,
                password=text(posted, "password"),
                code=text(posted, "code"),
                box=app.backend.box,
                now=app.now(),
                origin=origin_of(request),
            )
    except InvalidInput:
        return see_other("/profile")
    if not switched:
        return _page(
            request,
            viewer,
            app,
            totp_error=N_("The password or the code is not right."),
            status=422,
        )
    return see_other("/profile", notice="totp-off")
