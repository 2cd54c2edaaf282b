"""``/roles``: list, create, describe, modify (POST), delete, search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api import role_admin
from service.api.auth import CallerDep, ServicesDep
from service.api.role_io import RoleBody
from service.api.schemas import PathID, RoleOut, RolesOut, SdkRouter
from service.api.search import SearchFilter, search

router = SdkRouter(tags=["Administrator Roles"])


@router.get("/roles", response_model=RolesOut, summary="List Roles")
def list_roles(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"roles": role_admin.list_for(session, caller)}


@router.post("/roles", response_model=RoleOut, summary="Create a Role")
def create_role(caller: CallerDep, deps: ServicesDep, body: RoleBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return role_admin.create_for(session, caller, body)


@router.post("/roles/search", response_model=RolesOut, summary="Search Roles")
def search_roles(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"roles": search(role_admin.list_for(session, caller), search_filter)}


@router.get("/roles/{roleID}", response_model=RoleOut, summary="Describe a Role")
def describe_role(caller: CallerDep, deps: ServicesDep, roleID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return role_admin.get_for(session, caller, roleID)


@router.post("/roles/{roleID}", response_model=RoleOut, summary="Modify a Role")
def modify_role(
    caller: CallerDep, deps: ServicesDep, roleID: PathID, body: RoleBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return role_admin.modify_for(session, caller, roleID, body)


@router.delete("/roles/{roleID}", status_code=204, summary="Delete a Role")
def delete_role(caller: CallerDep, deps: ServicesDep, roleID: PathID) -> Response:
    with deps.transaction() as session:
        role_admin.delete_for(session, caller, roleID)
    return Response(status_code=204)
