"""A role as the rules see it: its rights and its selection of computers, groups and policies.

``storage.records.RoleRecord`` is a role as stored (columns); a :class:`RoleSpec` is the same
role as typed rights (``RoleRights``) and a :class:`Selection`, which is what the "equal or
lesser" rule compares and what the API and the console both build before a role is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.rights import OTHER_RIGHTS_FEATURES, RoleRights, UserRightsPreset
from service.errors import InvalidInput
from storage.models import Computer, ComputerGroup, Policy
from storage.records import RoleRecord

#: The level each Other Rights feature has in a new role.
NEW_ROLE_LEVELS = {key: level.value for key, _, level in OTHER_RIGHTS_FEATURES}


@dataclass(frozen=True)
class Selection:
    """The computers, groups and policies a role's rights apply to (when not all)."""

    computer_ids: frozenset[int] = frozenset()
    computer_group_ids: frozenset[int] = frozenset()
    policy_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RoleSpec:
    """A role as it would be stored: rights and selection."""

    rights: RoleRights
    selection: Selection


def rights_of(record: RoleRecord) -> RoleRights:
    """The record's rights as a ``RoleRights``."""
    values = dict(record.rights)
    values["user_rights"] = UserRightsPreset(values.get("user_rights", "custom"))
    values["other_rights"] = {**NEW_ROLE_LEVELS, **dict(values.get("other_rights") or {})}
    known = set(RoleRights.__dataclass_fields__)
    return RoleRights(**{k: v for k, v in values.items() if k in known})


def spec_of(record: RoleRecord) -> RoleSpec:
    return RoleSpec(
        rights=rights_of(record),
        selection=Selection(
            computer_ids=record.computer_ids,
            computer_group_ids=record.computer_group_ids,
            policy_ids=record.policy_ids,
        ),
    )


def check_references(session: Session, account_id: int, spec: RoleSpec) -> None:
    """Every selected computer, group and policy exists in the account."""
    checks = (
        ("computerIDs", Computer, spec.selection.computer_ids),
        ("computerGroupIDs", ComputerGroup, spec.selection.computer_group_ids),
        ("policyIDs", Policy, spec.selection.policy_ids),
    )
    for field_name, model, ids in checks:
        if not ids:
            continue
        found = set(
            session.scalars(
                select(model.id).where(model.account_id == account_id, model.id.in_(sorted(ids)))
            )
        )
        missing = sorted(ids - found)
        if missing:
            raise InvalidInput(f"{field_name}: no such ID(s) in this account: {missing}")
