"""``/apikeys``: the keys, the current key, and replacing secrets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Response

from service.api import keys
from service.api.auth import CallerDep, ServicesDep
from service.api.keys import ApiKeyBody
from service.api.schemas import ApiKeyOut, ApiKeysOut, PathID, SdkRouter
from service.api.search import SearchFilter, search

router = SdkRouter(tags=["API Keys"])


@router.get("/apikeys", response_model=ApiKeysOut, summary="List API Keys")
def list_api_keys(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"apiKeys": keys.list_for(session, caller)}


@router.post("/apikeys", response_model=ApiKeyOut, summary="Create an API Key")
def create_api_key(caller: CallerDep, deps: ServicesDep, body: ApiKeyBody) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.create_for(session, caller, body)


@router.post("/apikeys/search", response_model=ApiKeysOut, summary="Search API Keys")
def search_api_keys(
    caller: CallerDep,
    deps: ServicesDep,
    search_filter: Annotated[SearchFilter | None, Body()] = None,
) -> dict[str, Any]:
    with deps.transaction() as session:
        return {"apiKeys": search(keys.list_for(session, caller), search_filter)}


@router.get("/apikeys/current", response_model=ApiKeyOut, summary="Describe the Current API Key")
def describe_current_api_key(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.get_for(session, caller, caller.key_id)


@router.post("/apikeys/current", response_model=ApiKeyOut, summary="Modify the Current API Key")
def modify_current_api_key(
    caller: CallerDep, deps: ServicesDep, body: ApiKeyBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.modify_for(session, caller, caller.key_id, body, current=True)


@router.post(
    "/apikeys/current/secretkey",
    response_model=ApiKeyOut,
    summary="Generate a New Secret Key for the Current API Key",
)
def replace_current_api_secret_key(caller: CallerDep, deps: ServicesDep) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.replace_secret_for(session, caller, caller.key_id, current=True)


@router.get("/apikeys/{apiKeyID}", response_model=ApiKeyOut, summary="Describe an API Key")
def describe_api_key(caller: CallerDep, deps: ServicesDep, apiKeyID: PathID) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.get_for(session, caller, apiKeyID)


@router.post("/apikeys/{apiKeyID}", response_model=ApiKeyOut, summary="Modify an API Key")
def modify_api_key(
    caller: CallerDep, deps: ServicesDep, apiKeyID: PathID, body: ApiKeyBody
) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.modify_for(session, caller, apiKeyID, body)


@router.post(
    "/apikeys/{apiKeyID}/secretkey",
    response_model=ApiKeyOut,
    summary="Generate a New Secret Key for an API Key",
)
def replace_api_secret_key(
    caller: CallerDep, deps: ServicesDep, apiKeyID: PathID
) -> dict[str, Any]:
    with deps.transaction() as session:
        return keys.replace_secret_for(session, caller, apiKeyID)


@router.delete("/apikeys/{apiKeyID}", status_code=204, summary="Delete an API Key")
def delete_api_key(caller: CallerDep, deps: ServicesDep, apiKeyID: PathID) -> Response:
    with deps.transaction() as session:
        keys.delete_for(session, caller, apiKeyID)
    return Response(status_code=204)
