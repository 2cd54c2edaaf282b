"""The JSON dataset format of ``reportd import`` and ``reportd export``.

Keys follow the Workload Security API (camelCase, ``ID`` suffixes: ``groupID``,
``parentGroupID``, ``parentID``, ``roleID``). ``ID`` values inside a file are the file's own
references; importing gives every object a new id in the target account. The pydantic models
below are the format's definition; ``docs/dataset.schema.json`` is generated from them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from service.directory.rights import (
    OTHER_RIGHTS_FEATURES,
    OTHER_RIGHTS_KEYS,
    AccessLevel,
    RoleRights,
    UserRightsPreset,
)
from service.fields import (
    ID,
    Description,
    EmailAddress,
    EventText,
    HostName,
    Label,
    Name,
    PhoneNumber,
    ReportPassword,
    TagLabel,
    TimeZone,
    Username,
)
from service.reports.model import EventModule
from storage.criteria import AgentStatus, SmartFolderCriteria

#: The value of ``format`` this module reads and writes.
FORMAT = "reportd-dataset/1"


def _aware_time(value: Any) -> Any:
    """Epoch milliseconds (the API's way) or ISO 8601 with a zone; never a naive time."""
    if isinstance(value, bool):
        raise ValueError("a time must be epoch milliseconds or ISO 8601 with a zone")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"time {value!r} ms is out of range") from None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"time {value!r} has no zone; add Z or an offset")
        return parsed.astimezone(UTC)
    return value


Time = Annotated[
    datetime,
    BeforeValidator(_aware_time),
    PlainSerializer(lambda t: int(t.timestamp() * 1000), return_type=int),
]


class Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", serialize_by_alias=True)


class ComputerRightsIn(Record):
    can_view_computers: bool = Field(True, alias="canViewComputers")
    can_edit_computer_properties: bool = Field(False, alias="canEditComputerProperties")
    can_delete_computers: bool = Field(False, alias="canDeleteComputers")
    can_dismiss_alerts: bool = Field(False, alias="canDismissAlerts")
    can_tag_computers: bool = Field(False, alias="canTagComputers")
    can_view_other_computers: bool = Field(True, alias="canViewOtherComputers")
    can_view_not_related_to_computers: bool = Field(True, alias="canViewNotRelatedToComputers")
    can_create_new_computers: bool = Field(False, alias="canCreateNewComputers")
    can_add_and_remove_computer_groups: bool = Field(False, alias="canAddAndRemoveComputerGroups")
    can_import_computers: bool = Field(False, alias="canImportComputers")
    can_manage_directories: bool = Field(False, alias="canManageDirectories")
    can_manage_v_centers: bool = Field(False, alias="canManageVCenters")
    can_manage_cloud_accounts: bool = Field(False, alias="canManageCloudAccounts")


class PolicyRightsIn(Record):
    can_view_policies: bool = Field(True, alias="canViewPolicies")
    can_edit_policy_properties: bool = Field(False, alias="canEditPolicyProperties")
    can_delete_policies: bool = Field(False, alias="canDeletePolicies")
    can_view_other_policies: bool = Field(True, alias="canViewOtherPolicies")
    can_create_new_policies: bool = Field(False, alias="canCreateNewPolicies")
    can_import_policies: bool = Field(False, alias="canImportPolicies")


class AdministratorRightsIn(Record):
    """Custom User Rights: administrators (the SDK's ``administratorRights``)."""

    can_view_users: bool = Field(False, alias="canViewAdministrators")
    can_create_new_users: bool = Field(False, alias="canCreateNewAdministrators")
    can_edit_user_properties: bool = Field(False, alias="canEditAdministratorProperties")
    can_delete_users: bool = Field(False, alias="canDeleteAdministrators")


class AdministratorRoleRightsIn(Record):
    """Custom User Rights: roles (the SDK's ``administratorRoleRights``)."""

    can_view_roles: bool = Field(False, alias="canViewAdministratorRoles")
    can_create_new_roles: bool = Field(False, alias="canCreateNewAdministratorRoles")
    can_edit_role_properties: bool = Field(False, alias="canEditAdministratorRoleProperties")
    can_delete_roles: bool = Field(False, alias="canDeleteAdministratorRoles")


class PlatformRightsIn(Record):
    computer_rights: ComputerRightsIn = Field(
        default_factory=ComputerRightsIn, alias="computerRights"
    )
    policy_rights: PolicyRightsIn = Field(default_factory=PolicyRightsIn, alias="policyRights")
    #: User Rights flags: read when ``userRights`` is ``custom``; with a preset, if given, they
    #: must be the preset's.
    administrator_rights: AdministratorRightsIn | None = Field(None, alias="administratorRights")
    administrator_role_rights: AdministratorRoleRightsIn | None = Field(
        None, alias="administratorRoleRights"
    )


class RightsIn(Record):
    platform_rights: PlatformRightsIn = Field(
        default_factory=PlatformRightsIn, alias="platformRights"
    )


class RoleIn(Record):
    """A role; rights absent from the record take the seed's "New Role Defaults"."""

    id: ID = Field(alias="ID")
    name: Name
    description: Description = ""
    immutable: bool = False
    allow_user_interface: bool = Field(True, alias="allowUserInterface")
    allow_web_service: bool = Field(False, alias="allowWebService")
    all_computers: bool = Field(True, alias="allComputers")
    computer_ids: list[ID] = Field(default_factory=list, alias="computerIDs")
    computer_group_ids: list[ID] = Field(default_factory=list, alias="computerGroupIDs")
    all_policies: bool = Field(True, alias="allPolicies")
    policy_ids: list[ID] = Field(default_factory=list, alias="policyIDs")
    rights: RightsIn = Field(default_factory=RightsIn)
    user_rights: UserRightsPreset = Field(UserRightsPreset.change_own_password, alias="userRights")
    #: Custom User Rights' "delegate authority" (the SDK's top-level flag of a role).
    can_only_manipulate_users_with_equal_or_lesser_rights: bool | None = Field(
        None, alias="canOnlyManipulateUsersWithEqualOrLesserRights"
    )
    other_rights: dict[str, AccessLevel] = Field(default_factory=dict, alias="otherRights")

    def role_rights(self) -> RoleRights:
        unknown = set(self.other_rights) - OTHER_RIGHTS_KEYS
        if unknown:
            raise ValueError(f"otherRights: unknown feature(s) {', '.join(sorted(unknown))}")
        other = {key: level.value for key, _, level in OTHER_RIGHTS_FEATURES}
        other.update({key: level.value for key, level in self.other_rights.items()})
        platform = self.rights.platform_rights
        rights = RoleRights(
            allow_user_interface=self.allow_user_interface,
            allow_web_service=self.allow_web_service,
            all_computers=self.all_computers,
            all_policies=self.all_policies,
            other_rights=other,
            **platform.computer_rights.model_dump(by_alias=False),
            **platform.policy_rights.model_dump(by_alias=False),
        ).with_user_rights(self.user_rights)
        flags = self._user_flags()
        if self.user_rights is UserRightsPreset.custom:
            return replace(rights, **flags)
        differ = sorted(name for name, value in flags.items() if getattr(rights, name) != value)
        if differ:
            raise ValueError(
                f"userRights: the preset {self.user_rights.value!r} does not grant what the "
                f"record's user rights flags say ({', '.join(differ)}); use 'custom'"
            )
        return rights

    def _user_flags(self) -> dict[str, Any]:
        """The User Rights flags the record gives (none given: the preset's, or all off)."""
        platform = self.rights.platform_rights
        flags: dict[str, Any] = {}
        for given in (platform.administrator_rights, platform.administrator_role_rights):
            if given is not None:
                flags.update(given.model_dump(by_alias=False))
        delegate = self.can_only_manipulate_users_with_equal_or_lesser_rights
        if delegate is not None:
            flags["can_only_manipulate_users_with_equal_or_lesser_rights"] = delegate
        return flags


class ComputerGroupIn(Record):
    id: ID = Field(alias="ID")
    name: Name
    description: Description = ""
    parent_group_id: ID | None = Field(None, alias="parentGroupID")


class PolicyIn(Record):
    id: ID = Field(alias="ID")
    name: Name
    description: Description = ""
    parent_id: ID | None = Field(None, alias="parentID")


class ComputerIn(Record):
    id: ID = Field(alias="ID")
    host_name: HostName = Field(alias="hostName")
    display_name: Label = Field("", alias="displayName")
    description: Description = ""
    platform: Label = ""
    group_id: ID | None = Field(None, alias="groupID")
    policy_id: ID | None = Field(None, alias="policyID")
    agent_status: AgentStatus = Field(AgentStatus.active, alias="agentStatus")
    last_agent_communication: Time | None = Field(None, alias="lastAgentCommunication")
    tags: list[TagLabel] = Field(default_factory=list)
    modules: list[EventModule] = Field(default_factory=list)


class SecurityEventIn(Record):
    id: ID | None = Field(None, alias="ID")
    computer_id: ID = Field(alias="computerID")
    module: EventModule
    time: Time
    severity: Literal["info", "low", "medium", "high", "critical"] = "medium"
    name: Label = ""
    action: Label = ""
    details: EventText = ""


class SystemEventIn(Record):
    id: ID | None = Field(None, alias="ID")
    computer_id: ID | None = Field(None, alias="computerID")
    time: Time
    event_code: int = Field(0, alias="eventID")
    level: Literal["info", "warning", "error"] = "info"
    name: Label = ""
    description: EventText = ""
    actor: Label = Field("System", alias="actionPerformedBy")
    origin: Label = ""


class AlertIn(Record):
    id: ID | None = Field(None, alias="ID")
    computer_id: ID | None = Field(None, alias="computerID")
    raised: Time = Field(alias="timeRaised")
    severity: Literal["warning", "critical"] = "warning"
    name: Label = ""
    description: EventText = ""
    dismissed: bool = False


class ContactIn(Record):
    id: ID | None = Field(None, alias="ID")
    name: Name
    description: Description = ""
    email_address: EmailAddress = Field(alias="emailAddress")
    phone_number: PhoneNumber = Field("", alias="phoneNumber")
    mobile_number: PhoneNumber = Field("", alias="mobileNumber")
    pager_number: PhoneNumber = Field("", alias="pagerNumber")
    locale: str = "en-US"
    time_zone: TimeZone = Field("UTC", alias="timeZone")
    role_id: ID | None = Field(
        alias="roleID", description="The clearance; null means none, and reports show nothing."
    )
    report_pdf_password_enabled: bool = Field(False, alias="reportPDFPasswordEnabled")
    report_pdf_password: ReportPassword | None = Field(
        None, alias="reportPDFPassword", description="Write-only: never exported."
    )


class UserIn(Record):
    """An administrator of the account: the person (one identity across accounts, found by
    address) and their membership here (role, active, read-only, ...). Sign-in passwords,
    second factors and tokens are never part of the format."""

    id: ID | None = Field(None, alias="ID")
    username: Username | None = Field(None, description="Default: the email address.")
    name: Name = Field(alias="fullName")
    email_address: EmailAddress = Field(alias="emailAddress")
    phone_number: PhoneNumber = Field("", alias="phoneNumber")
    mobile_number: PhoneNumber = Field("", alias="mobileNumber")
    pager_number: PhoneNumber = Field("", alias="pagerNumber")
    locale: str = "en-US"
    time_zone: TimeZone = Field("UTC", alias="timeZone")
    time_format: Literal["12", "24"] = Field("24", alias="timeFormat")
    report_pdf_password_enabled: bool = Field(False, alias="reportPDFPasswordEnabled")
    report_pdf_password: ReportPassword | None = Field(
        None, alias="reportPDFPassword", description="Write-only: never exported."
    )
    role_id: ID | None = Field(
        alias="roleID", description="The role in this account; null means none (sees nothing)."
    )
    description: Description = ""
    active: bool = True
    read_only: bool = Field(False, alias="readOnly")
    receive_notifications: bool = Field(False, alias="receiveNotifications")


class SmartFolderIn(Record):
    """A saved computer query; ``computerGroupID`` and ``policyID`` in its criteria are the
    file's IDs, like every reference."""

    id: int | None = Field(None, alias="ID")
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    criteria: SmartFolderCriteria = Field(default_factory=SmartFolderCriteria)


class Dataset(Record):
    """A whole account's worth of objects; every list is optional."""

    format: Literal["reportd-dataset/1"] = "reportd-dataset/1"
    roles: list[RoleIn] = Field(default_factory=list)
    computer_groups: list[ComputerGroupIn] = Field(default_factory=list, alias="computerGroups")
    policies: list[PolicyIn] = Field(default_factory=list)
    computers: list[ComputerIn] = Field(default_factory=list)
    events: list[SecurityEventIn] = Field(default_factory=list)
    system_events: list[SystemEventIn] = Field(default_factory=list, alias="systemEvents")
    alerts: list[AlertIn] = Field(default_factory=list)
    contacts: list[ContactIn] = Field(default_factory=list)
    users: list[UserIn] = Field(default_factory=list)
    smart_folders: list[SmartFolderIn] = Field(default_factory=list, alias="smartFolders")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the format, as published in ``docs/dataset.schema.json``."""
    schema = Dataset.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reportd dataset"
    return schema
