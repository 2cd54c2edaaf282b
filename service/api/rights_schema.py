"""The SDK's ``Rights`` object as pydantic models: every flag of every feature reportd keeps.

Generated once from ``deep-security-api`` 20.0.463 (``deepsecurity/models/*_rights.py``) for the
features of the console's rights table; field names are the SDK's JSON names. Every flag is
optional: a feature object that is given counts its missing flags as false (the SDK leaves
unset flags out).
``canViewComputers`` and ``canViewPolicies`` are reportd's additions (the table's "View" rows).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Flags(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdministratorRights(Flags):
    canCreateNewAdministrators: bool | None = None
    canDeleteAdministrators: bool | None = None
    canEditAdministratorProperties: bool | None = None
    canViewAdministrators: bool | None = None


class AdministratorRoleRights(Flags):
    canCreateNewAdministratorRoles: bool | None = None
    canDeleteAdministratorRoles: bool | None = None
    canEditAdministratorRoleProperties: bool | None = None
    canViewAdministratorRoles: bool | None = None


class AgentVersionControlRights(Flags):
    canEditAgentVersionControls: bool | None = None


class AlertConfigurationRights(Flags):
    canEditAlertConfigurations: bool | None = None


class AlertRights(Flags):
    canDismissGlobalAlerts: bool | None = None


class CertificateRights(Flags):
    canCreateNewCertificates: bool | None = None
    canDeleteCertificates: bool | None = None


class ComputerRights(Flags):
    canViewComputers: bool | None = None
    canAddAndRemoveComputerGroups: bool | None = None
    canCreateNewComputers: bool | None = None
    canDeleteComputers: bool | None = None
    canDismissAlerts: bool | None = None
    canEditComputerProperties: bool | None = None
    canImportComputers: bool | None = None
    canManageCloudAccounts: bool | None = None
    canManageDirectories: bool | None = None
    canManageVCenters: bool | None = None
    canTagComputers: bool | None = None
    canViewNotRelatedToComputers: bool | None = None
    canViewOtherComputers: bool | None = None


class ContactRights(Flags):
    canCreateNewContacts: bool | None = None
    canDeleteContacts: bool | None = None
    canEditContactProperties: bool | None = None
    canViewContacts: bool | None = None


class DiagnosticRights(Flags):
    canCreateDiagnosticPackages: bool | None = None


class AssetValueRights(Flags):
    canCreateNewAssetValues: bool | None = None
    canDeleteAssetValues: bool | None = None
    canEditAssetValueProperties: bool | None = None


class LicenseRights(Flags):
    canChangeLicense: bool | None = None
    canViewLicense: bool | None = None


class MultiTenantRights(Flags):
    canCreateTenants: bool | None = None
    canDeleteTenants: bool | None = None
    canEditTenantGeneralProperties: bool | None = None
    canEditTenantModules: bool | None = None
    canEditTenantAccountDetails: bool | None = None
    canEditTenantFeatures: bool | None = None
    canEditTenantSettings: bool | None = None
    canCreateAndEditTenantDatabaseServers: bool | None = None
    canDeleteTenantDatabaseServers: bool | None = None
    canManageTenantAPIKeys: bool | None = None
    canSignInAsTenant: bool | None = None
    canViewTenants: bool | None = None


class PolicyRights(Flags):
    canViewPolicies: bool | None = None
    canCreateNewPolicies: bool | None = None
    canDeletePolicies: bool | None = None
    canEditPolicyProperties: bool | None = None
    canImportPolicies: bool | None = None
    canViewOtherPolicies: bool | None = None


class PortListRights(Flags):
    canCreateNewPortLists: bool | None = None
    canDeletePortLists: bool | None = None
    canEditPortListProperties: bool | None = None


class ProxyRights(Flags):
    canCreateNewProxies: bool | None = None
    canDeleteProxies: bool | None = None
    canEditProxyProperties: bool | None = None


class RelayGroupRights(Flags):
    canCreateNewRelayGroups: bool | None = None
    canDeleteRelayGroups: bool | None = None
    canEditRelayGroupProperties: bool | None = None


class ScanCacheRights(Flags):
    canManageScanCache: bool | None = None


class ScheduledTaskRights(Flags):
    canCreateNewScheduledTasks: bool | None = None
    canDeleteScheduledTasks: bool | None = None
    canEditScheduledTaskProperties: bool | None = None
    canExecuteScheduledTasks: bool | None = None
    canViewScheduledTasks: bool | None = None


class ScheduleRights(Flags):
    canCreateNewSchedules: bool | None = None
    canDeleteSchedules: bool | None = None
    canEditScheduleProperties: bool | None = None


class SettingRights(Flags):
    canEditSettings: bool | None = None
    canViewSettings: bool | None = None


class ExpertSettingRights(Flags):
    canEditExpertSettings: bool | None = None
    canViewExpertSettings: bool | None = None


class SyslogConfigurationRights(Flags):
    canCreateNewSyslogConfigurations: bool | None = None
    canDeleteSyslogConfigurations: bool | None = None
    canEditSyslogConfigurationProperties: bool | None = None


class SystemInformationRights(Flags):
    canManageExtensions: bool | None = None
    canManageNodes: bool | None = None
    canViewSystemInformation: bool | None = None


class TaggingRights(Flags):
    canDeleteAutoTagRules: bool | None = None
    canUpdateAutoTagRules: bool | None = None
    canRunAutoTagRules: bool | None = None
    canDeleteTags: bool | None = None
    canTag: bool | None = None


class UpdateRights(Flags):
    canImportSoftware: bool | None = None
    canDeleteSoftware: bool | None = None
    canEditSoftwareProperties: bool | None = None
    canImportRuleUpdates: bool | None = None
    canDeleteRuleUpdates: bool | None = None
    canViewRuleUpdates: bool | None = None


class ApiKeyRights(Flags):
    canCreateNewApiKeys: bool | None = None
    canDeleteApiKeys: bool | None = None
    canEditApiKeyProperties: bool | None = None
    canViewApiKeys: bool | None = None


class IpListRights(Flags):
    canCreateNewIPLists: bool | None = None
    canDeleteIPLists: bool | None = None
    canEditIPListProperties: bool | None = None


class DirectoryListRights(Flags):
    canCreateNewDirectoryLists: bool | None = None
    canDeleteDirectoryLists: bool | None = None
    canEditDirectoryListProperties: bool | None = None


class FileListRights(Flags):
    canCreateNewFileLists: bool | None = None
    canDeleteFileLists: bool | None = None
    canEditFileListProperties: bool | None = None


class FileExtensionListRights(Flags):
    canCreateNewFileExtensionLists: bool | None = None
    canDeleteFileExtensionLists: bool | None = None
    canEditFileExtensionListProperties: bool | None = None


class IdentifiedFileRights(Flags):
    canDeleteIdentifiedFiles: bool | None = None
    canDownloadIdentifiedFiles: bool | None = None
    canRestoreIdentifiedFiles: bool | None = None
    canSubmitIdentifiedFiles: bool | None = None


class WebReputationConfigurationRights(Flags):
    canEditWebReputationConfiguration: bool | None = None


class ContextRights(Flags):
    canCreateNewContexts: bool | None = None
    canDeleteContexts: bool | None = None
    canEditContextProperties: bool | None = None


class FirewallRuleRights(Flags):
    canCreateNewFirewallRules: bool | None = None
    canDeleteFirewallRules: bool | None = None
    canEditFirewallRuleProperties: bool | None = None


class StatefulConfigurationRights(Flags):
    canCreateNewStatefulConfigurations: bool | None = None
    canDeleteStatefulConfigurations: bool | None = None
    canEditStatefulConfigurationProperties: bool | None = None


class MacListRights(Flags):
    canCreateNewMACLists: bool | None = None
    canDeleteMACLists: bool | None = None
    canEditMACListProperties: bool | None = None


class ApplicationTypeRights(Flags):
    canCreateNewApplicationTypes: bool | None = None
    canDeleteApplicationTypes: bool | None = None
    canEditApplicationTypeProperties: bool | None = None


class IntrusionPreventionRuleRights(Flags):
    canCreateNewIntrusionPreventionRules: bool | None = None
    canDeleteIntrusionPreventionRules: bool | None = None
    canEditIntrusionPreventionRuleProperties: bool | None = None


class IntegrityMonitoringRuleRights(Flags):
    canCreateNewIntegrityMonitoringRules: bool | None = None
    canDeleteIntegrityMonitoringRules: bool | None = None
    canEditIntegrityMonitoringRuleProperties: bool | None = None


class LogInspectionDecoderRights(Flags):
    canCreateNewLogInspectionDecoders: bool | None = None
    canDeleteLogInspectionDecoders: bool | None = None
    canEditLogInspectionDecoderProperties: bool | None = None


class LogInspectionRuleRights(Flags):
    canCreateNewLogInspectionRules: bool | None = None
    canDeleteLogInspectionRules: bool | None = None
    canEditLogInspectionRuleProperties: bool | None = None


class SoftwareInventoryRights(Flags):
    canCreateNewSoftwareInventory: bool | None = None
    canDeleteSoftwareInventory: bool | None = None
    canViewSoftwareInventory: bool | None = None


class PlatformRights(Flags):
    administratorRights: AdministratorRights | None = None
    administratorRoleRights: AdministratorRoleRights | None = None
    agentVersionControlRights: AgentVersionControlRights | None = None
    alertConfigurationRights: AlertConfigurationRights | None = None
    alertRights: AlertRights | None = None
    certificateRights: CertificateRights | None = None
    computerRights: ComputerRights | None = None
    contactRights: ContactRights | None = None
    diagnosticRights: DiagnosticRights | None = None
    assetValueRights: AssetValueRights | None = None
    licenseRights: LicenseRights | None = None
    multiTenantRights: MultiTenantRights | None = None
    policyRights: PolicyRights | None = None
    portListRights: PortListRights | None = None
    proxyRights: ProxyRights | None = None
    relayGroupRights: RelayGroupRights | None = None
    scanCacheRights: ScanCacheRights | None = None
    scheduledTaskRights: ScheduledTaskRights | None = None
    scheduleRights: ScheduleRights | None = None
    settingRights: SettingRights | None = None
    expertSettingRights: ExpertSettingRights | None = None
    syslogConfigurationRights: SyslogConfigurationRights | None = None
    systemInformationRights: SystemInformationRights | None = None
    taggingRights: TaggingRights | None = None
    updateRights: UpdateRights | None = None
    apikeyRights: ApiKeyRights | None = None
    iplistRights: IpListRights | None = None


class AntiMalwareRights(Flags):
    directoryListRights: DirectoryListRights | None = None
    fileListRights: FileListRights | None = None
    fileExtensionListRights: FileExtensionListRights | None = None
    identifiedFileRights: IdentifiedFileRights | None = None


class WebReputationRights(Flags):
    webReputationConfigurationRights: WebReputationConfigurationRights | None = None


class FirewallRights(Flags):
    contextRights: ContextRights | None = None
    firewallRuleRights: FirewallRuleRights | None = None
    statefulConfigurationRights: StatefulConfigurationRights | None = None
    macListRights: MacListRights | None = None


class IntrusionPreventionRights(Flags):
    applicationTypeRights: ApplicationTypeRights | None = None
    intrusionPreventionRuleRights: IntrusionPreventionRuleRights | None = None


class IntegrityMonitoringRights(Flags):
    integrityMonitoringRuleRights: IntegrityMonitoringRuleRights | None = None


class LogInspectionRights(Flags):
    logInspectionDecoderRights: LogInspectionDecoderRights | None = None
    logInspectionRuleRights: LogInspectionRuleRights | None = None


class ApplicationControlRights(Flags):
    softwareInventoryRights: SoftwareInventoryRights | None = None


class Rights(Flags):
    platformRights: PlatformRights | None = None
    antiMalwareRights: AntiMalwareRights | None = None
    webReputationRights: WebReputationRights | None = None
    firewallRights: FirewallRights | None = None
    intrusionPreventionRights: IntrusionPreventionRights | None = None
    integrityMonitoringRights: IntegrityMonitoringRights | None = None
    logInspectionRights: LogInspectionRights | None = None
    applicationControlRights: ApplicationControlRights | None = None


#: Where each feature lives in ``Rights`` and its flags: feature -> (holder, flags).
FEATURE_FLAGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "administratorRights": (
        "platformRights",
        (
            "canCreateNewAdministrators",
            "canDeleteAdministrators",
            "canEditAdministratorProperties",
            "canViewAdministrators",
        ),
    ),
    "administratorRoleRights": (
        "platformRights",
        (
            "canCreateNewAdministratorRoles",
            "canDeleteAdministratorRoles",
            "canEditAdministratorRoleProperties",
            "canViewAdministratorRoles",
        ),
    ),
    "agentVersionControlRights": ("platformRights", ("canEditAgentVersionControls",)),
    "alertConfigurationRights": ("platformRights", ("canEditAlertConfigurations",)),
    "alertRights": ("platformRights", ("canDismissGlobalAlerts",)),
    "certificateRights": ("platformRights", ("canCreateNewCertificates", "canDeleteCertificates")),
    "computerRights": (
        "platformRights",
        (
            "canViewComputers",
            "canAddAndRemoveComputerGroups",
            "canCreateNewComputers",
            "canDeleteComputers",
            "canDismissAlerts",
            "canEditComputerProperties",
            "canImportComputers",
            "canManageCloudAccounts",
            "canManageDirectories",
            "canManageVCenters",
            "canTagComputers",
            "canViewNotRelatedToComputers",
            "canViewOtherComputers",
        ),
    ),
    "contactRights": (
        "platformRights",
        (
            "canCreateNewContacts",
            "canDeleteContacts",
            "canEditContactProperties",
            "canViewContacts",
        ),
    ),
    "diagnosticRights": ("platformRights", ("canCreateDiagnosticPackages",)),
    "assetValueRights": (
        "platformRights",
        ("canCreateNewAssetValues", "canDeleteAssetValues", "canEditAssetValueProperties"),
    ),
    "licenseRights": ("platformRights", ("canChangeLicense", "canViewLicense")),
    "multiTenantRights": (
        "platformRights",
        (
            "canCreateTenants",
            "canDeleteTenants",
            "canEditTenantGeneralProperties",
            "canEditTenantModules",
            "canEditTenantAccountDetails",
            "canEditTenantFeatures",
            "canEditTenantSettings",
            "canCreateAndEditTenantDatabaseServers",
            "canDeleteTenantDatabaseServers",
            "canManageTenantAPIKeys",
            "canSignInAsTenant",
            "canViewTenants",
        ),
    ),
    "policyRights": (
        "platformRights",
        (
            "canViewPolicies",
            "canCreateNewPolicies",
            "canDeletePolicies",
            "canEditPolicyProperties",
            "canImportPolicies",
            "canViewOtherPolicies",
        ),
    ),
    "portListRights": (
        "platformRights",
        ("canCreateNewPortLists", "canDeletePortLists", "canEditPortListProperties"),
    ),
    "proxyRights": (
        "platformRights",
        ("canCreateNewProxies", "canDeleteProxies", "canEditProxyProperties"),
    ),
    "relayGroupRights": (
        "platformRights",
        ("canCreateNewRelayGroups", "canDeleteRelayGroups", "canEditRelayGroupProperties"),
    ),
    "scanCacheRights": ("platformRights", ("canManageScanCache",)),
    "scheduledTaskRights": (
        "platformRights",
        (
            "canCreateNewScheduledTasks",
            "canDeleteScheduledTasks",
            "canEditScheduledTaskProperties",
            "canExecuteScheduledTasks",
            "canViewScheduledTasks",
        ),
    ),
    "scheduleRights": (
        "platformRights",
        ("canCreateNewSchedules", "canDeleteSchedules", "canEditScheduleProperties"),
    ),
    "settingRights": ("platformRights", ("canEditSettings", "canViewSettings")),
    "expertSettingRights": ("platformRights", ("canEditExpertSettings", "canViewExpertSettings")),
    "syslogConfigurationRights": (
        "platformRights",
        (
            "canCreateNewSyslogConfigurations",
            "canDeleteSyslogConfigurations",
            "canEditSyslogConfigurationProperties",
        ),
    ),
    "systemInformationRights": (
        "platformRights",
        ("canManageExtensions", "canManageNodes", "canViewSystemInformation"),
    ),
    "taggingRights": (
        "platformRights",
        (
            "canDeleteAutoTagRules",
            "canUpdateAutoTagRules",
            "canRunAutoTagRules",
            "canDeleteTags",
            "canTag",
        ),
    ),
    "updateRights": (
        "platformRights",
        (
            "canImportSoftware",
            "canDeleteSoftware",
            "canEditSoftwareProperties",
            "canImportRuleUpdates",
            "canDeleteRuleUpdates",
            "canViewRuleUpdates",
        ),
    ),
    "apikeyRights": (
        "platformRights",
        ("canCreateNewApiKeys", "canDeleteApiKeys", "canEditApiKeyProperties", "canViewApiKeys"),
    ),
    "iplistRights": (
        "platformRights",
        ("canCreateNewIPLists", "canDeleteIPLists", "canEditIPListProperties"),
    ),
    "directoryListRights": (
        "antiMalwareRights",
        ("canCreateNewDirectoryLists", "canDeleteDirectoryLists", "canEditDirectoryListProperties"),
    ),
    "fileListRights": (
        "antiMalwareRights",
        ("canCreateNewFileLists", "canDeleteFileLists", "canEditFileListProperties"),
    ),
    "fileExtensionListRights": (
        "antiMalwareRights",
        (
            "canCreateNewFileExtensionLists",
            "canDeleteFileExtensionLists",
            "canEditFileExtensionListProperties",
        ),
    ),
    "identifiedFileRights": (
        "antiMalwareRights",
        (
            "canDeleteIdentifiedFiles",
            "canDownloadIdentifiedFiles",
            "canRestoreIdentifiedFiles",
            "canSubmitIdentifiedFiles",
        ),
    ),
    "webReputationConfigurationRights": (
        "webReputationRights",
        ("canEditWebReputationConfiguration",),
    ),
    "contextRights": (
        "firewallRights",
        ("canCreateNewContexts", "canDeleteContexts", "canEditContextProperties"),
    ),
    "firewallRuleRights": (
        "firewallRights",
        ("canCreateNewFirewallRules", "canDeleteFirewallRules", "canEditFirewallRuleProperties"),
    ),
    "statefulConfigurationRights": (
        "firewallRights",
        (
            "canCreateNewStatefulConfigurations",
            "canDeleteStatefulConfigurations",
            "canEditStatefulConfigurationProperties",
        ),
    ),
    "macListRights": (
        "firewallRights",
        ("canCreateNewMACLists", "canDeleteMACLists", "canEditMACListProperties"),
    ),
    "applicationTypeRights": (
        "intrusionPreventionRights",
        (
            "canCreateNewApplicationTypes",
            "canDeleteApplicationTypes",
            "canEditApplicationTypeProperties",
        ),
    ),
    "intrusionPreventionRuleRights": (
        "intrusionPreventionRights",
        (
            "canCreateNewIntrusionPreventionRules",
            "canDeleteIntrusionPreventionRules",
            "canEditIntrusionPreventionRuleProperties",
        ),
    ),
    "integrityMonitoringRuleRights": (
        "integrityMonitoringRights",
        (
            "canCreateNewIntegrityMonitoringRules",
            "canDeleteIntegrityMonitoringRules",
            "canEditIntegrityMonitoringRuleProperties",
        ),
    ),
    "logInspectionDecoderRights": (
        "logInspectionRights",
        (
            "canCreateNewLogInspectionDecoders",
            "canDeleteLogInspectionDecoders",
            "canEditLogInspectionDecoderProperties",
        ),
    ),
    "logInspectionRuleRights": (
        "logInspectionRights",
        (
            "canCreateNewLogInspectionRules",
            "canDeleteLogInspectionRules",
            "canEditLogInspectionRuleProperties",
        ),
    ),
    "softwareInventoryRights": (
        "applicationControlRights",
        ("canCreateNewSoftwareInventory", "canDeleteSoftwareInventory", "canViewSoftwareInventory"),
    ),
}
