"""A role, resolved to the scope of what it may view. Pure: no database, no I/O.

A report shows what a user of the role could *view*: the computers its Computer Rights
select (groups with their sub-groups, and single computers), every computer if it may view
non-selected computers, events not related to computers if allowed, and the policies its
Policy Rights select (with their children). Anything missing, deleted, foreign or malformed
resolves to the empty scope: no data, never all data.
"""

from __future__ import annotations

from typing import Any

from storage.records import RoleRecord
from storage.scoped import Scope

#: The rights a scope is computed from; each must be present and a real bool.
SCOPE_RIGHTS = (
    "all_computers",
    "can_view_computers",
    "can_view_other_computers",
    "can_view_not_related_to_computers",
    "all_policies",
    "can_view_policies",
    "can_view_other_policies",
)


def scope_for(role: RoleRecord | None, account_id: int) -> Scope:
    """What ``role`` may view in ``account_id``; the empty scope when in any doubt."""
    if role is None or role.account_id != account_id:
        return Scope.empty()
    rights = _scope_rights(role.rights)
    if rights is None or not _all_ints(role):
        return Scope.empty()

    views_computers = rights["can_view_computers"]
    every_computer = views_computers and (
        rights["all_computers"] or rights["can_view_other_computers"]
    )
    selected_computers = views_computers and not every_computer
    views_policies = rights["can_view_policies"]
    every_policy = views_policies and (rights["all_policies"] or rights["can_view_other_policies"])
    return Scope(
        account_id=account_id,
        all_computers=every_computer,
        group_ids=role.computer_group_ids if selected_computers else frozenset(),
        computer_ids=role.computer_ids if selected_computers else frozenset(),
        not_related_to_computers=rights["can_view_not_related_to_computers"],
        all_policies=every_policy,
        policy_ids=role.policy_ids if views_policies and not every_policy else frozenset(),
    )


def _scope_rights(rights: Any) -> dict[str, bool] | None:
    if not isinstance(rights, dict):
        return None
    values = {name: rights.get(name) for name in SCOPE_RIGHTS}
    if not all(isinstance(value, bool) for value in values.values()):
        return None
    return values  # type: ignore[return-value]


def _all_ints(role: RoleRecord) -> bool:
    selections = (role.computer_group_ids, role.computer_ids, role.policy_ids)
    return all(
        isinstance(ids, frozenset) and all(type(i) is int for i in ids) for ids in selections
    )
