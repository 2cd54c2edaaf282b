"""The role form: seed 003's whole rights model as labelled controls, and back to a RoleSpec.

The labels are the console's (from the seed's tables), marked for translation; the keys are
``RoleRights`` fields. A form becomes a :class:`~service.directory.role_specs.RoleSpec` here;
whether the caller may store it is ``service.directory.role_admin``'s to decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from starlette.datastructures import FormData

from service.console.i18n import N_
from service.directory.rights import (
    NEW_ROLE_DEFAULTS,
    USER_RIGHTS_BY_PRESET,
    AccessLevel,
    RoleRights,
    UserRightsPreset,
)
from service.directory.role_specs import RoleSpec, Selection
from service.errors import InvalidInput

Labelled = tuple[tuple[str, str], ...]

GENERAL: Labelled = (
    ("allow_user_interface", N_("Allow access to the console (user interface)")),
    ("allow_web_service", N_("Allow access to the web services API")),
)
COMPUTER_RIGHTS: Labelled = (
    ("can_view_computers", N_("View")),
    ("can_edit_computer_properties", N_("Edit")),
    ("can_delete_computers", N_("Delete")),
    ("can_dismiss_alerts", N_("Dismiss alerts")),
    ("can_tag_computers", N_("Tag items")),
)
COMPUTER_OPTIONS: Labelled = (
    (
        "can_view_other_computers",
        N_("Allow viewing of non-selected computers and data (e.g. events, reports)"),
    ),
    (
        "can_view_not_related_to_computers",
        N_("Allow viewing of events and alerts not related to computers"),
    ),
    ("can_create_new_computers", N_("Allow new computers to be created in selected groups")),
    (
        "can_add_and_remove_computer_groups",
        N_("Allow sub-groups to be added or removed in selected groups"),
    ),
)
COMPUTER_ADVANCED: Labelled = (
    ("can_import_computers", N_("Allow computer file imports")),
    ("can_manage_directories", N_("Allow directories to be added, removed and synchronized")),
    ("can_manage_v_centers", N_("Allow VMware vCenters to be added, removed and synchronized")),
    (
        "can_manage_cloud_accounts",
        N_("Allow cloud accounts to be added, removed and synchronized"),
    ),
)
POLICY_RIGHTS: Labelled = (
    ("can_view_policies", N_("View")),
    ("can_edit_policy_properties", N_("Edit")),
    ("can_delete_policies", N_("Delete")),
)
POLICY_OPTIONS: Labelled = (
    ("can_view_other_policies", N_("Allow viewing of non-selected policies")),
    ("can_create_new_policies", N_("Allow new policies to be created")),
)
POLICY_ADVANCED: Labelled = (("can_import_policies", N_("Allow policy imports")),)
USER_PRESETS: Labelled = (
    (
        UserRightsPreset.change_own_password.value,
        N_("Change own password and contact information only"),
    ),
    (
        UserRightsPreset.create_manage_equal_or_less.value,
        N_("Create and manage users and API keys with equal or less access"),
    ),
    (UserRightsPreset.full_control.value, N_("Have full control over all roles and users")),
    (UserRightsPreset.custom.value, N_("Custom")),
)
USER_RIGHTS: tuple[tuple[str, Labelled], ...] = (
    (
        N_("Users"),
        (
            ("can_view_users", N_("Can view users")),
            ("can_create_new_users", N_("Can create new users")),
            (
                "can_edit_user_properties",
                N_("Can edit user properties (users can always edit some of their own)"),
            ),
            ("can_delete_users", N_("Can delete users")),
        ),
    ),
    (
        N_("Roles"),
        (
            ("can_view_roles", N_("Can view roles")),
            ("can_create_new_roles", N_("Can create new roles")),
            (
                "can_edit_role_properties",
                N_(
                    "Can edit role properties (this lets users with the role edit their own rights)"
                ),
            ),
            ("can_delete_roles", N_("Can delete roles")),
        ),
    ),
    (
        N_("Delegate authority"),
        (
            (
                "can_only_manipulate_users_with_equal_or_lesser_rights",
                N_("Can only manipulate users with equal or lesser rights"),
            ),
        ),
    ),
)
LEVELS: Labelled = (
    (AccessLevel.hide.value, N_("Hide")),
    (AccessLevel.view_only.value, N_("View-Only")),
    (AccessLevel.full.value, N_("Full")),
    (AccessLevel.custom.value, N_("Custom (kept as Full)")),
)
#: Other Rights features: key -> label, in the console's table order.
OTHER_RIGHTS: Labelled = (
    ("scanCacheRights", N_("Scan Cache Configuration Administration")),
    ("agentVersionControlRights", N_("Agent Version Controls")),
    ("dataCenterGatewayRights", N_("Data Center Gateways")),
    ("alertRights", N_("Alerts")),
    ("alertConfigurationRights", N_("Alert Configuration")),
    ("iplistRights", N_("IP Lists")),
    ("portListRights", N_("Port Lists")),
    ("scheduleRights", N_("Schedules")),
    ("settingRights", N_("System Settings (Global)")),
    ("expertSettingRights", N_("Expert Settings")),
    ("systemInformationRights", N_("System Information")),
    ("diagnosticRights", N_("Diagnostics")),
    ("taggingRights", N_("Tagging")),
    ("scheduledTaskRights", N_("Tasks")),
    ("contactRights", N_("Contacts")),
    ("licenseRights", N_("Licenses")),
    ("updateRights", N_("Updates")),
    ("assetValueRights", N_("Asset Values")),
    ("certificateRights", N_("Certificates")),
    ("relayGroupRights", N_("Relay Management")),
    ("proxyRights", N_("Proxy")),
    ("syslogConfigurationRights", N_("Syslog Configurations")),
    ("usbDeviceRights", N_("USB Device")),
    ("malwareScanConfigurationRights", N_("Malware Scan Configuration")),
    ("identifiedFileRights", N_("Identified File")),
    ("webReputationConfigurationRights", N_("Web Reputation Configuration")),
    ("activityMonitoringConfigurationRights", N_("Activity Monitoring Configuration")),
    ("directoryListRights", N_("Directory Lists")),
    ("fileListRights", N_("File Lists")),
    ("fileExtensionListRights", N_("File Extension Lists")),
    ("applicationControlRulesetRights", N_("Application Control Rulesets")),
    ("applicationControlRuleRights", N_("Application Control Rule")),
    (
        "applicationControlUnrecognizedSoftwareRights",
        N_("Application Control Unrecognized Software"),
    ),
    ("softwareInventoryRights", N_("Application Control Software Inventory")),
    ("integrityMonitoringRuleRights", N_("Integrity Monitoring Rules")),
    ("logInspectionRuleRights", N_("Log Inspection Rules")),
    ("logInspectionDecoderRights", N_("Log Inspection Decoders")),
    ("firewallRuleRights", N_("Firewall Rules")),
    ("statefulConfigurationRights", N_("Firewall Stateful Configurations")),
    ("intrusionPreventionRuleRights", N_("Intrusion Prevention Rules")),
    ("applicationTypeRights", N_("Application Types")),
    ("macListRights", N_("MAC Lists")),
    ("contextRights", N_("Contexts")),
    ("multiTenantRights", N_("Tenant Account")),
)

#: Every boolean right the form has a checkbox for.
FLAGS = frozenset(
    key
    for group in (
        GENERAL,
        COMPUTER_RIGHTS,
        COMPUTER_OPTIONS,
        COMPUTER_ADVANCED,
        POLICY_RIGHTS,
        POLICY_OPTIONS,
        POLICY_ADVANCED,
        *(flags for _, flags in USER_RIGHTS),
    )
    for key, _ in group
)
LEVEL_VALUES = frozenset(value for value, _ in LEVELS)
PRESET_VALUES = frozenset(value for value, _ in USER_PRESETS)


def _ids(form: FormData, name: str) -> frozenset[int]:
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    if not all(v.isdigit() for v in values):
        raise InvalidInput(f"{name}: choose from the list")
    return frozenset(int(v) for v in values)


@dataclass
class RoleForm:
    """A role as the form shows it: name, description, rights and selection."""

    name: str = ""
    description: str = ""
    rights: RoleRights = NEW_ROLE_DEFAULTS
    selection: Selection = field(default_factory=Selection)
    error: str = ""

    @property
    def spec(self) -> RoleSpec:
        return RoleSpec(rights=self.rights, selection=self.selection)

    @property
    def columns(self) -> dict[str, Any]:
        return self.rights.as_columns()

    @classmethod
    def posted(cls, form: FormData) -> RoleForm:
        """The role a posted form describes; InvalidInput names a control that lies."""
        values: dict[str, Any] = {key: form.get(key) == "on" for key in FLAGS}
        values["all_computers"] = form.get("computers") != "selected"
        values["all_policies"] = form.get("policies") != "selected"
        preset = str(form.get("user_rights") or UserRightsPreset.custom.value)
        if preset not in PRESET_VALUES:
            raise InvalidInput("userRights: choose one of the options")
        values["user_rights"] = UserRightsPreset(preset)
        if values["user_rights"] is not UserRightsPreset.custom:
            values.update(USER_RIGHTS_BY_PRESET[values["user_rights"]])
        other = {}
        for key, _ in OTHER_RIGHTS:
            level = str(form.get(f"other.{key}") or AccessLevel.hide.value)
            if level not in LEVEL_VALUES:
                raise InvalidInput(f"otherRights.{key}: choose one of the levels")
            other[key] = level
        values["other_rights"] = other
        rights = replace(NEW_ROLE_DEFAULTS, **values)
        selection = Selection(
            computer_ids=_ids(form, "computer_ids") if not rights.all_computers else frozenset(),
            computer_group_ids=(
                _ids(form, "group_ids") if not rights.all_computers else frozenset()
            ),
            policy_ids=_ids(form, "policy_ids") if not rights.all_policies else frozenset(),
        )
        name = form.get("name")
        description = form.get("description")
        return cls(
            name=name if isinstance(name, str) else "",
            description=description if isinstance(description, str) else "",
            rights=rights,
            selection=selection,
        )
