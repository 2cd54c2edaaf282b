"""Liveness, readiness and Prometheus metrics: outside ``/api``, no key, not in the schema."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from service.api.auth import Services
from service.health.checks import check_broker
from storage.migrate import current_revision, head_revision

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    """The database answers and is migrated, and the broker answers: this process can serve
    requests, including those that start report runs (their messages go to the broker)."""
    services: Services = request.app.state.services
    engine = services.sessions.kw["bind"]
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        return JSONResponse({"status": "unavailable", "database": str(error)[:200]}, 503)
    if current != head_revision():
        return JSONResponse({"status": "unavailable", "database": f"at {current}"}, 503)
    broker = check_broker(request.app.state.settings)
    if not broker.ok:
        return JSONResponse({"status": "unavailable", "broker": broker.detail}, 503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """This process's metrics and the ledger's deliveries by state, for Prometheus."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
    )

    from service.runtime.metrics import LedgerCollector

    services: Services = request.app.state.services
    ledger = CollectorRegistry()
    ledger.register(LedgerCollector(services.sessions))
    body = generate_latest(REGISTRY) + generate_latest(ledger)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
