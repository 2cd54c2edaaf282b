"""Scheduled tasks: the list with each task's next run on its own clock; create and edit with
the console's recurrences, report and recipients; enable, disable, run now; the history.

Every rule is ``service.scheduling.task_admin``'s (the API's ``/scheduledtasks`` too):
``scheduledTaskRights`` view-only shows the pages, full allows changes and runs. While a
schedule is edited its next occurrences are shown: htmx asks for them again as the schedule's
fields change, and a "Show the next runs" button does the same without JavaScript.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.console import labels
from service.console.choices import zone_options
from service.console.i18n import N_
from service.console.pages.contacts import Paging
from service.console.recipient_choices import recipient_choices
from service.console.report_form import (
    CLASSIFICATIONS,
    COMPUTER_FILTERS,
    FORMATS,
    TAG_FILTERS,
    UNITS,
    browsing_contacts,
    kind_options,
    options,
    said,
)
from service.console.running import start_runs
from service.console.schedule_form import (
    DAILY,
    MONTHLY,
    RECURRENCES,
    WEEKS_OF_MONTH,
    ScheduleForm,
    Upcoming,
    day_names,
    first_start,
    minutes_options,
    month_names,
    summarize,
    upcoming,
)
from service.console.task_form import TaskForm
from service.console.web import ConsoleDep, FormDep, Viewer, ViewerDep, render, see_other, text
from service.delivery import run_admin
from service.delivery.run_admin import RunFilter
from service.directory.role_admin import Choice, SelectionChoices
from service.errors import InvalidInput
from service.scheduling import task_admin
from service.scheduling.scheduler import TaskView
from service.scheduling.task_schema import ScheduleDetails

router = APIRouter()

#: Tasks per page of the list; occurrences shown in a task's history; its latest runs.
PAGE_SIZE = 25
HISTORY_ROWS = 20
LATEST_RUNS = 10
NOTICES = {
    "created": N_("The task was created."),
    "saved": N_("The task was saved."),
    "enabled": N_("The task is enabled: it runs on its schedule."),
    "disabled": N_("The task is disabled: it does not run until it is enabled again."),
    "ran": N_("The task ran now, but its run was refused: its history says why."),
    "deleted": N_("The task was deleted."),
}


def _offset(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else 0


def _details(task: TaskView) -> ScheduleDetails | None:
    return task.schedule  # None: stored before its zone or rule became invalid, shown as it is


@router.get("/tasks")
def task_list(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    search = request.query_params.get("q", "").strip()[:200]
    offset = _offset(request.query_params.get("offset"))
    with app.transaction() as session:
        page = task_admin.page_for(
            session, viewer.principal, search=search, offset=offset, limit=PAGE_SIZE
        )
    rows = []
    for task in page.tasks:
        details = _details(task)
        rows.append(
            {
                "task": task,
                "summary": summarize(details, viewer.locale) if details else None,
                "next_run": labels.in_zone(
                    task.next_run, details.time_zone if details else "UTC", viewer.locale
                ),
                "broken_since": labels.in_zone(
                    task.broken_since, details.time_zone if details else "UTC", viewer.locale
                ),
                "kind": task.parameters.get("reportTemplateID"),
            }
        )
    return render(
        request,
        "tasks/list.html",
        {
            "rows": rows,
            "paging": Paging(page.total, page.offset, page.limit),
            "search": search,
            "may_change": task_admin.may_change(viewer.principal),
            "kinds": dict(kind_options(labels.kind_titles(viewer.locale))),
            **_schedule_words(),
        },
        viewer=viewer,
        current="tasks",
        notices=NOTICES,
    )


def _schedule_words() -> dict[str, Any]:
    return {
        "recurrences": RECURRENCES,
        "dailies": DAILY,
        "monthlies": MONTHLY,
        "weeks_of_month": WEEKS_OF_MONTH,
    }


def _form_page(
    request: Request,
    viewer: Viewer,
    app: ConsoleDep,
    form: TaskForm,
    *,
    task: TaskView | None,
    status: int = 200,
    shown: Upcoming | None = None,
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
        "tasks/form.html",
        {
            "task": task,
            "form": form,
            "errors": said(form.errors, viewer.locale),
            "upcoming": shown or upcoming(form.schedule, now=app.now(), locale=viewer.locale),
            **report_choices(viewer, targets),
            "recipients": choices,
            "zones": zone_options(form.schedule.time_zone),
            "days": day_names(viewer.locale),
            "months": month_names(viewer.locale),
            "minutes": minutes_options(),
            "misfire_options": options(labels.MISFIRE_POLICIES, viewer.locale),
            "recurrence_options": options(RECURRENCES, viewer.locale),
            "daily_options": options(DAILY, viewer.locale),
            "monthly_options": options(MONTHLY, viewer.locale),
            "week_options": options(WEEKS_OF_MONTH, viewer.locale),
        },
        viewer=viewer,
        status=status,
        current="tasks",
    )


def report_choices(viewer: Viewer, targets: SelectionChoices | None) -> dict[str, Any]:
    """What the report part of a form offers, in the viewer's language (shared with sending
    now and the preview)."""
    locale = viewer.locale
    return {
        "kinds": kind_options(labels.kind_titles(locale)),
        "formats": options(FORMATS, locale),
        "classifications": options(CLASSIFICATIONS, locale),
        "units": options(UNITS, locale),
        "computer_filters": options(COMPUTER_FILTERS, locale),
        "tag_filters": options(TAG_FILTERS, locale),
        "group_options": _choices(targets.groups if targets else []),
        "policy_options": _choices(targets.policies if targets else []),
        "computer_options": _choices(targets.computers if targets else []),
        "folder_options": _choices(targets.folders if targets else []),
    }


def _choices(found: list[Choice]) -> list[tuple[str, str]]:
    """(ID, name) options, a tree's depth shown by indenting with non-breaking spaces."""
    return [(str(c.id), "\u00a0\u00a0" * c.depth + c.name) for c in found]


@router.get("/tasks/new")
def new_task(request: Request, viewer: ViewerDep, app: ConsoleDep) -> Response:
    task_admin.require_change(viewer.principal)
    form = TaskForm(schedule=ScheduleForm(time_zone=viewer.me.time_zone))
    form.schedule.start = first_start(app.now(), form.schedule.zone)
    return _form_page(request, viewer, app, form, task=None)


def _save(
    request: Request,
    viewer: Viewer,
    app: ConsoleDep,
    posted: Any,
    *,
    task: TaskView | None,
) -> Response:
    """Create or modify from the posted form; or, for "Show the next runs", the form again."""
    form = TaskForm.posted(posted)
    if text(posted, "action") == "preview" or browsing_contacts(posted):
        return _form_page(request, viewer, app, form, task=task)
    form.errors.update(form.unreadable())
    if form.errors:
        return _form_page(request, viewer, app, form, task=task, status=422)
    try:
        body = form.body()
        with app.transaction() as session:
            if task is None:
                outcome = task_admin.create_for(session, viewer.principal, body, now=app.now())
            else:
                outcome = task_admin.modify_for(
                    session, viewer.principal, task.id, body, now=app.now()
                )
    except InvalidInput as error:
        return _form_page(request, viewer, app, form.refused(error), task=task, status=422)
    start_runs(app, outcome.run_ids)
    task_id = outcome.task["ID"]
    return see_other(f"/tasks/{task_id}", notice="created" if task is None else "saved")


@router.post("/tasks")
def create_task(request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep) -> Response:
    task_admin.require_change(viewer.principal)
    return _save(request, viewer, app, posted, task=None)


@router.post("/tasks/occurrences")
def next_occurrences(
    request: Request, viewer: ViewerDep, app: ConsoleDep, posted: FormDep
) -> Response:
    """The next runs of the posted schedule alone (htmx, as the schedule's fields change)."""
    shown = upcoming(ScheduleForm.posted(posted), now=app.now(), locale=viewer.locale)
    return render(
        request, "tasks/_occurrences.html", {"upcoming": shown}, viewer=viewer, current="tasks"
    )


@router.get("/tasks/{task_id}")
def show_task(request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int) -> Response:
    with app.transaction() as session:
        task = task_admin.view_for(session, viewer.principal, task_id)
        history = task_admin.history_for(session, viewer.principal, task_id, limit=HISTORY_ROWS)
        runs = run_admin.runs_page_for(
            session, viewer.principal, RunFilter(task_id=task_id), limit=LATEST_RUNS
        )
        details = _details(task)
        form = TaskForm.of(task) if details else None
        chosen = form.recipients.contact_ids if form else []
        choices = recipient_choices(session, viewer.principal, chosen_contacts=chosen)
    zone = details.time_zone if details else "UTC"
    return render(
        request,
        "tasks/show.html",
        {
            "task": task,
            "form": form,
            "summary": summarize(details, viewer.locale) if details else None,
            "next_run": labels.in_zone(task.next_run, zone, viewer.locale),
            "last_run": labels.in_zone(task.last_run_time, zone, viewer.locale),
            "broken_since": labels.in_zone(task.broken_since, zone, viewer.locale),
            "upcoming": upcoming(form.schedule, now=app.now(), locale=viewer.locale)
            if form
            else None,
            "history": [
                {
                    "occurrence": labels.in_zone(o.occurrence, zone, viewer.locale),
                    "outcome": o.outcome.value,
                    "run_id": o.run_id,
                    "reason": o.reason,
                }
                for o in history
            ],
            "runs": runs.runs,
            "run_count": runs.total,
            "may_change": task_admin.may_change(viewer.principal),
            "outcomes": labels.OUTCOMES,
            "misfire_policies": labels.MISFIRE_POLICIES,
            "people": choices.names(),
            "titles": labels.kind_titles(viewer.locale),
            **report_choices(viewer, None),
            **_schedule_words(),
        },
        viewer=viewer,
        current="tasks",
        notices=NOTICES,
    )


@router.get("/tasks/{task_id}/edit")
def edit_task(request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int) -> Response:
    task_admin.require_change(viewer.principal)
    with app.transaction() as session:
        task = task_admin.view_for(session, viewer.principal, task_id)
    return _form_page(request, viewer, app, TaskForm.of(task), task=task)


@router.post("/tasks/{task_id}")
def save_task(
    request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int, posted: FormDep
) -> Response:
    task_admin.require_change(viewer.principal)
    with app.transaction() as session:
        task = task_admin.view_for(session, viewer.principal, task_id)
    return _save(request, viewer, app, posted, task=task)


def _switch(app: ConsoleDep, viewer: Viewer, task_id: int, enabled: bool) -> None:
    with app.transaction() as session:
        task_admin.set_enabled_for(session, viewer.principal, task_id, enabled, now=app.now())


@router.post("/tasks/{task_id}/enable")
def enable_task(
    request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int, posted: FormDep
) -> Response:
    _switch(app, viewer, task_id, True)
    return see_other(f"/tasks/{task_id}", notice="enabled")


@router.post("/tasks/{task_id}/disable")
def disable_task(
    request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int, posted: FormDep
) -> Response:
    _switch(app, viewer, task_id, False)
    return see_other(f"/tasks/{task_id}", notice="disabled")


@router.post("/tasks/{task_id}/run")
def run_task(
    request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int, posted: FormDep
) -> Response:
    with app.transaction() as session:
        outcome = task_admin.run_now_for(session, viewer.principal, task_id, now=app.now())
    started = start_runs(app, outcome.run_ids)
    if outcome.run_ids:
        notice = "started" if started else "queued"
        return see_other(f"/runs/{outcome.run_ids[0]}", notice=notice)
    return see_other(f"/tasks/{task_id}", notice="ran")


@router.get("/tasks/{task_id}/delete")
def confirm_delete(request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int) -> Response:
    """The confirmation (a page and a form POST: it works without JavaScript)."""
    task_admin.require_change(viewer.principal)
    with app.transaction() as session:
        task = task_admin.view_for(session, viewer.principal, task_id)
    return render(request, "tasks/delete.html", {"task": task}, viewer=viewer, current="tasks")


@router.post("/tasks/{task_id}/delete")
def delete_task(
    request: Request, viewer: ViewerDep, app: ConsoleDep, task_id: int, posted: FormDep
) -> Response:
    """``task_admin.delete_for``, as the API's DELETE: its right, its audit event."""
    with app.transaction() as session:
        task_admin.delete_for(session, viewer.principal, task_id, now=app.now())
    return see_other("/tasks", notice="deleted")
