"""Roles changed by a principal: the caller's User Rights, the "equal or lesser" rule, immutability.

The API and the console both call these functions. A preconfigured role that is immutable
cannot be changed or deleted; a role (new, changed or deleted) must have no right beyond the
caller's; every selected computer, group and policy must exist in the account. Every change is
audited with the caller as actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.accounts import create_role
from service.directory.authz import (
    can_change_roles,
    can_read_roles,
    group_subtree,
    require_lesser_or_equal,
    within,
)
from service.directory.principal import Principal
from service.directory.role_specs import RoleSpec, Selection, check_references, spec_of
from service.errors import Forbidden, InvalidInput, NotFound
from service.fields import Description, Label, Name, check
from storage.models import (
    ComputerGroup,
    Policy,
    Role,
    RoleComputer,
    RoleComputerGroup,
    RolePolicy,
)
from storage.records import RoleRecord, role_record
from storage.scoped import Scope, permitted_computers, viewable_policy_ids
from storage.smart_folders import list_folders

#: What a change does to a role's rights and selection, given the role's current ones.
SpecChange = Callable[[RoleSpec], RoleSpec]


def _get(session: Session, account_id: int, role_id: int) -> Role:
    role = session.scalars(
        select(Role).where(Role.account_id == account_id, Role.id == role_id)
    ).one_or_none()
    if role is None:
        raise NotFound(f"no role with ID {role_id}")
    return role


def audit_view(record: RoleRecord) -> dict[str, Any]:
    """A role as the audit trail lists it: identity, every rights column, the selections."""
    view: dict[str, Any] = {
        "name": record.name,
        "description": record.description,
        "immutable": record.immutable,
    }
    for key, value in sorted(record.rights.items()):
        if key == "other_rights":
            view.update({f"other_rights.{k}": v for k, v in sorted(dict(value or {}).items())})
        else:
            view[key] = value
    view["computer_ids"] = sorted(record.computer_ids)
    view["computer_group_ids"] = sorted(record.computer_group_ids)
    view["policy_ids"] = sorted(record.policy_ids)
    return view


def list_for(session: Session, caller: Principal) -> list[RoleRecord]:
    can_read_roles(caller)
    roles = session.scalars(
        select(Role).where(Role.account_id == caller.account_id).order_by(Role.id)
    )
    return [role_record(r) for r in roles]


def get_for(session: Session, caller: Principal, role_id: int) -> RoleRecord:
    can_read_roles(caller)
    return role_record(_get(session, caller.account_id, role_id))


def may_create(caller: Principal) -> bool:
    """Whether the caller may create roles (for showing the button; the rule still decides)."""
    try:
        can_change_roles(caller, "can_create_new_roles", "creating roles")
    except Forbidden:
        return False
    return True


def may_change(session: Session, caller: Principal, record: RoleRecord) -> bool:
    """Whether the caller may edit ``record`` (not immutable, within the caller's rights)."""
    try:
        can_change_roles(caller, "can_edit_role_properties", "changing roles")
    except Forbidden:
        return False
    return not record.immutable and within(session, caller, spec_of(record))


def may_delete(session: Session, caller: Principal, record: RoleRecord) -> bool:
    try:
        can_change_roles(caller, "can_delete_roles", "deleting roles")
    except Forbidden:
        return False
    return not record.immutable and within(session, caller, spec_of(record))


@dataclass(frozen=True)
class Choice:
    """A group, computer or policy a role's selection can name; ``depth`` in its tree."""

    id: int
    name: str
    depth: int = 0
    detail: str = ""


@dataclass(frozen=True)
class SelectionChoices:
    """What the caller may put in a role's selection: only what their own clearance views."""

    groups: list[Choice]
    computers: list[Choice]
    policies: list[Choice]
    #: The account's smart folders, for a report's computer filter (never part of a role).
    folders: list[Choice] = field(default_factory=list)


def _tree(rows: list[tuple[int, int | None, str]], allowed: set[int]) -> list[Choice]:
    """``(id, parent, name)`` rows in tree order; a node whose parent is not shown is a root."""
    children: dict[int | None, list[tuple[int, str]]] = {}
    for node_id, parent, name in rows:
        if node_id in allowed:
            key = parent if parent in allowed else None
            children.setdefault(key, []).append((node_id, name))
    ordered: list[Choice] = []

    def walk(parent: int | None, depth: int) -> None:
        for node_id, name in sorted(children.get(parent, []), key=lambda c: (c[1], c[0])):
            ordered.append(Choice(node_id, name, depth))
            walk(node_id, depth + 1)

    walk(None, 0)
    return ordered


def selection_choices(session: Session, caller: Principal) -> SelectionChoices:
    """The groups, computers and policies the caller may put in a role's selection.

    Only what the caller's own role covers and views: everything when it covers all
    computers (policies), else its own selection with sub-groups (child policies); nothing
    when it may not view computers (policies) at all.
    """
    can_read_roles(caller)
    return viewable_choices(session, caller)


def viewable_choices(session: Session, caller: Principal) -> SelectionChoices:
    """The groups, computers and policies the caller's own clearance views (no gate of its
    own: the caller's gate decides, e.g. a report's computer filter in a task form)."""
    rights, mine, account = caller.rights, caller.spec.selection, caller.account_id
    groups: list[Choice] = []
    computers: list[Choice] = []
    folders: list[Choice] = []
    if rights.can_view_computers:
        computer_scope = (
            Scope(account_id=account, all_computers=True)
            if rights.all_computers
            else Scope(
                account_id=account,
                group_ids=mine.computer_group_ids,
                computer_ids=mine.computer_ids,
            )
        )
        rows = [
            (g.id, g.parent_group_id, g.name)
            for g in session.scalars(
                select(ComputerGroup).where(ComputerGroup.account_id == account)
            )
        ]
        allowed = (
            {row[0] for row in rows}
            if rights.all_computers
            else {
                cast(int, g)
                for g in session.scalars(group_subtree(account, mine.computer_group_ids))
            }
        )
        groups = _tree(rows, allowed)
        computers = [
            Choice(c.id, c.display_name or c.host_name, 0, c.group_path)
            for c in permitted_computers(session, computer_scope)
        ]
        folders = [Choice(f.id, f.name) for f in list_folders(session, account)]
    policies: list[Choice] = []
    if rights.can_view_policies:
        policy_scope = Scope(
            account_id=account, all_policies=rights.all_policies, policy_ids=mine.policy_ids
        )
        rows = [
            (p.id, p.parent_id, p.name)
            for p in session.scalars(select(Policy).where(Policy.account_id == account))
        ]
        policies = _tree(rows, set(session.scalars(viewable_policy_ids(policy_scope))))
    return SelectionChoices(groups=groups, computers=computers, policies=policies, folders=folders)


def _set_selection(role: Role, selection: Selection) -> None:
    role.computers = [RoleComputer(computer_id=i) for i in sorted(selection.computer_ids)]
    role.computer_groups = [
        RoleComputerGroup(group_id=i) for i in sorted(selection.computer_group_ids)
    ]
    role.policies = [RolePolicy(policy_id=i) for i in sorted(selection.policy_ids)]


def _name(session: Session, account_id: int, name: str, role_id: int | None = None) -> str:
    clean = str(check(Name, str(name or ""), "name"))
    taken = select(Role.id).where(Role.account_id == account_id, Role.name == clean)
    found = session.scalars(taken).first()
    if found is not None and found != role_id:
        raise InvalidInput(f"name: {clean!r} is already taken in this account")
    return clean


def create_for(
    session: Session,
    caller: Principal,
    *,
    name: str,
    spec: RoleSpec,
    description: str = "",
    urn: str = "",
) -> RoleRecord:
    """A new custom role; ``spec`` usually starts from ``NEW_ROLE_DEFAULTS``."""
    can_change_roles(caller, "can_create_new_roles", "creating roles")
    clean = _name(session, caller.account_id, name)
    description = check(Description, description or "", "description")
    urn = check(Label, urn or "", "urn")
    check_references(session, caller.account_id, spec)
    require_lesser_or_equal(session, caller, spec, "the new role")
    role = create_role(
        session,
        account_id=caller.account_id,
        name=clean,
        description=description or "",
        rights=spec.rights,
    )
    role.urn = urn or ""
    _set_selection(role, spec.selection)
    session.flush()
    session.refresh(role)
    record = role_record(role)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.role_created,
        description=audit.describe_values(f"role {role.name!r} (ID {role.id})", audit_view(record)),
        actor=caller.actor,
        origin=caller.origin,
    )
    return record


def modify_for(
    session: Session,
    caller: Principal,
    role_id: int,
    *,
    change: SpecChange | None = None,
    name: str | None = None,
    description: str | None = None,
    urn: str | None = None,
) -> RoleRecord:
    """Change a role: ``change`` maps its current rights and selection to the new ones."""
    role = _get(session, caller.account_id, role_id)
    can_change_roles(caller, "can_edit_role_properties", "changing roles")
    if role.immutable:
        raise Forbidden(f"role {role.name!r} is immutable and cannot be changed")
    before = role_record(role)
    require_lesser_or_equal(session, caller, spec_of(before), "the role")
    spec = change(spec_of(before)) if change is not None else spec_of(before)
    check_references(session, caller.account_id, spec)
    require_lesser_or_equal(session, caller, spec, "the changed role")
    if name is not None and name.strip() != role.name:
        role.name = _name(session, caller.account_id, name, role.id)
    if description is not None:
        role.description = check(Description, description, "description")
    if urn is not None:
        role.urn = check(Label, urn, "urn")
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
            f"role {role.name!r} (ID {role.id})", audit_view(before), audit_view(after)
        ),
        actor=caller.actor,
        origin=caller.origin,
    )
    return after


def delete_for(session: Session, caller: Principal, role_id: int) -> None:
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
