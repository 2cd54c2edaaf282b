"""``/scheduledtasks``: list, create, describe, modify (POST, ``runNow`` runs it), delete, search.

Only ``generate-report`` tasks; runs a task fires are handed to the workers after the commit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api.auth import CallerDep, Services, ServicesDep
from service.api.schemas import Out, PathID, SdkRouter
from service.api.search import SearchFilter, search
from service.scheduling import task_admin
from service.scheduling.task_admin import Outcome, ScheduledTaskBody

router = SdkRouter(tags=["Scheduled Tasks"])
# SdkRouter's default does not reach routes made with its decorators (FastAPI passes the
# argument explicitly), so each route here says it: no nulls, as the console answers.


class ScheduledTaskOut(Out):
    ID: int
    name: str
    type: str
    enabled: bool
    runNow: bool | None = None
    lastRunTime: int | None = None
    nextRunTime: int | None = None
    scheduleDetails: dict[str, Any]
    generateReportTaskParameters: dict[str, Any]
    misfirePolicy: str | None = None
    #: reportd's: why the task cannot fire, and since when (epoch ms); only when broken.
    brokenReason: str | None = None
    brokenSince: int | None = None


class ScheduledTasksOut(Out):
    scheduledTasks: list[ScheduledTaskOut]


def _started(deps: Services, outcome: Outcome) -> dict[str, Any]:
    """Hand the committed runs to the workers; the task as answered."""
    if deps.dispatcher is not None and outcome.run_ids:
        deps.dispatcher.start_runs(outcome.run_ids)
    return outcome.task


@router.get(
    "/scheduledtasks",
    response_model=ScheduledTasksOut,
    response_model_exclude_none=True,
    summary="List Scheduled Tasks",
)
def list_scheduled_tasks(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"scheduledTasks": task_admin.list_for(session, caller)}


@router.post(
    "/scheduledtasks",
    response_model=ScheduledTaskOut,
    response_model_exclude_none=True,
    summary="Create a Scheduled Task",
)
def create_scheduled_task(
    caller: CallerDep, deps: ServicesDep, body: ScheduledTaskBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        outcome = task_admin.create_for(session, caller, body, now=deps.clock())
    return _started(deps, outcome)


@router.post(
    "/scheduledtasks/search",
    response_model=ScheduledTasksOut,
    response_model_exclude_none=True,
    summary="Search Scheduled Tasks",
)
def search_scheduled_tasks(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"scheduledTasks": search(task_admin.list_for(session, caller), search_filter)}


@router.get(
    "/scheduledtasks/{scheduledTaskID}",
    response_model=ScheduledTaskOut,
    response_model_exclude_none=True,
    summary="Describe a Scheduled Task",
)
def describe_scheduled_task(
    caller: CallerDep, deps: ServicesDep, scheduledTaskID: PathID
) -> dict[str, Any]:
    with deps.transaction() as session:
        return task_admin.get_for(session, caller, scheduledTaskID)


@router.post(
    "/scheduledtasks/{scheduledTaskID}",
    response_model=ScheduledTaskOut,
    response_model_exclude_none=True,
    summary="Modify a Scheduled Task",
    description="Given fields replace the stored ones; `runNow: true` runs the task now.",
)
def modify_scheduled_task(
    caller: CallerDep, deps: ServicesDep, scheduledTaskID: PathID, body: ScheduledTaskBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        outcome = task_admin.modify_for(session, caller, scheduledTaskID, body, now=deps.clock())
    return _started(deps, outcome)


@router.delete(
    "/scheduledtasks/{scheduledTaskID}", status_code=204, summary="Delete a Scheduled Task"
)
def delete_scheduled_task(
    caller: CallerDep, deps: ServicesDep, scheduledTaskID: PathID
) -> Response:
    with deps.transaction() as session:
        task_admin.delete_for(session, caller, scheduledTaskID, now=deps.clock())
    return Response(status_code=204)
