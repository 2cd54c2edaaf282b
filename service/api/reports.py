"""``POST /reports`` and ``GET /reportruns/{id}``: one-off reports (reportd's own endpoints)."""

from __future__ import annotations

from typing import Any

from service.api import reporting
from service.api.auth import CallerDep, ServicesDep
from service.api.reporting import ReportBody
from service.api.schemas import PathID, ReportRunOut, SdkRouter

router = SdkRouter(tags=["Reports (reportd)"])


@router.post("/reports", response_model=ReportRunOut, summary="Send a One-Off Report")
def create_report(caller: CallerDep, deps: ServicesDep, body: ReportBody) -> dict[str, Any]:
    with deps.transaction() as session:
        run_id = reporting.request_report(session, caller, body, now=deps.clock())
    if deps.dispatcher is not None:
        deps.dispatcher.start_runs([run_id])
    with deps.transaction() as session:
        return reporting.get_run(session, caller, run_id)


@router.get("/reportruns/{runID}", response_model=ReportRunOut, summary="Describe a Report Run")
def describe_report_run(caller: CallerDep, deps: ServicesDep, runID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return reporting.get_run(session, caller, runID)
