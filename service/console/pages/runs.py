"""Runs: the list filtered by task, state, recipient and period; a run's ledger; retrying.

Every rule is ``service.delivery.run_admin``'s (the API's ``/reportruns`` reads through it
too): ``scheduledTaskRights`` view-only shows runs and ledgers, full lets a failed delivery be
sent again. A run still delivering is live: its ledger is polled by htmx every
:data:`POLL_SECONDS` (the polled part stops asking once the run is finished); without
JavaScript a "Refresh" link reloads the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from service.console.i18n import N_
from service.console.labels import DELIVERY_STATES, kind_titles
from service.console.pages.contacts import Paging
from service.console.report_form import Own, said
from service.console.running import resend
from service.console.web import ConsoleDep, FormDep, Viewer, ViewerDep, render, see_other
from service.delivery import run_admin
from service.delivery.ledger import DeliveryState
from service.delivery.run_admin import RunFilter, RunState
from service.scheduling import task_admin

router = APIRouter()

#: Runs per page of the list, deliveries per page of a ledger.
PAGE_SIZE = 25
LEDGER_PAGE_SIZE = 50
#: How often a live run's ledger is asked for again.
POLL_SECONDS = 2
#: Tasks offered by the list's task filter at most (the rest are reached from their page).
TASK_CHOICES = 500
NOTICES = {
    "retried": N_("The delivery is queued again."),
    "started": N_("The report is on its way: this page follows each recipient."),
    "queued": N_(
        "The run was created. No worker is attached to this console: it is sent once a"
        " worker picks it up."
    ),
}
RUN_STATES: dict[str, str] = {
    RunState.open.value: N_("delivering"),
    RunState.finished.value: N_("finished"),
    RunState.failed.value: N_("finished with failures"),
}


@dataclass(frozen=True)
class RunQuery:
    """The list's filters as the page's query string gives them (kept as typed)."""

    task: str = ""
    state: str = ""
    recipient: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def of(cls, params: QueryParams) -> RunQuery:
        return cls(
            task=params.get("task", "").strip()[:12],
            state=params.get("state", "").strip()[:16],
            recipient=params.get("recipient", "").strip()[:200],
            since=params.get("from", "").strip()[:10],
            until=params.get("to", "").strip()[:10],
        )

    def errors(self) -> dict[str, str]:
        """Filters that cannot be read, by field (the list then ignores them)."""
        found: dict[str, str] = {}
        if self.task and not self.task.isdigit():
            found["task"] = Own(N_("Choose a task from the list."))
        if self.state and self.state not in RUN_STATES:
            found["state"] = Own(N_("Choose a state from the list."))
        for name, value in (("from", self.since), ("to", self.until)):
            if value and _day(value) is None:
                found[name] = Own(N_("Enter a date as YYYY-MM-DD."))
        return found

    def filter(self, zone: ZoneInfo) -> RunFilter:
        """The service's filter: days are the viewer's, from midnight to midnight."""
        since, until = _day(self.since), _day(self.until)
        return RunFilter(
            task_id=int(self.task) if self.task.isdigit() else None,
            state=RunState(self.state) if self.state in RUN_STATES else None,
            recipient=self.recipient,
            since=_midnight(since, zone) if since else None,
            until=_midnight(until + timedelta(days=1), zone) if until else None,
        )

    def query(self, **changes: str) -> str:
        """The query string of these filters (with ``changes``), for links that keep them."""
        values = {
            "task": self.task,
            "state": self.state,
            "recipient": self.recipient,
            "from": self.since,
            "to": self.until,
            **changes,
        }
        return str(QueryParams({k: v for k, v in values.items() if v}))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _offset(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else 0


@router.get("/runs")
def run_list(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    query = RunQuery.of(request.query_params)
    errors = query.errors()
    offset = _offset(request.query_params.get("offset"))
    with app.transaction() as session:
        page = run_admin.runs_page_for(
            session,
            viewer.principal,
            query.filter(viewer.zone),
            offset=offset,
            limit=PAGE_SIZE,
        )
        tasks = task_admin.names_for(session, viewer.principal, limit=TASK_CHOICES)
    chosen = int(query.task) if query.task.isdigit() else None
    if chosen is not None and all(task_id != chosen for task_id, _ in tasks):
        with app.transaction() as session:
            found = task_admin.names_for(session, viewer.principal, task_id=chosen)
        tasks = found + tasks
    return render(
        request,
        "runs/list.html",
        {
            "runs": page.runs,
            "paging": Paging(page.total, page.offset, page.limit),
            "query": query,
            "errors": said(errors, viewer.locale),
            "tasks": tasks,
            "run_states": RUN_STATES,
            "kinds": kind_titles(viewer.locale),
        },
        viewer=viewer,
        current="runs",
        notices=NOTICES,
    )


def _ledger_context(
    request: Request, viewer: Viewer, app: ConsoleDep, run_id: int
) -> dict[str, object]:
    wanted = request.query_params.get("state", "")
    state = DeliveryState(wanted) if wanted in DELIVERY_STATES else None
    offset = _offset(request.query_params.get("offset"))
    with app.transaction() as session:
        ledger = run_admin.ledger_for(
            session,
            viewer.principal,
            run_id,
            state=state,
            offset=offset,
            limit=LEDGER_PAGE_SIZE,
        )
    return {
        "ledger": ledger,
        "run": ledger.run,
        "counts": {state.value: count for state, count in ledger.counts.items()},
        "paging": Paging(ledger.matching, ledger.offset, ledger.limit),
        "state_filter": state.value if state else "",
        "states": DELIVERY_STATES,
        "run_states": RUN_STATES,
        "kinds": kind_titles(viewer.locale),
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/runs/{run_id}")
def show_run(request: Request, viewer: ViewerDep, app: ConsoleDep, run_id: int) -> Response:
    return render(
        request,
        "runs/show.html",
        _ledger_context(request, viewer, app, run_id),
        viewer=viewer,
        current="runs",
        notices=NOTICES,
    )


@router.get("/runs/{run_id}/ledger")
def run_ledger(request: Request, viewer: ViewerDep, app: ConsoleDep, run_id: int) -> Response:
    """The ledger part of a run's page alone: what htmx asks for while the run is live."""
    return render(
        request,
        "runs/_ledger.html",
        _ledger_context(request, viewer, app, run_id),
        viewer=viewer,
        current="runs",
    )


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(
    request: Request, viewer: ViewerDep, app: ConsoleDep, delivery_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        run_id = run_admin.retry_for(session, viewer.principal, delivery_id, now=app.now())
    resend(app, [delivery_id])
    return see_other(f"/runs/{run_id}", notice="retried")
