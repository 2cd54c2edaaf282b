"""Roles through the API: the caller's User Rights, the "equal or lesser" rule, immutability."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.authz import (
    Caller,
    Forbidden,
    can_change_roles,
    can_read_roles,
    require_lesser_or_equal,
)
from service.api.role_io import (
    RoleBody,
    RoleSpec,
    Selection,
    apply_body,
    check_references,
    role_to_api,
    spec_of,
)
from service.directory import audit
from service.directory.accounts import create_role
from service.directory.rights import NEW_ROLE_DEFAULTS
from service.errors import InvalidInput, NotFound
from storage.models import Role, RoleComputer, RoleComputerGroup, RolePolicy
from storage.records import RoleRecord, role_record


def _get(session: Session, account_id: int, role_id: int) -> Role:
    role = session.scalars(
        select(Role).where(Role.account_id == account_id, Role.id == role_id)
    ).one_or_none()
    if role is None:
        raise NotFound(f"no role with ID {role_id}")
    return role


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON as ``{"rights.platformRights.contactRights.canViewContacts": true, ...}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _audit_view(record: RoleRecord) -> dict[str, Any]:
    view = role_to_api(record)
    view.pop("rights")  # the same rights as userRights, otherRights and the columns below
    view.update({f"rights.{k}": v for k, v in record.rights.items() if k != "other_rights"})
    return flatten(view)


def list_for(session: Session, caller: Caller) -> list[dict[str, Any]]:
    can_read_roles(caller)
    roles = session.scalars(
        select(Role).where(Role.account_id == caller.account_id).order_by(Role.id)
    )
    return [role_to_api(role_record(r)) for r in roles]


def get_for(session: Session, caller: Caller, role_id: int) -> dict[str, Any]:
    can_read_roles(caller)
    return role_to_api(role_record(_get(session, caller.account_id, role_id)))


def _set_selection(role: Role, selection: Selection) -> None:
    role.computers = [RoleComputer(computer_id=i) for i in sorted(selection.computer_ids)]
    role.computer_groups = [
        RoleComputerGroup(group_id=i) for i in sorted(selection.computer_group_ids)
    ]
    role.policies = [RolePolicy(policy_id=i) for i in sorted(selection.policy_ids)]


def create_for(session: Session, caller: Caller, body: RoleBody) -> dict[str, Any]:
    can_change_roles(caller, "can_create_new_roles", "creating roles")
    if not body.name:
        raise InvalidInput("name: required")
    if body.immutable:
        raise InvalidInput("immutable: only the preconfigured roles are immutable")
    spec = apply_body(body, RoleSpec(rights=NEW_ROLE_DEFAULTS, selection=Selection()))
    check_references(session, caller.account_id, spec)
    require_lesser_or_equal(session, caller, spec, "the new role")
    role = create_role(
        session,
        account_id=caller.account_id,
        name=body.name,
        description=body.description or "",
        rights=spec.rights,
    )
    role.urn = body.urn or ""
    _set_selection(role, spec.selection)
    session.flush()
    session.refresh(role)
    record = role_record(role)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.role_created,
        description=audit.describe_values(
            f"role {role.name!r} (ID {role.id})", _audit_view(record)
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return role_to_api(record)


def modify_for(session: Session, caller: Caller, role_id: int, body: RoleBody) -> dict[str, Any]:
    role = _get(session, caller.account_id, role_id)
    can_change_roles(caller, "can_edit_role_properties", "changing roles")
    if role.immutable:
        raise Forbidden(f"role {role.name!r} is immutable and cannot be changed")
    if body.immutable:
        raise InvalidInput("immutable: only the preconfigured roles are immutable")
    before = role_record(role)
    require_lesser_or_equal(session, caller, spec_of(before), "the role")
    spec = apply_body(body, spec_of(before))
    check_references(session, caller.account_id, spec)
    require_lesser_or_equal(session, caller, spec, "the changed role")
    if body.name is not None and body.name.strip() != role.name:
        name = body.name.strip()
        taken = select(Role.id).where(Role.account_id == caller.account_id, Role.name == name)
        if not name or session.scalars(taken).first() is not None:
            raise InvalidInput(f"name: {name!r} is empty or already taken in this account")
        role.name = name
    if body.description is not None:
        role.description = body.description
    if body.urn is not None:
        role.urn = body.urn
    for column, value in spec.rights.as_columns().items():
        setattr(role, column, value)
    _set_selection(role, spec.selection)
    session.flush()
    session.refresh(role)
    after = role_record(role)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.role_updated,
        description=audit.describe_changes(
            f"role {role.name!r} (ID {role.id})", _audit_view(before), _audit_view(after)
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return role_to_api(after)


def delete_for(session: Session, caller: Caller, role_id: int) -> None:
    role = _get(session, caller.account_id, role_id)
    can_change_roles(caller, "can_delete_roles", "deleting roles")
    if role.immutable:
        raise Forbidden(f"role {role.name!r} is immutable and cannot be deleted")
    require_lesser_or_equal(session, caller, spec_of(role_record(role)), "the role")
    name = role.name
    session.delete(role)
    session.flush()
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.role_deleted,
        description=f"role {name!r} (ID {role_id})",
        actor=caller.actor,
        origin=caller.origin,
    )
