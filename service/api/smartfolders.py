"""``/smartfolders``: list, create, describe, modify (POST), delete, search.

reportd's own: the official SDK (``deepsecurity``) has no smart folder model, so clients call
these with plain HTTP. A folder is ``{"ID", "name", "description", "criteria"}``
(``storage.criteria``); the rules (rights, unique names, the criteria's group and policy of
the account) are ``service.directory.smart_folders``'s, which the CLI calls too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api.auth import CallerDep, ServicesDep
from service.api.errors import IN_USE_RESPONSE
from service.api.schemas import Out, PathID, SdkRouter
from service.api.search import SearchFilter, search
from service.directory import smart_folders
from service.directory.smart_folders import SmartFolderBody

router = SdkRouter(tags=["Smart Folders"])


class SmartFolderOut(Out):
    ID: int
    name: str
    description: str
    criteria: dict[str, Any]


class SmartFoldersOut(Out):
    smartFolders: list[SmartFolderOut]


@router.get("/smartfolders", response_model=SmartFoldersOut, summary="List Smart Folders")
def list_smart_folders(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        folders = smart_folders.list_for(session, caller)
        return {"smartFolders": [smart_folders.to_api(f) for f in folders]}


@router.post("/smartfolders", response_model=SmartFolderOut, summary="Create a Smart Folder")
def create_smart_folder(
    caller: CallerDep, deps: ServicesDep, body: SmartFolderBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return smart_folders.to_api(smart_folders.create_for(session, caller, body))


@router.post("/smartfolders/search", response_model=SmartFoldersOut, summary="Search Smart Folders")
def search_smart_folders(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        folders = [smart_folders.to_api(f) for f in smart_folders.list_for(session, caller)]
        return {"smartFolders": search(folders, search_filter)}


@router.get(
    "/smartfolders/{smartFolderID}",
    response_model=SmartFolderOut,
    summary="Describe a Smart Folder",
)
def describe_smart_folder(
    caller: CallerDep, deps: ServicesDep, smartFolderID: PathID
) -> dict[str, Any]:
    with deps.transaction() as session:
        return smart_folders.to_api(smart_folders.get_for(session, caller, smartFolderID))


@router.post(
    "/smartfolders/{smartFolderID}",
    response_model=SmartFolderOut,
    summary="Modify a Smart Folder",
    description="Given fields replace the stored ones (`criteria` as a whole).",
)
def modify_smart_folder(
    caller: CallerDep, deps: ServicesDep, smartFolderID: PathID, body: SmartFolderBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        folder = smart_folders.modify_for(session, caller, smartFolderID, body)
        return smart_folders.to_api(folder)


@router.delete(
    "/smartfolders/{smartFolderID}",
    status_code=204,
    summary="Delete a Smart Folder",
    description="Refused with 409, naming them, while scheduled tasks report on the folder.",
    responses=IN_USE_RESPONSE,
)
def delete_smart_folder(caller: CallerDep, deps: ServicesDep, smartFolderID: PathID) -> Response:
    with deps.transaction() as session:
        smart_folders.delete_for(session, caller, smartFolderID)
    return Response(status_code=204)
