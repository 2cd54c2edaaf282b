"""The plumbing every console page uses: who is viewing, the CSRF check, rendering, redirects.

A page's route takes ``viewer: ViewerDep`` (signed in, or a redirect to the sign-in page) and,
when it changes anything, ``form: FormDep`` (the posted form, its CSRF token checked). It
calls service functions with ``viewer.principal`` (the same type the API's routes pass) and
answers with :func:`render` or :func:`see_other`. Errors the services raise on purpose
become pages in ``service.console.app``: ``Forbidden`` 403, ``NotFound`` 404.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from service.config import Settings
from service.console import nav
from service.console.i18n import N_, environment, negotiate
from service.console.labels import REPORT_TYPES
from service.console.sessions import LiveSession, Timeouts, find_session, same_token
from service.delivery.dispatch import Dispatcher
from service.delivery.invitations import Invitations
from service.directory.principal import Principal
from service.directory.secretbox import SecretBox
from service.errors import ReportdError
from storage.models import Account, Membership, User
from storage.records import load_role

#: The session cookie (HttpOnly, SameSite=Lax, Secure over https).
SESSION_COOKIE = "reportd_session"
#: Before sign-in there is no session: the sign-in and set-password forms carry a random
#: token that must equal this cookie's (double submit; the cookie is SameSite=Lax too).
PRESESSION_COOKIE = "reportd_presession"
#: The form field and the header (htmx) that carry the CSRF token.
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
#: htmx's settings (``<meta name="htmx-config">``): no inline style it would inject, no eval,
#: no scripts from swapped content, no page copies in localStorage, and 4xx pages (a form with
#: its errors, a refusal) swapped in like any other page.
HTMX_CONFIG = json.dumps(
    {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
        "historyCacheSize": 0,
        "refreshOnHistoryMiss": True,
        "selfRequestsOnly": True,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "(400|403|404|409|422)", "swap": True, "error": False},
            {"code": "[45]..", "swap": False, "error": True},
        ],
    },
    separators=(",", ":"),
)
#: Notices a page may show after a redirect (``?notice=KEY``); pages pass their own too.
COMMON_NOTICES: Mapping[str, str] = {
    "saved": N_("Your changes were saved."),
    "switched": N_("You are now working in this account."),
    "signed-out": N_("You signed out."),
}


class Backend(Protocol):
    """What the console needs of the application (the API's ``Services`` is one)."""

    box: SecretBox
    #: Mails new administrators their set-password link (None: SMTP not configured).
    invitations: Invitations | None

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def dispatcher(self) -> Dispatcher | None:
        """None: runs stay pending until ``reportd reconcile`` (or a reconciler) enqueues them."""

    def transaction(self) -> AbstractContextManager[Session]: ...


class SignInRequired(ReportdError):
    """No live session: the browser goes to the sign-in page (and back afterwards)."""

    def __init__(self, next_url: str = "/") -> None:
        super().__init__("sign in first")
        self.next_url = next_url


class CsrfRefused(ReportdError):
    """A state-changing request without the session's CSRF token (answered 403)."""


@dataclass(frozen=True)
class Me:
    """The signed-in user as their own pages show them."""

    user_id: int
    name: str
    email_address: str
    locale: str
    time_zone: str


@dataclass(frozen=True)
class AccountChoice:
    """An account the user may enter (for the switcher)."""

    account_id: int
    name: str


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: the principal the service functions take, and the rest."""

    principal: Principal
    me: Me
    account_name: str
    accounts: tuple[AccountChoice, ...]
    session_id: int
    csrf_token: str

    @property
    def locale(self) -> str:
        return self.me.locale

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.me.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    @property
    def nav(self) -> list[nav.NavEntry]:
        return nav.nav_for(self.principal)


@dataclass
class Console:
    """The console's collaborators, on ``app.state.console``."""

    backend: Backend
    settings: Settings
    timeouts: Timeouts = field(init=False)

    def __post_init__(self) -> None:
        self.timeouts = Timeouts(
            idle=timedelta(minutes=self.settings.console_idle_minutes),
            absolute=timedelta(hours=self.settings.console_absolute_hours),
        )

    def now(self) -> datetime:
        return self.backend.clock()

    def transaction(self) -> AbstractContextManager[Session]:
        return self.backend.transaction()


def console(request: Request) -> Console:
    found = request.app.state.console
    assert isinstance(found, Console)
    return found


ConsoleDep = Annotated[Console, Depends(console)]


def origin_of(request: Request) -> str:
    return request.client.host if request.client else ""


def enterable_accounts(session: Session, user_id: int) -> list[tuple[Membership, str]]:
    """The user's memberships whose role lets them use the console, with the account names.

    A membership without a role, or whose role does not allow the user interface, gives no
    way in: fail closed.
    """
    rows = session.execute(
        select(Membership, Account.name)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.user_id == user_id, Membership.role_id.is_not(None))
        .order_by(Account.name)
    ).all()
    found = []
    for membership, name in rows:
        if not membership.active:
            continue
        role = load_role(session, membership.account_id, membership.role_id)
        if role is not None and role.rights.get("allow_user_interface") is True:
            found.append((membership, name))
    return found


def load_viewer(session: Session, live: LiveSession, *, origin: str) -> Viewer | None:
    """The viewer of a live session, in its account (or the first one they may enter)."""
    user = session.get(User, live.user_id)
    if user is None:
        return None
    accounts = enterable_accounts(session, user.id)
    if not accounts:
        return None
    membership, account_name = next(
        ((m, n) for m, n in accounts if m.account_id == live.account_id), accounts[0]
    )
    role = load_role(session, membership.account_id, membership.role_id)
    if role is None:
        return None
    principal = Principal.for_user(
        account_id=membership.account_id,
        user_id=user.id,
        email_address=user.email_address,
        role=role,
        read_only=membership.read_only,
        origin=origin,
    )
    return Viewer(
        principal=principal,
        me=Me(
            user_id=user.id,
            name=user.name,
            email_address=user.email_address,
            locale=user.locale,
            time_zone=user.time_zone,
        ),
        account_name=account_name,
        accounts=tuple(AccountChoice(m.account_id, n) for m, n in accounts),
        session_id=live.session_id,
        csrf_token=live.csrf_token,
    )


def current_viewer(request: Request, app: ConsoleDep) -> Viewer:
    """The signed-in viewer, or ``SignInRequired``."""
    cached = getattr(request.state, "viewer", None)
    if isinstance(cached, Viewer):
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    with app.transaction() as session:
        live = find_session(session, token=token, now=app.now(), timeouts=app.timeouts)
        viewer = load_viewer(session, live, origin=origin_of(request)) if live else None
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/")
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def posted_form(request: Request, viewer: ViewerDep) -> FormData:
    """The posted form, once its CSRF token (field or htmx header) matches the session's."""
    form = await request.form()
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not same_token(viewer.csrf_token, given if isinstance(given, str) else None):
        raise CsrfRefused("the form's security token is missing or out of date")
    return form


FormDep = Annotated[FormData, Depends(posted_form)]


def presession_token(request: Request) -> str:
    """The browser's pre-sign-in CSRF token (its cookie), or a new one to set."""
    current = request.cookies.get(PRESESSION_COOKIE, "")
    return current if len(current) >= 32 else secrets.token_urlsafe(32)


def set_presession_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        PRESESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
        max_age=3600,
    )


async def presession_form(request: Request) -> FormData:
    """A form posted before sign-in, its token checked against the pre-session cookie."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = request.cookies.get(PRESESSION_COOKIE, "")
    if not same_token(expected, given if isinstance(given, str) else None):
        raise CsrfRefused("the form's security token is missing or out of date")
    return form


PresessionFormDep = Annotated[FormData, Depends(presession_form)]


def text(form: FormData, name: str) -> str:
    """A text field of a posted form ("" when absent; files are not text)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def page_locale(request: Request, viewer: Viewer | None) -> str:
    return (
        viewer.locale if viewer is not None else negotiate(request.headers.get("accept-language"))
    )


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    current: str = "",
    notices: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page in the viewer's language and zone (or the browser's language when signed out)."""
    locale = page_locale(request, viewer)
    values: dict[str, Any] = {
        "viewer": viewer,
        "nav": viewer.nav if viewer else [],
        "current": current,
        "csrf_token": viewer.csrf_token if viewer else "",
        "zone": viewer.zone if viewer else ZoneInfo("UTC"),
        "path": request.url.path,
        "notice": {**COMMON_NOTICES, **(notices or {})}.get(
            request.query_params.get("notice", ""), ""
        ),
        "htmx_config": HTMX_CONFIG,
        "report_types": REPORT_TYPES,
    }
    values.update(context or {})
    html = environment(locale).get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def see_other(url: str, **query: str) -> RedirectResponse:
    """After a POST: 303 to ``url`` (htmx follows it and swaps the page it gets)."""
    target = url + (("&" if "?" in url else "?") + urlencode(query) if query else "")
    return RedirectResponse(target, status_code=303)


def sign_in_url(next_url: str) -> str:
    return "/signin" + (f"?next={quote(next_url, safe='/')}" if next_url not in ("", "/") else "")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
