"""``POST /ingest``: events, alerts and system events in bulk (reportd's own endpoint)."""

from __future__ import annotations

from typing import Any

from service.api import inventory
from service.api.auth import CallerDep, ServicesDep
from service.api.inventory import IngestBody
from service.api.schemas import IngestOut, SdkRouter

router = SdkRouter(tags=["Ingestion (reportd)"])


@router.post("/ingest", response_model=IngestOut, summary="Add Events, Alerts and System Events")
def ingest(caller: CallerDep, deps: ServicesDep, body: IngestBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory.ingest(session, caller, body)
