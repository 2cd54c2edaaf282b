"""``/contacts``: list, create, describe, modify (POST), delete, search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api import contact_admin
from service.api.auth import CallerDep, ServicesDep
from service.api.contact_admin import ContactBody
from service.api.schemas import ContactOut, ContactsOut, PathID, SdkRouter
from service.api.search import SearchFilter, search

router = SdkRouter(tags=["Contacts"])


@router.get("/contacts", response_model=ContactsOut, summary="List Contacts")
def list_contacts(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"contacts": contact_admin.list_for(session, caller)}


@router.post("/contacts", response_model=ContactOut, summary="Create a Contact")
def create_contact(caller: CallerDep, deps: ServicesDep, body: ContactBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return contact_admin.create_for(session, caller, body, box=deps.box)


@router.post("/contacts/search", response_model=ContactsOut, summary="Search Contacts")
def search_contacts(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"contacts": search(contact_admin.list_for(session, caller), search_filter)}


@router.get("/contacts/{contactID}", response_model=ContactOut, summary="Describe a Contact")
def describe_contact(caller: CallerDep, deps: ServicesDep, contactID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return contact_admin.get_for(session, caller, contactID)


@router.post("/contacts/{contactID}", response_model=ContactOut, summary="Modify a Contact")
def modify_contact(
    caller: CallerDep, deps: ServicesDep, contactID: PathID, body: ContactBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return contact_admin.modify_for(session, caller, contactID, body, box=deps.box)


@router.delete("/contacts/{contactID}", status_code=204, summary="Delete a Contact")
def delete_contact(caller: CallerDep, deps: ServicesDep, contactID: PathID) -> Response:
    with deps.transaction() as session:
        contact_admin.delete_for(session, caller, contactID)
    return Response(status_code=204)
