"""Roles in the SDK's JSON shape, both ways, without losing a right on the way.

reportd keeps a role as the columns of ``storage.models.Role``: booleans for the Computer,
Policy and User Rights, and one level (hide, view-only, full, custom) per Other Rights
feature. The SDK's ``Role`` spells the same things as nested flag objects under
``rights``. The mapping:

- ``computerRights`` and ``policyRights`` flags are the columns of the same name
  (``canViewComputers`` and ``canViewPolicies`` are reportd's additions for the table's
  "View" rows);
- ``administratorRights`` and ``administratorRoleRights`` are the User Rights columns;
  ``apikeyRights`` mirrors ``administratorRights``: the administrator (user) rights govern
  API keys, as the console's "Create and manage Users and APIkeys with equal or less access"
  says;
- every other feature's flags encode its level: all false is hide, only the ``canView*``
  flags is view-only, all true is full. Custom is shown as full, since reportd does not keep
  per-flag custom rights; a combination that is none of these is refused rather than widened.

reportd's own fields ``userRights`` (the User Rights preset) and ``otherRights`` (feature ->
level) are accepted and returned too. Unset fields keep their value: the role's own on
modify, the console's "New Role Defaults" on create.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.api.rights_schema import FEATURE_FLAGS, Rights
from service.api.schemas import BodyID
from service.directory.rights import (
    OTHER_RIGHTS_KEYS,
    USER_RIGHTS_BY_PRESET,
    AccessLevel,
    RoleRights,
    UserRightsPreset,
)
from service.directory.role_specs import (
    NEW_ROLE_LEVELS,
    RoleSpec,
    Selection,
    check_references,
    rights_of,
    spec_of,
)
from service.errors import InvalidInput
from service.fields import Description, Label, Name
from storage.records import RoleRecord

__all__ = [
    "RoleBody",
    "RoleSpec",
    "Selection",
    "apply_body",
    "check_references",
    "role_to_api",
    "rights_of",
    "spec_of",
]

#: User Rights columns behind the SDK's administrator, role and API key flag objects.
USER_FLAG_COLUMNS: dict[str, dict[str, str]] = {
    "administratorRights": {
        "canViewAdministrators": "can_view_users",
        "canCreateNewAdministrators": "can_create_new_users",
        "canEditAdministratorProperties": "can_edit_user_properties",
        "canDeleteAdministrators": "can_delete_users",
    },
    "administratorRoleRights": {
        "canViewAdministratorRoles": "can_view_roles",
        "canCreateNewAdministratorRoles": "can_create_new_roles",
        "canEditAdministratorRoleProperties": "can_edit_role_properties",
        "canDeleteAdministratorRoles": "can_delete_roles",
    },
    "apikeyRights": {
        "canViewApiKeys": "can_view_users",
        "canCreateNewApiKeys": "can_create_new_users",
        "canEditApiKeyProperties": "can_edit_user_properties",
        "canDeleteApiKeys": "can_delete_users",
    },
}
#: Flag objects that are columns one to one.
COLUMN_FEATURES = ("computerRights", "policyRights")
#: Top-level booleans of the SDK's Role that are columns.
TOP_LEVEL_COLUMNS = {
    "allComputers": "all_computers",
    "allPolicies": "all_policies",
    "allowUserInterface": "allow_user_interface",
    "allowWebService": "allow_web_service",
    "canOnlyManipulateUsersWithEqualOrLesserRights": (
        "can_only_manipulate_users_with_equal_or_lesser_rights"
    ),
}


def column_name(flag: str) -> str:
    """``canManageVCenters`` -> ``can_manage_v_centers``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", flag).lower()


class RoleBody(BaseModel):
    """The SDK's ``Role`` as a request body; every field optional (unset keeps its value)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    urn: Label | None = None
    immutable: bool | None = Field(None, description="Only false: preconfigured roles only.")
    canOnlyManipulateUsersWithEqualOrLesserRights: bool | None = None
    allComputers: bool | None = None
    allPolicies: bool | None = None
    allowUserInterface: bool | None = None
    allowWebService: bool | None = None
    allowManageWorkloadSecurityLink: bool | None = Field(None, description="Ignored.")
    allowMigration: bool | None = Field(None, description="Ignored.")
    rights: Rights | None = None
    computerIDs: list[BodyID] | None = None
    computerGroupIDs: list[BodyID] | None = None
    policyIDs: list[BodyID] | None = None
    ID: int | None = Field(None, description="Ignored: the path or reportd says which role.")
    userRights: UserRightsPreset | None = Field(None, description="reportd: User Rights preset.")
    otherRights: dict[str, AccessLevel] | None = Field(
        None, description="reportd: Other Rights feature -> level."
    )


def _level_flags(level: str, flags: tuple[str, ...]) -> dict[str, bool]:
    if level in (AccessLevel.full, AccessLevel.custom):
        return dict.fromkeys(flags, True)
    if level == AccessLevel.view_only:
        return {flag: flag.startswith("canView") for flag in flags}
    return dict.fromkeys(flags, False)


def _flags_level(feature: str, flags: dict[str, bool], current: str) -> str:
    values = set(flags.values())
    if values == {True}:
        return AccessLevel.full.value
    views = {name for name in flags if name.startswith("canView")}
    on = {name for name, value in flags.items() if value}
    if not on:
        if views:
            return AccessLevel.hide.value
        # No view flag to tell hide from view-only: keep the one the role has.
        return current if current in (AccessLevel.hide, AccessLevel.view_only) else "view-only"
    if views and on == views:
        return AccessLevel.view_only.value
    raise InvalidInput(
        f"rights.{FEATURE_FLAGS[feature][0]}.{feature}: reportd keeps hide (no flag), view-only "
        "(the canView flags) or full (every flag); this combination is not one of them"
    )


def role_to_api(record: RoleRecord) -> dict[str, Any]:
    """The SDK's ``Role`` JSON of a role, with reportd's ``userRights`` and ``otherRights``."""
    rights = rights_of(record)
    columns = rights.as_columns()
    holders: dict[str, dict[str, Any]] = {}
    for feature, (holder, flags) in FEATURE_FLAGS.items():
        if feature in COLUMN_FEATURES:
            value = {flag: columns[column_name(flag)] for flag in flags}
        elif feature in USER_FLAG_COLUMNS:
            value = {flag: columns[col] for flag, col in USER_FLAG_COLUMNS[feature].items()}
        else:
            value = _level_flags(rights.other_rights.get(feature, "hide"), flags)
        holders.setdefault(holder, {})[feature] = value
    data: dict[str, Any] = {
        "ID": record.id,
        "name": record.name,
        "description": record.description,
        "immutable": record.immutable,
        **{api: columns[col] for api, col in TOP_LEVEL_COLUMNS.items()},
        "computerIDs": sorted(record.computer_ids),
        "computerGroupIDs": sorted(record.computer_group_ids),
        "policyIDs": sorted(record.policy_ids),
        "rights": holders,
        "userRights": rights.user_rights.value,
        "otherRights": dict(sorted(rights.other_rights.items())),
    }
    return data


def apply_body(body: RoleBody, base: RoleSpec) -> RoleSpec:
    """``base`` with the body's fields applied; InvalidInput names the first bad field."""
    columns = base.rights.as_columns()
    for api, col in TOP_LEVEL_COLUMNS.items():
        value = getattr(body, api)
        if value is not None:
            columns[col] = value
    other = dict(columns["other_rights"])
    if body.otherRights is not None:
        unknown = set(body.otherRights) - OTHER_RIGHTS_KEYS
        if unknown:
            raise InvalidInput(f"otherRights: unknown feature(s) {', '.join(sorted(unknown))}")
        other.update({key: level.value for key, level in body.otherRights.items()})
    if body.userRights is not None and body.userRights is not UserRightsPreset.custom:
        columns.update(USER_RIGHTS_BY_PRESET[body.userRights])
    if body.rights is not None:
        _apply_rights(body.rights, columns, other)
    columns["other_rights"] = other
    columns["user_rights"] = body.userRights if body.userRights is not None else _preset_of(columns)
    selection = Selection(
        computer_ids=_ids(body.computerIDs, base.selection.computer_ids),
        computer_group_ids=_ids(body.computerGroupIDs, base.selection.computer_group_ids),
        policy_ids=_ids(body.policyIDs, base.selection.policy_ids),
    )
    return RoleSpec(rights=RoleRights(**columns), selection=selection)


def _ids(given: list[int] | None, current: frozenset[int]) -> frozenset[int]:
    return current if given is None else frozenset(given)


def _apply_rights(rights: Rights, columns: dict[str, Any], other: dict[str, str]) -> None:
    dumped = rights.model_dump(exclude_none=True)
    admin_given: dict[str, bool] | None = None
    for feature, (holder, _flags) in FEATURE_FLAGS.items():
        given = dumped.get(holder, {}).get(feature)
        if given is None:
            continue
        where = f"rights.{holder}.{feature}"
        if feature in COLUMN_FEATURES:
            for flag, value in given.items():
                columns[column_name(flag)] = value
        elif feature in USER_FLAG_COLUMNS:
            mapped = {USER_FLAG_COLUMNS[feature][flag]: value for flag, value in given.items()}
            if feature == "apikeyRights" and admin_given is not None:
                clash = [c for c, v in mapped.items() if admin_given.get(c, v) != v]
                if clash:
                    raise InvalidInput(
                        f"{where}: API keys are governed by administratorRights; give the same "
                        "flags in both"
                    )
            if feature == "administratorRights":
                admin_given = mapped
            columns.update(mapped)
        else:
            current = other.get(feature, NEW_ROLE_LEVELS[feature])
            flags = {**_level_flags(current, FEATURE_FLAGS[feature][1]), **given}
            level = _flags_level(feature, flags, current)
            # A custom level whose flags come back all set stays custom.
            if not (current == AccessLevel.custom and level == AccessLevel.full):
                other[feature] = level


def _preset_of(columns: dict[str, Any]) -> UserRightsPreset:
    for preset, flags in USER_RIGHTS_BY_PRESET.items():
        if all(columns[name] == value for name, value in flags.items()):
            return preset
    return UserRightsPreset.custom
