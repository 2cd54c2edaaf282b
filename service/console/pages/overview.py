"""The overview: the last 7 days' runs, failures that need attention, the next tasks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.web import ConsoleDep, ViewerDep, render
from service.directory.principal import VIEW
from service.scheduling.overview import overview_for

router = APIRouter()


@router.get("/")
def overview(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    summary = None
    if viewer.principal.level("scheduledTaskRights") >= VIEW:
        with app.transaction() as session:
            summary = overview_for(session, viewer.principal, now=app.now())
    return render(request, "overview.html", {"summary": summary}, viewer=viewer, current="overview")
