"""Signing in (email, password, and the TOTP or a recovery code when the user has one), and
choosing a password with a set-password token.

``service.directory.signin.authenticate`` counts failures and locks a user out after too many
(the administrators' rules); its answer is a value, so the count is committed even when the
page says no. A new session is started at each sign-in (never one from before it) and the
browser gets only its random token, HttpOnly and SameSite=Lax (Secure over https).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.i18n import N_
from service.console.sessions import find_session, purge_expired, start_session
from service.console.web import (
    SESSION_COOKIE,
    ConsoleDep,
    PresessionFormDep,
    enterable_accounts,
    origin_of,
    presession_token,
    render,
    see_other,
    set_presession_cookie,
    set_session_cookie,
    text,
)
from service.directory.signin import Refusal, Refused, authenticate
from service.directory.user_tokens import redeem_set_password
from service.errors import TokenRefused, WeakPassword

router = APIRouter()

NOTICES = {"password-set": N_("Your password is set. Sign in with it.")}
#: What the sign-in page says for each refusal (one message for unknown and wrong).
REFUSALS = {
    Refusal.bad_credentials: N_("The email address or the password is not right."),
    Refusal.locked_out: N_(
        "Too many failed sign-ins: this user is locked out for a while. Try again later."
    ),
    Refusal.second_factor_required: N_(
        "Enter the code from your authenticator app (or a recovery code), and your password again."
    ),
    Refusal.bad_second_factor: N_("The code is not right. Enter your password and a new code."),
    Refusal.no_active_account: N_("Your user has no account to work in. Ask an administrator."),
}
NO_CONSOLE = N_("None of your roles allows the console. Ask an administrator.")


def local_target(raw: str) -> str:
    """Where to go after sign-in: a path of this site only (never another host)."""
    if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/"


def _page(
    request: Request,
    *,
    email: str = "",
    next_url: str = "/",
    error: str = "",
    need_code: bool = False,
    unlock_time: datetime | None = None,
    status: int = 200,
) -> Response:
    token = presession_token(request)
    response = render(
        request,
        "signin.html",
        {
            "email": email,
            "next_url": next_url,
            "error": error,
            "need_code": need_code,
            "unlock_time": unlock_time,
            "form_token": token,
        },
        status=status,
        notices=NOTICES,
    )
    set_presession_cookie(response, request, token)
    return response


@router.get("/signin")
def sign_in_page(request: Request, app: ConsoleDep) -> Response:
    next_url = local_target(request.query_params.get("next", "/"))
    with app.transaction() as session:
        live = find_session(
            session,
            token=request.cookies.get(SESSION_COOKIE),
            now=app.now(),
            timeouts=app.timeouts,
        )
    if live is not None:
        return see_other(next_url)
    return _page(request, next_url=next_url)


@router.post("/signin")
def sign_in(request: Request, app: ConsoleDep, posted: PresessionFormDep) -> Response:
    email = text(posted, "email").strip()
    next_url = local_target(text(posted, "next"))
    now = app.now()
    with app.transaction() as session:
        result = authenticate(
            session,
            email,
            text(posted, "password"),
            text(posted, "code").strip() or None,
            now=now,
            box=app.backend.box,
            origin=origin_of(request),
        )
        started = None
        if not isinstance(result, Refused):
            accounts = enterable_accounts(session, result.user_id)
            if accounts:
                purge_expired(session, now=now, timeouts=app.timeouts)
                started = start_session(
                    session,
                    user_id=result.user_id,
                    account_id=accounts[0][0].account_id,
                    now=now,
                    origin=origin_of(request),
                )
    if isinstance(result, Refused):
        return _page(
            request,
            email=email,
            next_url=next_url,
            error=REFUSALS[result.reason],
            need_code=result.reason in (Refusal.second_factor_required, Refusal.bad_second_factor),
            status=401,
        )
    if started is None:
        return _page(request, email=email, next_url=next_url, error=NO_CONSOLE, status=403)
    response = see_other(next_url)
    set_session_cookie(response, request, started.token)
    return response


def _set_password_page(
    request: Request, token: str, *, error: str = "", detail: str = "", status: int = 200
) -> Response:
    form_token = presession_token(request)
    response = render(
        request,
        "set_password.html",
        {"token": token, "error": error, "detail": detail, "form_token": form_token},
        status=status,
    )
    set_presession_cookie(response, request, form_token)
    return response


@router.get("/set-password")
def set_password_page(request: Request) -> Response:
    return _set_password_page(request, request.query_params.get("token", "")[:200])


@router.post("/set-password")
def set_password(request: Request, app: ConsoleDep, posted: PresessionFormDep) -> Response:
    token = text(posted, "token").strip()
    password = text(posted, "password")
    if password != text(posted, "repeat"):
        return _set_password_page(
            request, token, error=N_("The two passwords are not the same."), status=422
        )
    try:
        with app.transaction() as session:
            redeem_set_password(
                session, token=token, password=password, now=app.now(), origin=origin_of(request)
            )
    except TokenRefused:
        return _set_password_page(
            request,
            "",
            error=N_("This link is unknown, already used or expired. Ask for a new one."),
            status=422,
        )
    except WeakPassword as weak:
        return _set_password_page(
            request,
            token,
            error=N_("This password is too weak:"),
            detail=str(weak),
            status=422,
        )
    return see_other("/signin", notice="password-set")
