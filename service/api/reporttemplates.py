"""``/reporttemplates``: the report types reportd produces. Any valid key may read them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body

from service.api import reporting
from service.api.auth import CallerDep
from service.api.schemas import PathID, ReportTemplateOut, ReportTemplatesOut, SdkRouter
from service.api.search import SearchFilter, search

router = SdkRouter(tags=["Report Templates"])


@router.get("/reporttemplates", response_model=ReportTemplatesOut, summary="List Report Templates")
def list_report_templates(caller: CallerDep) -> dict[str, Any]:
    return {"reportTemplates": reporting.list_templates()}


@router.post(
    "/reporttemplates/search", response_model=ReportTemplatesOut, summary="Search Report Templates"
)
def search_report_templates(
    caller: CallerDep, search_filter: Annotated[SearchFilter | None, Body()] = None
) -> dict[str, Any]:
    return {"reportTemplates": search(reporting.list_templates(), search_filter)}


@router.get(
    "/reporttemplates/{reportTemplateID}",
    response_model=ReportTemplateOut,
    summary="Describe a Report Template",
)
def describe_report_template(caller: CallerDep, reportTemplateID: PathID) -> dict[str, Any]:
    return reporting.get_template(reportTemplateID)
