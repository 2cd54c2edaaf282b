"""The viewer's session: switching accounts and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.sessions import end_session, switch_account
from service.console.web import (
    SESSION_COOKIE,
    ConsoleDep,
    FormDep,
    ViewerDep,
    clear_session_cookie,
    see_other,
    text,
)
from service.errors import Forbidden

router = APIRouter()


@router.post("/account/switch")
def switch(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    """Work in another account the user belongs to (and may enter)."""
    wanted = text(posted, "account_id")
    choice = next((a for a in viewer.accounts if str(a.account_id) == wanted), None)
    if choice is None:
        raise Forbidden("you are not a member of that account")
    with app.transaction() as session:
        switch_account(session, session_id=viewer.session_id, account_id=choice.account_id)
    return see_other("/", notice="switched")


@router.post("/signout")
def sign_out(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    with app.transaction() as session:
        end_session(session, token=request.cookies.get(SESSION_COOKIE))
    response = see_other("/signin", notice="signed-out")
    clear_session_cookie(response, request)
    return response
