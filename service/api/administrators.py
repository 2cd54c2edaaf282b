"""``/administrators``: list, create, describe, modify (POST), delete, search (the SDK's)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Body, Response

from service.api import administrator_admin
from service.api.administrator_admin import AdministratorBody
from service.api.auth import CallerDep, ServicesDep
from service.api.schemas import AdministratorOut, AdministratorsOut, PathID, SdkRouter
from service.api.search import SearchFilter, search
from service.errors import ReportdError

log = logging.getLogger(__name__)

router = SdkRouter(tags=["Administrators"])


@router.get(
    "/administrators",
    response_model=AdministratorsOut,
    summary="List Administrators",
    response_model_exclude_none=True,
)
def list_administrators(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"administrators": administrator_admin.list_for(session, caller)}


@router.post(
    "/administrators",
    response_model=AdministratorOut,
    summary="Create an Administrator",
    response_model_exclude_none=True,
)
def create_administrator(
    caller: CallerDep, deps: ServicesDep, body: AdministratorBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        created = administrator_admin.create_for(
            session, caller, body, box=deps.box, now=deps.clock()
        )
    # After the commit: the user and the token exist whether or not the mail goes out.
    try:
        with deps.sessions() as session:
            administrator_admin.send_invitation(
                session, deps.invitations, created, caller.account_id
            )
    except (ReportdError, OSError) as error:
        log.warning("set-password mail to user %s not sent: %s", created.member.id, error)
    return created.answer


@router.post(
    "/administrators/search",
    response_model=AdministratorsOut,
    summary="Search Administrators",
    response_model_exclude_none=True,
)
def search_administrators(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        found = search(administrator_admin.list_for(session, caller), search_filter)
        return {"administrators": found}


@router.get(
    "/administrators/{administratorID}",
    response_model=AdministratorOut,
    summary="Describe an Administrator",
    response_model_exclude_none=True,
)
def describe_administrator(
    caller: CallerDep, deps: ServicesDep, administratorID: PathID
) -> dict[str, Any]:
    with deps.transaction() as session:
        return administrator_admin.get_for(session, caller, administratorID)


@router.post(
    "/administrators/{administratorID}",
    response_model=AdministratorOut,
    summary="Modify an Administrator",
    response_model_exclude_none=True,
)
def modify_administrator(
    caller: CallerDep, deps: ServicesDep, administratorID: PathID, body: AdministratorBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return administrator_admin.modify_for(
            session, caller, administratorID, body, box=deps.box, now=deps.clock()
        )


@router.delete(
    "/administrators/{administratorID}", status_code=204, summary="Delete an Administrator"
)
def delete_administrator(caller: CallerDep, deps: ServicesDep, administratorID: PathID) -> Response:
    with deps.transaction() as session:
        administrator_admin.delete_for(session, caller, administratorID, now=deps.clock())
    return Response(status_code=204)
