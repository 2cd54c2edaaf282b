"""Roles through the API: the SDK's ``Role`` body in, its JSON out.

The rules (User Rights, the "equal or lesser" rule, immutability, the audit trail) are
``service.directory.role_admin``'s, which the console calls too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.api.authz import Caller, can_change_roles
from service.api.role_io import RoleBody, RoleSpec, Selection, apply_body, role_to_api
from service.directory import role_admin as roles
from service.directory.rights import NEW_ROLE_DEFAULTS
from service.errors import InvalidInput


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [role_to_api(record) for record in roles.list_for(session, caller)]


def get_for(session: Session, caller: Caller, role_id: int) -> dict[str, Any]:
    return role_to_api(roles.get_for(session, caller, role_id))


def _not_immutable(body: RoleBody) -> None:
    if body.immutable:
        raise InvalidInput("immutable: only the preconfigured roles are immutable")


def create_for(session: Session, caller: Caller, body: RoleBody) -> dict[str, Any]:
    can_change_roles(caller, "can_create_new_roles", "creating roles")
    if not body.name:
        raise InvalidInput("name: required")
    _not_immutable(body)
    spec = apply_body(body, RoleSpec(rights=NEW_ROLE_DEFAULTS, selection=Selection()))
    record = roles.create_for(
        session,
        caller,
        name=body.name,
        spec=spec,
        description=body.description or "",
        urn=body.urn or "",
    )
    return role_to_api(record)


def modify_for(session: Session, caller: Caller, role_id: int, body: RoleBody) -> dict[str, Any]:
    def change(current: RoleSpec) -> RoleSpec:
        _not_immutable(body)  # after the gates, as before the rules moved down
        return apply_body(body, current)

    record = roles.modify_for(
        session,
        caller,
        role_id,
        change=change,
        name=body.name,
        description=body.description,
        urn=body.urn,
    )
    return role_to_api(record)


def delete_for(session: Session, caller: Caller, role_id: int) -> None:
    roles.delete_for(session, caller, role_id)
