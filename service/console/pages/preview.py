"""Preview: the PDF a contact or an administrator would receive now, shown in the browser.

The rule is ``service.delivery.preview.preview_for``'s (``reportd render`` builds through the
same module): the viewer must be allowed to see the recipient (``contactRights`` for a
contact, ``can_view_users`` for an administrator) and the recipient's clearance must be within
the viewer's own role, since the PDF shows what that clearance sees. The form is a plain GET
(nothing changes, a preview is a link); the PDF comes back ``inline``, printed by one
Chromium the console launches on its first preview and keeps. It is shown as the mail carries
it but not encrypted: the viewer does not know the recipient's report password.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.config import Settings
from service.console.i18n import N_
from service.console.pages.tasks import report_choices
from service.console.report_form import Own, ReportForm, said
from service.console.web import Console, ConsoleDep, Viewer, ViewerDep, render
from service.delivery.pdf import PdfRenderer
from service.delivery.preview import (
    RecipientKind,
    RecipientRef,
    filter_choices_for,
    preview_for,
    previewable_for,
    print_pdf,
    recipient_for,
)
from service.errors import InvalidInput
from service.reports.model import ReportFormat

router = APIRouter()

#: Contacts the recipient list offers at most (the rest: by ID in the address).
RECIPIENT_LIMIT = 500
CHOOSE_RECIPIENT = Own(N_("Choose whose report to preview."))


@dataclass
class PreviewForm:
    recipient: str = ""
    report: ReportForm = field(default_factory=ReportForm)
    errors: dict[str, str] = field(default_factory=dict)

    def ref(self) -> RecipientRef | None:
        kind, _, number = self.recipient.partition(":")
        if kind not in {k.value for k in RecipientKind} or not number.isdigit() or len(number) > 10:
            return None
        return RecipientRef(RecipientKind(kind), int(number))


class PreviewPrinter:
    """One Chromium per console process, launched on the first preview and closed at exit."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._renderer: PdfRenderer | None = None

    def renderer(self) -> PdfRenderer:
        with self._lock:
            if self._renderer is None:
                self._renderer = PdfRenderer.from_settings(self._settings)
                atexit.register(self._renderer.close)
            return self._renderer


def _printer(request: Request, app: Console) -> PreviewPrinter:
    state = request.app.state
    with _PRINTER_LOCK:
        found = getattr(state, "preview_printer", None)
        if not isinstance(found, PreviewPrinter):
            found = PreviewPrinter(app.settings)
            state.preview_printer = found
    return found


_PRINTER_LOCK = threading.Lock()


def _people(viewer: Viewer, app: ConsoleDep) -> list[tuple[str, str]]:
    """(value, label) of each recipient the viewer may preview."""
    with app.transaction() as session:
        found = previewable_for(session, viewer.principal, limit=RECIPIENT_LIMIT)
    return [(f"{p.ref.kind.value}:{p.ref.id}", f"{p.name} <{p.email_address}>") for p in found]


def _page(
    request: Request, viewer: Viewer, app: ConsoleDep, form: PreviewForm, *, status: int = 200
) -> Response:
    with app.transaction() as session:
        targets = filter_choices_for(session, viewer.principal)
    return render(
        request,
        "reports/preview.html",
        {
            "form": form,
            "errors": said(form.errors, viewer.locale),
            "people": _people(viewer, app),
            **report_choices(viewer, targets),
        },
        viewer=viewer,
        status=status,
        current="preview",
    )


@router.get("/preview")
def preview_form(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    form = PreviewForm(recipient=request.query_params.get("recipient", "")[:40])
    return _page(request, viewer, app, form)


@router.get("/preview/report.pdf")
def preview_pdf(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    """The PDF, or the form again with what is wrong beside its field."""
    params = request.query_params
    form = PreviewForm(recipient=params.get("recipient", "")[:40], report=ReportForm.posted(params))
    form.report.format = ReportFormat.pdf.value
    form.report.attach_csv = False
    ref = form.ref()
    if ref is None:
        form.errors["recipient"] = CHOOSE_RECIPIENT
    else:
        with app.transaction() as session:
            recipient_for(session, viewer.principal, ref)  # refused before anything else
    form.errors.update(form.report.unreadable(viewer.zone))
    try:
        spec = form.report.spec(viewer.zone)
    except InvalidInput as error:
        form.errors.update(form.report.errors_of(error))
    if form.errors or ref is None:
        return _page(request, viewer, app, form, status=422)
    with app.transaction() as session:
        _, data = preview_for(session, viewer.principal, ref, spec, now=app.now())
    pdf = print_pdf(data, _printer(request, app).renderer())
    name = f"preview-{ref.kind.value}-{ref.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
