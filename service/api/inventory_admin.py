"""Creating, modifying and deleting computers, computer groups and policies through the API.

Two scopes decide. What the caller may *view* (``caller.scope``, as for reads): anything else
does not exist for it (404), another account's objects included. What the caller may *change*
is narrower: its own selection only (its Computer Rights groups with their sub-groups and its
selected computers, or every computer with ``allComputers``; its selected policies with their
children, or every policy with ``allPolicies``). A computer it merely sees through
``canViewOtherComputers`` is 403, and so is moving a computer, group or policy to a place
outside the selection. The rights:

- computers: ``canCreateNewComputers``, ``canEditComputerProperties``, ``canDeleteComputers``;
- groups: ``canAddAndRemoveComputerGroups`` for create, modify and delete;
- policies: ``canCreateNewPolicies``, ``canEditPolicyProperties``, ``canDeletePolicies``.

A parent change that would make a cycle is 400; so is deleting a group that still holds
computers or sub-groups, or a policy that has child policies or is assigned to computers (the
database would otherwise cascade). Deleting a computer deletes its events, alerts and system
events with it. Every change is audited.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, delete, exists, select
from sqlalchemy.orm import Session

from service.api import inventory
from service.api.authz import Caller, Forbidden, _group_subtree
from service.api.schemas import BodyID
from service.directory import audit
from service.errors import InvalidInput, NotFound
from service.fields import Description, HostName, Label, Name
from storage.models import Alert, Computer, ComputerGroup, ComputerTag, Policy, SystemEvent
from storage.scoped import Scope, viewable_policy_ids, visible_computer_ids

#: Deepest tree a cycle check walks (as ``storage.scoped.MAX_GROUP_DEPTH`` guards paths).
MAX_TREE_DEPTH = 10_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: API field -> model attribute; None values mean "unset" except for ``NULLABLE``.
    FIELDS: ClassVar[dict[str, str]] = {}
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        """The given fields, as model attributes (an explicit null kept for ``NULLABLE``)."""
        out = {}
        for name in self.model_fields_set:
            if name not in self.FIELDS:
                continue  # read-only fields: ignored
            value = getattr(self, name)
            if value is None and name not in self.NULLABLE:
                continue
            out[self.FIELDS[name]] = value
        return out


class ComputerBody(_Body):
    """The SDK's ``Computer``, with the fields reportd stores."""

    FIELDS: ClassVar[dict[str, str]] = {
        "hostName": "host_name",
        "displayName": "display_name",
        "description": "description",
        "platform": "platform",
        "groupID": "group_id",
        "policyID": "policy_id",
    }
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"groupID", "policyID"})

    hostName: HostName | None = None
    displayName: Label | None = None
    description: Description | None = None
    platform: Label | None = None
    groupID: BodyID | None = Field(None, description="null: the root of the group tree.")
    policyID: BodyID | None = Field(None, description="null: no policy.")
    ID: int | None = Field(None, description="Read-only; ignored.")
    lastAgentCommunication: int | None = Field(None, description="Read-only; ignored.")
    agentStatus: str | None = Field(None, description="Read-only; ignored.")
    tags: list[str] | None = Field(None, description="Read-only; ignored.")
    modules: list[str] | None = Field(None, description="Read-only; ignored.")


class ComputerGroupBody(_Body):
    """The SDK's ``ComputerGroup``, with the fields reportd stores."""

    FIELDS: ClassVar[dict[str, str]] = {
        "name": "name",
        "description": "description",
        "parentGroupID": "parent_group_id",
    }
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"parentGroupID"})

    name: Name | None = None
    description: Description | None = None
    parentGroupID: BodyID | None = Field(None, description="null: a top-level group.")
    ID: int | None = Field(None, description="Read-only; ignored.")
    type: str | None = Field(None, description="Read-only; ignored.")


class PolicyBody(_Body):
    """The SDK's ``Policy``, with the fields reportd stores."""

    FIELDS: ClassVar[dict[str, str]] = {
        "name": "name",
        "description": "description",
        "parentID": "parent_id",
    }
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"parentID"})

    name: Name | None = None
    description: Description | None = None
    parentID: BodyID | None = Field(None, description="null: a base policy.")
    ID: int | None = Field(None, description="Read-only; ignored.")


# --- rights and selections --------------------------------------------------------------------


def _need(caller: Caller, column: str, what: str) -> None:
    if not getattr(caller.rights, column):
        raise Forbidden(f"the API key's role does not allow {what} ({column})")


def _own_computers(caller: Caller) -> Scope:
    """The caller's own computer selection (not what it may merely view)."""
    selection = caller.spec.selection
    return Scope(
        account_id=caller.account_id,
        all_computers=caller.rights.all_computers,
        group_ids=selection.computer_group_ids,
        computer_ids=selection.computer_ids,
    )


def _own_groups(caller: Caller) -> Select[tuple[int]] | None:
    """A SELECT of the groups in the caller's selection; None for every group."""
    if caller.rights.all_computers:
        return None
    return _group_subtree(caller.account_id, caller.spec.selection.computer_group_ids)


def _own_policies(caller: Caller) -> Select[Any]:
    return viewable_policy_ids(
        Scope(
            account_id=caller.account_id,
            all_policies=caller.rights.all_policies,
            policy_ids=caller.spec.selection.policy_ids,
        )
    )


def _group_in_selection(session: Session, caller: Caller, group_id: int | None) -> bool:
    own = _own_groups(caller)
    if own is None:
        return True
    if group_id is None:
        return False  # the root is only everyone's with allComputers
    found = session.scalars(
        select(ComputerGroup.id).where(ComputerGroup.id == group_id, ComputerGroup.id.in_(own))
    ).first()
    return found is not None


def _policy_in_selection(session: Session, caller: Caller, policy_id: int | None) -> bool:
    if caller.rights.all_policies:
        return True
    if policy_id is None:
        return False
    found = session.scalars(_own_policies(caller).where(Policy.id == policy_id)).first()
    return found is not None


def _visible_group(session: Session, caller: Caller, group_id: int, field: str = "") -> None:
    found = session.scalars(
        select(ComputerGroup.id).where(
            ComputerGroup.id == group_id,
            ComputerGroup.id.in_(inventory._visible_group_ids(caller.scope)),
        )
    ).first()
    if found is None:
        prefix = f"{field}: " if field else ""
        raise NotFound(f"{prefix}no computer group with ID {group_id}")


def _visible_policy(session: Session, caller: Caller, policy_id: int, field: str = "") -> None:
    found = session.scalars(viewable_policy_ids(caller.scope).where(Policy.id == policy_id)).first()
    if found is None:
        prefix = f"{field}: " if field else ""
        raise NotFound(f"{prefix}no policy with ID {policy_id}")


def _audit(session: Session, caller: Caller, code: audit.AuditCode, description: str) -> None:
    audit.record(
        session,
        account_id=caller.account_id,
        code=code,
        description=description,
        actor=caller.actor,
        origin=caller.origin,
    )


# --- computers --------------------------------------------------------------------------------


def _check_computer_places(session: Session, caller: Caller, values: dict[str, Any]) -> None:
    if "group_id" in values:
        group_id = values["group_id"]
        if group_id is not None:
            _visible_group(session, caller, group_id, "groupID")
        if not _group_in_selection(session, caller, group_id):
            raise Forbidden("groupID: the group is outside the API key's role's computer selection")
    if values.get("policy_id") is not None:
        _visible_policy(session, caller, values["policy_id"], "policyID")


def _computer_view(session: Session, computer: Computer) -> dict[str, Any]:
    tags = session.scalars(
        select(ComputerTag.tag).where(
            ComputerTag.account_id == computer.account_id, ComputerTag.computer_id == computer.id
        )
    ).all()
    return inventory._computer_api(computer, list(tags))


def _load_computer(session: Session, caller: Caller, computer_id: int) -> Computer:
    visible = visible_computer_ids(caller.scope).where(Computer.id == computer_id)
    computer = session.scalars(select(Computer).where(Computer.id.in_(visible))).one_or_none()
    if computer is None:
        raise NotFound(f"no computer with ID {computer_id}")
    return computer


def _computer_in_selection(session: Session, caller: Caller, computer_id: int) -> None:
    own = visible_computer_ids(_own_computers(caller)).where(Computer.id == computer_id)
    if session.scalars(own).first() is None:
        raise Forbidden(
            f"computer {computer_id} is outside the API key's role's computer selection"
        )


def create_computer(session: Session, caller: Caller, body: ComputerBody) -> dict[str, Any]:
    _need(caller, "can_create_new_computers", "creating computers")
    values = body.changes()
    if not values.get("host_name"):
        raise InvalidInput("hostName: required")
    values.setdefault("group_id", None)
    _check_computer_places(session, caller, values)
    computer = Computer(account_id=caller.account_id, **values)
    session.add(computer)
    session.flush()
    data = _computer_view(session, computer)
    _audit(
        session,
        caller,
        audit.AuditCode.computer_created,
        audit.describe_values(f"computer {computer.host_name!r} (ID {computer.id})", data),
    )
    return data


def modify_computer(
    session: Session, caller: Caller, computer_id: int, body: ComputerBody
) -> dict[str, Any]:
    computer = _load_computer(session, caller, computer_id)
    _need(caller, "can_edit_computer_properties", "editing computers")
    _computer_in_selection(session, caller, computer_id)
    values = body.changes()
    if values.get("group_id", computer.group_id) == computer.group_id:
        values.pop("group_id", None)
    _check_computer_places(session, caller, values)
    before = _computer_view(session, computer)
    for name, value in values.items():
        setattr(computer, name, value)
    session.flush()
    after = _computer_view(session, computer)
    _audit(
        session,
        caller,
        audit.AuditCode.computer_updated,
        audit.describe_changes(
            f"computer {computer.host_name!r} (ID {computer_id})", before, after
        ),
    )
    return after


def delete_computer(session: Session, caller: Caller, computer_id: int) -> None:
    computer = _load_computer(session, caller, computer_id)
    _need(caller, "can_delete_computers", "deleting computers")
    _computer_in_selection(session, caller, computer_id)
    name = computer.host_name
    # Its alerts and system events would otherwise become "about no computer", which every
    # role that may view events not related to computers sees: they go with it.
    session.execute(delete(Alert).where(Alert.computer_id == computer_id))
    session.execute(delete(SystemEvent).where(SystemEvent.computer_id == computer_id))
    session.delete(computer)
    session.flush()
    _audit(
        session,
        caller,
        audit.AuditCode.computer_deleted,
        f"computer {name!r} (ID {computer_id})",
    )


# --- computer groups --------------------------------------------------------------------------


def _load_group(session: Session, caller: Caller, group_id: int) -> ComputerGroup:
    _visible_group(session, caller, group_id)
    group = session.get(ComputerGroup, group_id)
    assert group is not None and group.account_id == caller.account_id
    return group


def _group_parent_allowed(session: Session, caller: Caller, parent_id: int | None) -> None:
    if parent_id is not None:
        _visible_group(session, caller, parent_id, "parentGroupID")
    if not _group_in_selection(session, caller, parent_id):
        raise Forbidden(
            "parentGroupID: the parent is outside the API key's role's computer selection"
        )


def _ancestors_include(
    session: Session, model: type[ComputerGroup] | type[Policy], start: int, target: int
) -> bool:
    """Whether walking up from ``start`` reaches ``target`` (``start`` itself included)."""
    parent_column = ComputerGroup.parent_group_id if model is ComputerGroup else Policy.parent_id
    current: int | None = start
    seen: set[int] = set()
    while current is not None and current not in seen and len(seen) < MAX_TREE_DEPTH:
        if current == target:
            return True
        seen.add(current)
        current = session.scalars(select(parent_column).where(model.id == current)).first()
    return current is not None  # a cycle already there, or too deep: refuse as well


def create_group(session: Session, caller: Caller, body: ComputerGroupBody) -> dict[str, Any]:
    _need(caller, "can_add_and_remove_computer_groups", "adding computer groups")
    values = body.changes()
    if not values.get("name"):
        raise InvalidInput("name: required")
    values.setdefault("parent_group_id", None)
    _group_parent_allowed(session, caller, values["parent_group_id"])
    group = ComputerGroup(account_id=caller.account_id, **values)
    session.add(group)
    session.flush()
    data = inventory._group_api(group)
    _audit(
        session,
        caller,
        audit.AuditCode.computer_group_created,
        audit.describe_values(f"computer group {group.name!r} (ID {group.id})", data),
    )
    return data


def modify_group(
    session: Session, caller: Caller, group_id: int, body: ComputerGroupBody
) -> dict[str, Any]:
    group = _load_group(session, caller, group_id)
    _need(caller, "can_add_and_remove_computer_groups", "changing computer groups")
    if not _group_in_selection(session, caller, group_id):
        raise Forbidden(
            f"computer group {group_id} is outside the API key's role's computer selection"
        )
    values = body.changes()
    if values.get("parent_group_id", group.parent_group_id) == group.parent_group_id:
        values.pop("parent_group_id", None)
    if "parent_group_id" in values:
        parent_id = values["parent_group_id"]
        _group_parent_allowed(session, caller, parent_id)
        if parent_id is not None and _ancestors_include(
            session, ComputerGroup, parent_id, group_id
        ):
            raise InvalidInput(
                f"parentGroupID: group {parent_id} is group {group_id} or one of its "
                "sub-groups; the tree would have a cycle"
            )
    before = inventory._group_api(group)
    for name, value in values.items():
        setattr(group, name, value)
    session.flush()
    after = inventory._group_api(group)
    _audit(
        session,
        caller,
        audit.AuditCode.computer_group_updated,
        audit.describe_changes(f"computer group {group.name!r} (ID {group_id})", before, after),
    )
    return after


def delete_group(session: Session, caller: Caller, group_id: int) -> None:
    group = _load_group(session, caller, group_id)
    _need(caller, "can_add_and_remove_computer_groups", "removing computer groups")
    if not _group_in_selection(session, caller, group_id):
        raise Forbidden(
            f"computer group {group_id} is outside the API key's role's computer selection"
        )
    has_computers = session.scalar(select(exists().where(Computer.group_id == group_id)))
    has_groups = session.scalar(select(exists().where(ComputerGroup.parent_group_id == group_id)))
    if has_computers or has_groups:
        raise InvalidInput(
            f"computer group {group_id} still holds computers or sub-groups; move or delete "
            "them first"
        )
    name = group.name
    session.delete(group)
    session.flush()
    _audit(
        session,
        caller,
        audit.AuditCode.computer_group_deleted,
        f"computer group {name!r} (ID {group_id})",
    )


# --- policies ---------------------------------------------------------------------------------


def _load_policy(session: Session, caller: Caller, policy_id: int) -> Policy:
    _visible_policy(session, caller, policy_id)
    policy = session.get(Policy, policy_id)
    assert policy is not None and policy.account_id == caller.account_id
    return policy


def _policy_parent_allowed(session: Session, caller: Caller, parent_id: int | None) -> None:
    if parent_id is not None:
        _visible_policy(session, caller, parent_id, "parentID")
    if not _policy_in_selection(session, caller, parent_id):
        raise Forbidden("parentID: the parent is outside the API key's role's policy selection")


def _policy_within(session: Session, caller: Caller, policy_id: int) -> None:
    if not _policy_in_selection(session, caller, policy_id):
        raise Forbidden(f"policy {policy_id} is outside the API key's role's policy selection")


def create_policy(session: Session, caller: Caller, body: PolicyBody) -> dict[str, Any]:
    _need(caller, "can_create_new_policies", "creating policies")
    values = body.changes()
    if not values.get("name"):
        raise InvalidInput("name: required")
    values.setdefault("parent_id", None)
    _policy_parent_allowed(session, caller, values["parent_id"])
    policy = Policy(account_id=caller.account_id, **values)
    session.add(policy)
    session.flush()
    data = inventory._policy_api(policy)
    _audit(
        session,
        caller,
        audit.AuditCode.policy_created,
        audit.describe_values(f"policy {policy.name!r} (ID {policy.id})", data),
    )
    return data


def modify_policy(
    session: Session, caller: Caller, policy_id: int, body: PolicyBody
) -> dict[str, Any]:
    policy = _load_policy(session, caller, policy_id)
    _need(caller, "can_edit_policy_properties", "editing policies")
    _policy_within(session, caller, policy_id)
    values = body.changes()
    if values.get("parent_id", policy.parent_id) == policy.parent_id:
        values.pop("parent_id", None)
    if "parent_id" in values:
        parent_id = values["parent_id"]
        _policy_parent_allowed(session, caller, parent_id)
        if parent_id is not None and _ancestors_include(session, Policy, parent_id, policy_id):
            raise InvalidInput(
                f"parentID: policy {parent_id} is policy {policy_id} or one of its children; "
                "the tree would have a cycle"
            )
    before = inventory._policy_api(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    session.flush()
    after = inventory._policy_api(policy)
    _audit(
        session,
        caller,
        audit.AuditCode.policy_updated,
        audit.describe_changes(f"policy {policy.name!r} (ID {policy_id})", before, after),
    )
    return after


def delete_policy(session: Session, caller: Caller, policy_id: int) -> None:
    policy = _load_policy(session, caller, policy_id)
    _need(caller, "can_delete_policies", "deleting policies")
    _policy_within(session, caller, policy_id)
    has_children = session.scalar(select(exists().where(Policy.parent_id == policy_id)))
    assigned = session.scalar(select(exists().where(Computer.policy_id == policy_id)))
    if has_children or assigned:
        raise InvalidInput(
            f"policy {policy_id} has child policies or is assigned to computers; change them first"
        )
    name = policy.name
    session.delete(policy)
    session.flush()
    _audit(session, caller, audit.AuditCode.policy_deleted, f"policy {name!r} (ID {policy_id})")
