"""The contact picker's results alone (htmx): the chosen contacts and one page of a search.

The report forms' picker asks for this as its search field changes and its page buttons are
pressed, sending the search, the page and the contacts ticked so far; without JavaScript the
same buttons post the whole form back (``report_form.browsing_contacts``). Read-only: who may
not see contacts gets 403 from ``contact_admin``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console.recipient_choices import contact_picker
from service.console.report_form import RecipientsForm
from service.console.web import ConsoleDep, ViewerDep, render

router = APIRouter()


@router.get("/recipients/contacts")
def contact_results(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    asked = RecipientsForm.posted(request.query_params)
    with app.transaction() as session:
        picker = contact_picker(
            session,
            viewer.principal,
            chosen=asked.contact_ids,
            search=asked.contact_search,
            offset=asked.contact_offset,
        )
    return render(
        request, "_contact_results.html", {"picker": picker}, viewer=viewer, current="send"
    )
