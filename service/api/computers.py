"""``/computers``, ``/computergroups``, ``/policies``: read as the clearance shows them; create,
modify (POST) and delete within the role's own selection (``inventory_admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api import inventory, inventory_admin
from service.api.auth import CallerDep, ServicesDep
from service.api.inventory_admin import ComputerBody, ComputerGroupBody, PolicyBody
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


# --- writes -------------------------------------------------------------------------------


@router.post(
    "/computers", response_model=ComputerOut, tags=["Computers"], summary="Create a Computer"
)
def create_computer(caller: CallerDep, deps: ServicesDep, body: ComputerBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.create_computer(session, caller, body)


@router.post(
    "/computers/{computerID}",
    response_model=ComputerOut,
    tags=["Computers"],
    summary="Modify a Computer",
)
def modify_computer(
    caller: CallerDep, deps: ServicesDep, computerID: PathID, body: ComputerBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.modify_computer(session, caller, computerID, body)


@router.delete(
    "/computers/{computerID}", status_code=204, tags=["Computers"], summary="Delete a Computer"
)
def delete_computer(caller: CallerDep, deps: ServicesDep, computerID: PathID) -> Response:
    with deps.transaction() as session:
        inventory_admin.delete_computer(session, caller, computerID)
    return Response(status_code=204)


@router.post(
    "/computergroups",
    response_model=ComputerGroupOut,
    tags=["Computer Groups"],
    summary="Create a Computer Group",
)
def create_computer_group(
    caller: CallerDep, deps: ServicesDep, body: ComputerGroupBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.create_group(session, caller, body)


@router.post(
    "/computergroups/{computerGroupID}",
    response_model=ComputerGroupOut,
    tags=["Computer Groups"],
    summary="Modify a Computer Group",
)
def modify_computer_group(
    caller: CallerDep, deps: ServicesDep, computerGroupID: PathID, body: ComputerGroupBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.modify_group(session, caller, computerGroupID, body)


@router.delete(
    "/computergroups/{computerGroupID}",
    status_code=204,
    tags=["Computer Groups"],
    summary="Delete a Computer Group",
)
def delete_computer_group(
    caller: CallerDep, deps: ServicesDep, computerGroupID: PathID
) -> Response:
    with deps.transaction() as session:
        inventory_admin.delete_group(session, caller, computerGroupID)
    return Response(status_code=204)


@router.post("/policies", response_model=PolicyOut, tags=["Policies"], summary="Create a Policy")
def create_policy(caller: CallerDep, deps: ServicesDep, body: PolicyBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.create_policy(session, caller, body)


@router.post(
    "/policies/{policyID}", response_model=PolicyOut, tags=["Policies"], summary="Modify a Policy"
)
def modify_policy(
    caller: CallerDep, deps: ServicesDep, policyID: PathID, body: PolicyBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return inventory_admin.modify_policy(session, caller, policyID, body)


@router.delete(
    "/policies/{policyID}", status_code=204, tags=["Policies"], summary="Delete a Policy"
)
def delete_policy(caller: CallerDep, deps: ServicesDep, policyID: PathID) -> Response:
    with deps.transaction() as session:
        inventory_admin.delete_policy(session, caller, policyID)
    return Response(status_code=204)
