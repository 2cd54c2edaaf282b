"""The FastAPI application: base path ``/api``, the SDK's headers, its error shape.

Settings are read at the entry point and passed in; the database engine is made here, once
per application. ``runner`` hands one-off report runs to the workers; without one, runs stay
pending until ``reportd reconcile`` (or a worker's reconciler) enqueues them. The web console
(``service.console``) is mounted at ``/`` over the same services: same process, same
settings, same database sessions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from service.api import (
    administrators,
    apikeys,
    computers,
    contacts,
    errors,
    health,
    ingest,
    reports,
    reporttemplates,
    roles,
    scheduledtasks,
)
from service.api.auth import RunStarter, Services
from service.config import Settings
from service.console.app import create_console
from service.delivery.invitations import Invitations
from service.directory.secretbox import SecretBox
from storage.db import make_engine, make_session_factory

#: Where the API lives, as in the console (``https://host/api``).
BASE_PATH = "/api"
#: The routers, in the order the documentation lists them.
ROUTERS: tuple[APIRouter, ...] = (
    contacts.router,
    administrators.router,
    roles.router,
    apikeys.router,
    scheduledtasks.router,
    reporttemplates.router,
    computers.router,
    ingest.router,
    reports.router,
)


def create_app(
    settings: Settings, *, runner: RunStarter | None = None, console: bool = True
) -> FastAPI:
    """The API application over the database and secret key of ``settings``, and the console."""
    engine = make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="reportd API",
        version="v1",
        description=(
            "The Workload Security API for contacts, administrators, roles, API keys, "
            "scheduled tasks and reports, as reportd implements it. Send `api-secret-key` "
            "and `api-version: v1`."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = Services(
        sessions=make_session_factory(engine),
        box=SecretBox(settings.secret_key.get_secret_value()),
        runner=runner,
        invitations=Invitations.from_settings(settings),
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=BASE_PATH, responses=errors.ERROR_RESPONSES)
    app.include_router(health.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if console:
        # Last: the console answers every path the API and health routes do not.
        app.mount("/", create_console(settings, app.state.services))
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document without its 422 answers: reportd answers validation errors 400."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
