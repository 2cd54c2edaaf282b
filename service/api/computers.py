"""``/computers``, ``/computergroups``, ``/policies``: read-only, as the clearance shows them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body

from service.api import inventory
from service.api.auth import CallerDep, ServicesDep
from service.api.schemas import (
    ComputerGroupOut,
    ComputerGroupsOut,
    ComputerOut,
    ComputersOut,
    PathID,
    PoliciesOut,
    PolicyOut,
    SdkRouter,
)
from service.api.search import SearchFilter, search

router = SdkRouter()
SearchBody = Annotated[SearchFilter | None, Body()]


@router.get("/computers", response_model=ComputersOut, tags=["Computers"], summary="List Computers")
def list_computers(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"computers": inventory.list_computers(session, caller)}


@router.post(
    "/computers/search", response_model=ComputersOut, tags=["Computers"], summary="Search Computers"
)
def search_computers(
    caller: CallerDep, deps: ServicesDep, search_filter: SearchBody = None
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"computers": search(inventory.list_computers(session, caller), search_filter)}


@router.get(
    "/computers/{computerID}",
    response_model=ComputerOut,
    tags=["Computers"],
    summary="Describe a Computer",
)
def describe_computer(caller: CallerDep, deps: ServicesDep, computerID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory.get_computer(session, caller, computerID)


@router.get(
    "/computergroups",
    response_model=ComputerGroupsOut,
    tags=["Computer Groups"],
    summary="List Computer Groups",
)
def list_computer_groups(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"computerGroups": inventory.list_groups(session, caller)}


@router.post(
    "/computergroups/search",
    response_model=ComputerGroupsOut,
    tags=["Computer Groups"],
    summary="Search Computer Groups",
)
def search_computer_groups(
    caller: CallerDep, deps: ServicesDep, search_filter: SearchBody = None
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"computerGroups": search(inventory.list_groups(session, caller), search_filter)}


@router.get(
    "/computergroups/{computerGroupID}",
    response_model=ComputerGroupOut,
    tags=["Computer Groups"],
    summary="Describe a Computer Group",
)
def describe_computer_group(
    caller: CallerDep, deps: ServicesDep, computerGroupID: PathID
) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory.get_group(session, caller, computerGroupID)


@router.get("/policies", response_model=PoliciesOut, tags=["Policies"], summary="List Policies")
def list_policies(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"policies": inventory.list_policies(session, caller)}


@router.post(
    "/policies/search", response_model=PoliciesOut, tags=["Policies"], summary="Search Policies"
)
def search_policies(
    caller: CallerDep, deps: ServicesDep, search_filter: SearchBody = None
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"policies": search(inventory.list_policies(session, caller), search_filter)}


@router.get(
    "/policies/{policyID}", response_model=PolicyOut, tags=["Policies"], summary="Describe a Policy"
)
def describe_policy(caller: CallerDep, deps: ServicesDep, policyID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory.get_policy(session, caller, policyID)
