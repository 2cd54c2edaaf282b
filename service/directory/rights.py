"""The console's rights model and its default-rights table, as data.

A role's rights are a :class:`RoleRights`; the five preconfigured roles every account gets and
the "New Role Defaults" column are built here from the seed's table, row by row. Field names
follow the Workload Security API (``computerRights.canViewOtherComputers`` becomes
``can_view_other_computers``); ``can_view_computers`` and ``can_view_policies`` stand for the
table's "View" rows, which the API does not spell out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any


class AccessLevel(StrEnum):
    """The levels of an Other Rights feature."""

    hide = "hide"
    view_only = "view-only"
    full = "full"
    custom = "custom"


class UserRightsPreset(StrEnum):
    """The User Rights tab's choices."""

    change_own_password = "change-own-password"
    create_manage_equal_or_less = "create-manage-equal-or-less"
    full_control = "full-control"
    custom = "custom"


#: Other Rights features of the console, in its table's order: (key, label, auditor/new level).
#: Full Access has every one at "full"; the Auditor and New Role columns are identical.
OTHER_RIGHTS_FEATURES: tuple[tuple[str, str, AccessLevel], ...] = (
    ("scanCacheRights", "Scan Cache Configuration Administration", AccessLevel.view_only),
    ("agentVersionControlRights", "Agent Version Controls", AccessLevel.view_only),
    ("dataCenterGatewayRights", "Data Center Gateways", AccessLevel.hide),
    ("alertRights", "Alerts", AccessLevel.view_only),
    ("alertConfigurationRights", "Alert Configuration", AccessLevel.view_only),
    ("iplistRights", "IP Lists", AccessLevel.view_only),
    ("portListRights", "Port Lists", AccessLevel.view_only),
    ("scheduleRights", "Schedules", AccessLevel.view_only),
    ("settingRights", "System Settings (Global)", AccessLevel.hide),
    ("expertSettingRights", "Expert Settings", AccessLevel.hide),
    ("systemInformationRights", "System Information", AccessLevel.hide),
    ("diagnosticRights", "Diagnostics", AccessLevel.view_only),
    ("taggingRights", "Tagging", AccessLevel.view_only),
    ("scheduledTaskRights", "Tasks", AccessLevel.hide),
    ("contactRights", "Contacts", AccessLevel.hide),
    ("licenseRights", "Licenses", AccessLevel.hide),
    ("updateRights", "Updates", AccessLevel.hide),
    ("assetValueRights", "Asset Values", AccessLevel.view_only),
    ("certificateRights", "Certificates", AccessLevel.view_only),
    ("relayGroupRights", "Relay Management", AccessLevel.view_only),
    ("proxyRights", "Proxy", AccessLevel.view_only),
    ("syslogConfigurationRights", "Syslog Configurations", AccessLevel.view_only),
    ("usbDeviceRights", "USB Device", AccessLevel.view_only),
    ("malwareScanConfigurationRights", "Malware Scan Configuration", AccessLevel.view_only),
    ("identifiedFileRights", "Identified File", AccessLevel.view_only),
    ("webReputationConfigurationRights", "Web Reputation Configuration", AccessLevel.view_only),
    (
        "activityMonitoringConfigurationRights",
        "Activity Monitoring Configuration",
        AccessLevel.view_only,
    ),
    ("directoryListRights", "Directory Lists", AccessLevel.view_only),
    ("fileListRights", "File Lists", AccessLevel.view_only),
    ("fileExtensionListRights", "File Extension Lists", AccessLevel.view_only),
    ("applicationControlRulesetRights", "Application Control Rulesets", AccessLevel.hide),
    ("applicationControlRuleRights", "Application Control Rule", AccessLevel.hide),
    (
        "applicationControlUnrecognizedSoftwareRights",
        "Application Control Unrecognized Software",
        AccessLevel.hide,
    ),
    ("softwareInventoryRights", "Application Control Software Inventory", AccessLevel.hide),
    ("integrityMonitoringRuleRights", "Integrity Monitoring Rules", AccessLevel.view_only),
    ("logInspectionRuleRights", "Log Inspection Rules", AccessLevel.view_only),
    ("logInspectionDecoderRights", "Log Inspection Decoders", AccessLevel.view_only),
    ("firewallRuleRights", "Firewall Rules", AccessLevel.view_only),
    ("statefulConfigurationRights", "Firewall Stateful Configurations", AccessLevel.view_only),
    ("intrusionPreventionRuleRights", "Intrusion Prevention Rules", AccessLevel.view_only),
    ("applicationTypeRights", "Application Types", AccessLevel.view_only),
    ("macListRights", "MAC Lists", AccessLevel.view_only),
    ("contextRights", "Contexts", AccessLevel.view_only),
    ("multiTenantRights", "Tenant Account", AccessLevel.hide),
)

OTHER_RIGHTS_KEYS: frozenset[str] = frozenset(key for key, _, _ in OTHER_RIGHTS_FEATURES)

#: The rights each User Rights preset stands for (the console's three detail tables).
USER_RIGHTS_BY_PRESET: dict[UserRightsPreset, dict[str, bool]] = {
    UserRightsPreset.change_own_password: {
        "can_view_users": False,
        "can_create_new_users": False,
        "can_edit_user_properties": False,
        "can_delete_users": False,
        "can_view_roles": False,
        "can_create_new_roles": False,
        "can_edit_role_properties": False,
        "can_delete_roles": False,
        "can_only_manipulate_users_with_equal_or_lesser_rights": False,
    },
    UserRightsPreset.create_manage_equal_or_less: {
        "can_view_users": True,
        "can_create_new_users": True,
        "can_edit_user_properties": True,
        "can_delete_users": True,
        "can_view_roles": False,
        "can_create_new_roles": False,
        "can_edit_role_properties": False,
        "can_delete_roles": False,
        "can_only_manipulate_users_with_equal_or_lesser_rights": True,
    },
    UserRightsPreset.full_control: {
        "can_view_users": True,
        "can_create_new_users": True,
        "can_edit_user_properties": True,
        "can_delete_users": True,
        "can_view_roles": True,
        "can_create_new_roles": True,
        "can_edit_role_properties": True,
        "can_delete_roles": True,
        # "Not applicable" in the seed: full control is not limited by delegation.
        "can_only_manipulate_users_with_equal_or_lesser_rights": False,
    },
}


@dataclass(frozen=True)
class RoleRights:
    """Everything a role grants. Defaults are the seed's "New Role Defaults" column."""

    allow_user_interface: bool = True
    allow_web_service: bool = False
    # Computer Rights
    all_computers: bool = True
    can_view_computers: bool = True
    can_edit_computer_properties: bool = False
    can_delete_computers: bool = False
    can_dismiss_alerts: bool = False
    can_tag_computers: bool = False
    can_view_other_computers: bool = True
    can_view_not_related_to_computers: bool = True
    can_create_new_computers: bool = False
    can_add_and_remove_computer_groups: bool = False
    can_import_computers: bool = False
    can_manage_directories: bool = False
    can_manage_v_centers: bool = False
    can_manage_cloud_accounts: bool = False
    # Policy Rights
    all_policies: bool = True
    can_view_policies: bool = True
    can_edit_policy_properties: bool = False
    can_delete_policies: bool = False
    can_view_other_policies: bool = True
    can_create_new_policies: bool = False
    can_import_policies: bool = False
    # User Rights
    user_rights: UserRightsPreset = UserRightsPreset.change_own_password
    can_view_users: bool = False
    can_create_new_users: bool = False
    can_edit_user_properties: bool = False
    can_delete_users: bool = False
    can_view_roles: bool = False
    can_create_new_roles: bool = False
    can_edit_role_properties: bool = False
    can_delete_roles: bool = False
    can_only_manipulate_users_with_equal_or_lesser_rights: bool = False
    # Other Rights
    other_rights: dict[str, str] = field(
        default_factory=lambda: {key: level.value for key, _, level in OTHER_RIGHTS_FEATURES}
    )

    def with_user_rights(self, preset: UserRightsPreset) -> RoleRights:
        """These rights with a User Rights preset applied (custom keeps the current flags)."""
        flags: dict[str, Any] = dict(USER_RIGHTS_BY_PRESET.get(preset, {}))
        return replace(self, user_rights=preset, **flags)

    def as_columns(self) -> dict[str, Any]:
        """The rights as ``storage.models.Role`` column values."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["user_rights"] = self.user_rights.value
        values["other_rights"] = dict(self.other_rights)
        return values


def read_only_rights(rights: RoleRights) -> RoleRights:
    """What a read-only administrator keeps of a role: its views, nothing that changes.

    Every ``can_*`` right but the ``can_view_*`` ones is off, Other Rights above view-only
    are view-only, and User Rights fall back to "change own password and contact
    information only" (the views it had stay).
    """
    flags: dict[str, Any] = {
        f.name: False
        for f in fields(rights)
        if f.name.startswith("can_")
        and not f.name.startswith("can_view_")
        and f.name != "can_only_manipulate_users_with_equal_or_lesser_rights"
    }
    levels = {
        key: AccessLevel.view_only.value
        if level in (AccessLevel.full.value, AccessLevel.custom.value)
        else level
        for key, level in rights.other_rights.items()
    }
    user_rights = (
        UserRightsPreset.change_own_password
        if not (rights.can_view_users or rights.can_view_roles)
        else UserRightsPreset.custom
    )
    return replace(rights, other_rights=levels, user_rights=user_rights, **flags)


NEW_ROLE_DEFAULTS = RoleRights()

FULL_ACCESS = RoleRights(
    allow_user_interface=True,
    allow_web_service=True,
    can_edit_computer_properties=True,
    can_delete_computers=True,
    can_dismiss_alerts=True,
    can_tag_computers=True,
    can_create_new_computers=True,
    can_add_and_remove_computer_groups=True,
    can_import_computers=True,
    can_manage_directories=True,
    can_manage_v_centers=True,
    can_manage_cloud_accounts=True,
    can_edit_policy_properties=True,
    can_delete_policies=True,
    can_create_new_policies=True,
    can_import_policies=True,
    other_rights={key: AccessLevel.full.value for key, _, _ in OTHER_RIGHTS_FEATURES},
).with_user_rights(UserRightsPreset.full_control)

AUDITOR = RoleRights(allow_user_interface=True, allow_web_service=True)


@dataclass(frozen=True)
class PreconfiguredRole:
    name: str
    description: str
    rights: RoleRights
    immutable: bool = False


#: The five roles every new account gets. The console's table covers only Full Access and
#: Auditor / Read Only; the Migration and Vision One roles are integration roles that act with
#: full rights over the web service API only.
PRECONFIGURED_ROLES: tuple[PreconfiguredRole, ...] = (
    PreconfiguredRole(
        "Full Access",
        "All possible privileges: create, edit and delete resources, policies, rules, users "
        "and roles.",
        FULL_ACCESS,
    ),
    PreconfiguredRole(
        "Auditor",
        "Views all information without making changes, except to personal settings.",
        AUDITOR,
    ),
    PreconfiguredRole(
        "Workload Security Read Only",
        "The same settings as Auditor; this role cannot be modified.",
        AUDITOR,
        immutable=True,
    ),
    PreconfiguredRole(
        "Deep Security Migration",
        "Used by Deep Security software for migration to Workload Security.",
        replace(FULL_ACCESS, allow_user_interface=False),
    ),
    PreconfiguredRole(
        "Trend Vision One",
        "Used by Trend Vision One.",
        replace(FULL_ACCESS, allow_user_interface=False),
    ),
)
