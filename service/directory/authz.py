"""What a principal's role lets it do: the rights gates and the console's "equal or lesser" rule.

Gates (each raises :class:`~service.errors.Forbidden`, answered 403 by the API and the
console):

- contacts: the Other Rights level of ``contactRights``: hide gives nothing, view-only reads,
  full (or custom) reads and writes;
- scheduled tasks and one-off reports: ``scheduledTaskRights`` the same way; running a task
  or asking for a report needs full;
- roles: the User Rights role flags (``can_view_roles``...); a role that "can only manipulate
  users with equal or lesser rights" cannot change roles at all (as in the console);
- API keys: the User Rights user flags (``can_view_users``...): the administrator rights
  govern API keys;
- smart folders (saved computer queries of the account): viewing them needs
  ``can_view_computers``, creating, changing and deleting them ``can_edit_computer_properties``
  (a folder changes what every report naming it covers, so it is not a viewer's to change);
  what a folder selects is always cut to the recipient's clearance;
- computers, groups and policies: the clearance (``Principal.scope``) decides what exists for
  the caller; everything else answers 404.

No escalation: a role given to a contact or an API key, or created or changed by the caller,
must be lesser or equal: every boolean right at most the caller's, every Other Rights level
at most the caller's (hide < view-only < full; custom counts as full), and its computer and
policy selections inside the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from service.directory.principal import CHANGE, LEVEL_RANK, VIEW, Principal
from service.directory.role_specs import RoleSpec, spec_of
from service.errors import Forbidden
from storage.models import ComputerGroup, Role
from storage.records import role_record
from storage.scoped import Scope, viewable_policy_ids, visible_computer_ids

#: A boolean right where True is the restriction, so less is more.
RESTRICTIONS = frozenset({"can_only_manipulate_users_with_equal_or_lesser_rights"})
#: The rights the "equal or lesser" restriction limits.
USER_MANIPULATION = ("can_create_new_users", "can_edit_user_properties", "can_delete_users")
#: Rights columns that are selections, compared as sets rather than as booleans.
SELECTION_FLAGS = frozenset({"all_computers", "all_policies"})


def _need_level(caller: Principal, feature: str, rank: int, what: str) -> None:
    if caller.level(feature) < rank:
        raise Forbidden(f"the caller's role does not allow {what} ({feature})")


def can_read_contacts(caller: Principal) -> None:
    _need_level(caller, "contactRights", VIEW, "viewing contacts")


def can_write_contacts(caller: Principal) -> None:
    _need_level(caller, "contactRights", CHANGE, "changing contacts")


def can_read_tasks(caller: Principal) -> None:
    _need_level(caller, "scheduledTaskRights", VIEW, "viewing scheduled tasks and report runs")


def can_write_tasks(caller: Principal) -> None:
    _need_level(
        caller, "scheduledTaskRights", CHANGE, "changing or running scheduled tasks and reports"
    )


def _need_flag(caller: Principal, column: str, what: str) -> None:
    if not getattr(caller.rights, column):
        raise Forbidden(f"the caller's role does not allow {what} ({column})")


def can_read_roles(caller: Principal) -> None:
    _need_flag(caller, "can_view_roles", "viewing roles")


def can_change_roles(caller: Principal, column: str, what: str) -> None:
    if caller.rights.can_only_manipulate_users_with_equal_or_lesser_rights:
        raise Forbidden(
            "the caller's role does not allow changing roles: it can only manipulate users "
            "with equal or lesser rights"
        )
    _need_flag(caller, column, what)


def can_api_keys(caller: Principal, column: str, what: str) -> None:
    _need_flag(caller, column, what)


def can_administrators(caller: Principal, column: str, what: str) -> None:
    """The User Rights user flags (``can_view_users``...) gate administrators."""
    _need_flag(caller, column, what)


def can_read_smart_folders(caller: Principal) -> None:
    _need_flag(caller, "can_view_computers", "viewing smart folders")


def can_write_smart_folders(caller: Principal) -> None:
    _need_flag(caller, "can_edit_computer_properties", "changing smart folders")


def can_ingest(caller: Principal) -> None:
    _need_flag(caller, "can_edit_computer_properties", "writing events about computers")


def exceeding(
    session: Session, candidate: RoleSpec, caller: RoleSpec, account_id: int
) -> list[str]:
    """The rights of ``candidate`` beyond ``caller``'s (empty when lesser or equal)."""
    mine, theirs = caller.rights.as_columns(), candidate.rights.as_columns()
    beyond = []
    for name, value in theirs.items():
        if isinstance(value, bool) and name not in SELECTION_FLAGS:
            if name in RESTRICTIONS:
                # Unrestricted only matters to a role that can manipulate users at all.
                manipulates = any(theirs[right] for right in USER_MANIPULATION)
                if mine[name] and not value and manipulates:
                    beyond.append(name)
            elif value and not mine[name]:
                beyond.append(name)
    for feature, level in theirs["other_rights"].items():
        mine_level = mine["other_rights"].get(feature, "hide")
        if LEVEL_RANK.get(str(level), 2) > LEVEL_RANK.get(str(mine_level), 0):
            beyond.append(f"otherRights.{feature}")
    beyond += _selection_beyond(session, candidate, caller, account_id)
    return beyond


def _selection_beyond(
    session: Session, candidate: RoleSpec, caller: RoleSpec, account_id: int
) -> list[str]:
    beyond = []
    if not caller.rights.all_computers:
        if candidate.rights.all_computers:
            beyond.append("allComputers")
        else:
            groups = set(
                session.scalars(group_subtree(account_id, caller.selection.computer_group_ids))
            )
            if not candidate.selection.computer_group_ids <= groups:
                beyond.append("computerGroupIDs")
            mine = Scope(
                account_id=account_id,
                group_ids=caller.selection.computer_group_ids,
                computer_ids=caller.selection.computer_ids,
            )
            computers = set(session.scalars(visible_computer_ids(mine)))
            if not candidate.selection.computer_ids <= computers:
                beyond.append("computerIDs")
    if not caller.rights.all_policies:
        if candidate.rights.all_policies:
            beyond.append("allPolicies")
        else:
            mine = Scope(account_id=account_id, policy_ids=caller.selection.policy_ids)
            policies = set(session.scalars(viewable_policy_ids(mine)))
            if not candidate.selection.policy_ids <= policies:
                beyond.append("policyIDs")
    return beyond


def group_subtree(account_id: int, group_ids: frozenset[int]) -> Select[tuple[int]]:
    """The ids of ``group_ids`` and all their sub-groups in the account."""
    roots = sorted(group_ids)
    seed = select(ComputerGroup.id).where(
        ComputerGroup.account_id == account_id, ComputerGroup.id.in_(roots)
    )
    tree = seed.cte(name="caller_groups", recursive=True)
    child = aliased(ComputerGroup)
    tree = tree.union(
        select(child.id).where(child.account_id == account_id, child.parent_group_id == tree.c.id)
    )
    return select(tree.c.id)


@dataclass(frozen=True)
class RoleChoice:
    """A role the caller may give (to a contact as clearance, or to a user)."""

    id: int
    name: str


def roles_within(session: Session, caller: Principal) -> list[RoleChoice]:
    """The account's roles with no right beyond the caller's own, by name.

    Callers gate it by what the choice is for (contacts, administrators).
    """
    roles = session.scalars(
        select(Role).where(Role.account_id == caller.account_id).order_by(Role.name)
    )
    return [
        RoleChoice(id=role.id, name=role.name)
        for role in roles
        if within(session, caller, spec_of(role_record(role)))
    ]


def within(session: Session, caller: Principal, candidate: RoleSpec) -> bool:
    """``candidate`` has no right beyond the caller's."""
    return not exceeding(session, candidate, caller.spec, caller.account_id)


def require_lesser_or_equal(
    session: Session, caller: Principal, candidate: RoleSpec, what: str
) -> None:
    """Forbidden unless ``candidate`` has no right beyond the caller's."""
    beyond = exceeding(session, candidate, caller.spec, caller.account_id)
    if beyond:
        shown = ", ".join(beyond[:8]) + (", ..." if len(beyond) > 8 else "")
        raise Forbidden(f"{what} would have rights beyond the caller's own role: {shown}")
