"""Sending a report now: the report form with recipients picked, then the run's live page.

The rule is ``service.delivery.run_admin.request_report_for``'s (the API's ``POST /reports``
too): ``scheduledTaskRights`` full. After the commit the run goes to the workers and the
browser to the run's page (``/runs/{id}``), where each recipient's state moves as the
workers deliver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.pages.tasks import report_choices
from service.console.recipient_choices import recipient_choices
from service.console.report_form import (
    NOBODY,
    RecipientsForm,
    ReportForm,
    browsing_contacts,
    said,
)
from service.console.running import start_runs
from service.console.web import ConsoleDep, FormDep, Viewer, ViewerDep, render, see_other
from service.delivery import run_admin
from service.errors import InvalidInput

router = APIRouter()


@dataclass
class SendForm:
    report: ReportForm = field(default_factory=ReportForm)
    recipients: RecipientsForm = field(default_factory=RecipientsForm)
    errors: dict[str, str] = field(default_factory=dict)


def _page(
    request: Request, viewer: Viewer, app: ConsoleDep, form: SendForm, *, status: int = 200
) -> Response:
    with app.transaction() as session:
        choices = recipient_choices(
            session,
            viewer.principal,
            chosen_contacts=form.recipients.contact_ids,
            search=form.recipients.contact_search,
            offset=form.recipients.contact_offset,
        )
        targets = run_admin.filter_choices_for(session, viewer.principal)
    return render(
        request,
        "reports/send.html",
        {
            "form": form,
            "errors": said(form.errors, viewer.locale),
            "recipients": choices,
            **report_choices(viewer, targets),
        },
        viewer=viewer,
        status=status,
        current="send",
    )


@router.get("/reports/new")
def new_report(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    run_admin.require_request(viewer.principal)
    return _page(request, viewer, app, SendForm())


@router.post("/reports")
def send_report(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    run_admin.require_request(viewer.principal)
    form = SendForm(ReportForm.posted(posted), RecipientsForm.posted(posted))
    if browsing_contacts(posted):
        return _page(request, viewer, app, form)
    form.errors.update(form.report.unreadable(viewer.zone))
    if not form.recipients.named:
        form.errors["recipients"] = NOBODY
    try:
        spec = form.report.spec(viewer.zone)
    except InvalidInput as error:
        form.errors.update(form.report.errors_of(error))
    if form.errors:
        return _page(request, viewer, app, form, status=422)
    try:
        with app.transaction() as session:
            run_id = run_admin.request_report_for(
                session, viewer.principal, spec, form.recipients.recipients(), now=app.now()
            )
    except InvalidInput as error:
        form.errors.update(form.report.errors_of(error))
        return _page(request, viewer, app, form, status=422)
    started = start_runs(app, [run_id])
    return see_other(f"/runs/{run_id}", notice="started" if started else "queued")
