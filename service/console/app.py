"""The web console as an application mounted at ``/`` by ``reportd api`` (the API keeps ``/api``).

Server-rendered pages (Jinja2) with htmx, vendored under ``static/vendor``, for smoother
navigation; every form also works as a plain POST and redirect. Every response carries a
Content-Security-Policy without inline script or style and with ``frame-ancestors 'none'``;
pages are never cached. Errors the services raise on purpose become pages: ``Forbidden`` and
a missing CSRF token 403, ``NotFound`` 404, ``InvalidInput`` outside a form 400.

To add a page: write a route module in ``pages/`` (an ``APIRouter`` named ``router``), its
templates in ``templates/``, add it to :data:`PAGES`, and its menu entry to ``nav.NAV``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.console.i18n import CONSOLE_DIR
from service.console.pages import (
    account,
    administrators,
    contacts,
    overview,
    preview,
    profile,
    recipients,
    roles,
    runs,
    sendnow,
    signin,
    tasks,
)
from service.console.web import (
    Backend,
    Console,
    CsrfRefused,
    SignInRequired,
    is_htmx,
    render,
    sign_in_url,
)
from service.errors import Forbidden, InvalidInput, NotFound

#: The pages, each a route module with its templates.
PAGES: tuple[APIRouter, ...] = (
    signin.router,
    account.router,
    profile.router,
    overview.router,
    contacts.router,
    roles.router,
    administrators.router,
    tasks.router,
    sendnow.router,
    runs.router,
    preview.router,
    recipients.router,
)

#: No inline script or style anywhere; nothing from elsewhere; never in a frame.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # A set-password link carries its token in the query: never hand it on as a referrer.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
#: Pages hold account data: no copy in a browser's or proxy's cache.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every console response (``no-store`` but to assets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not static:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_console(settings: Settings, backend: Backend) -> FastAPI:
    """The console over the API's services (database sessions, secret box, clock, dispatcher)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.console = Console(backend=backend, settings=settings)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="static")
    for router in PAGES:
        app.include_router(router)
    _install_errors(app)
    return app


def _error_page(request: Request, status: int, kind: str, detail: str = "") -> Response:
    if request.url.path.startswith("/api/"):
        # Under the API's base path the SDK's error shape, not a page.
        return JSONResponse(status_code=status, content={"message": detail or kind})
    viewer = getattr(request.state, "viewer", None)
    return render(
        request,
        "error.html",
        {"status": status, "kind": kind, "detail": detail},
        viewer=viewer,
        status=status,
    )


def _install_errors(app: FastAPI) -> None:
    async def on_sign_in(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)
        target = sign_in_url(error.next_url)
        if is_htmx(request):
            return HTMLResponse("", headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def on_forbidden(request: Request, error: Exception) -> Response:
        return _error_page(request, 403, "forbidden")

    async def on_csrf(request: Request, error: Exception) -> Response:
        return _error_page(request, 403, "csrf")

    async def on_not_found(request: Request, error: Exception) -> Response:
        return _error_page(request, 404, "not-found")

    async def on_invalid(request: Request, error: Exception) -> Response:
        return _error_page(request, 400, "invalid", str(error))

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        kind = {404: "not-found", 405: "not-found", 403: "forbidden"}.get(
            error.status_code, "invalid"
        )
        return _error_page(request, error.status_code, kind, str(error.detail))

    handlers: tuple[tuple[Any, Any], ...] = (
        (SignInRequired, on_sign_in),
        (Forbidden, on_forbidden),
        (CsrfRefused, on_csrf),
        (NotFound, on_not_found),
        (InvalidInput, on_invalid),
        (StarletteHTTPException, on_http),
    )
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
