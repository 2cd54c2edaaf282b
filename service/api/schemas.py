"""Response bodies for the OpenAPI document, in the SDK's names.

Objects allow fields beyond the ones listed (reportd's additions), so a newer server never
breaks an older client; the SDK itself ignores what it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from service.api.rights_schema import Rights
from service.fields import ID, MAX_ID


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContactOut(Out):
    ID: int
    name: str
    description: str | None = None
    emailAddress: str
    phoneNumber: str | None = None
    mobileNumber: str | None = None
    pagerNumber: str | None = None
    locale: str | None = None
    reportdLocale: str | None = None
    timeZone: str | None = None
    roleID: int | None = None
    reportPDFPasswordEnabled: bool | None = None


class ContactsOut(Out):
    contacts: list[ContactOut]


class AdministratorOut(Out):
    ID: int
    username: str
    fullName: str | None = None
    description: str | None = None
    roleID: int | None = None
    locale: str | None = None
    reportdLocale: str | None = None
    timeZone: str | None = None
    timeFormat: str | None = None
    passwordNeverExpires: bool | None = None
    active: bool
    mfaType: str | None = None
    phoneNumber: str | None = None
    mobileNumber: str | None = None
    pagerNumber: str | None = None
    emailAddress: str | None = None
    primaryContact: bool | None = None
    receiveNotifications: bool | None = None
    reportPDFPasswordEnabled: bool | None = None
    created: int | None = None
    lastPasswordChange: int | None = None
    lastSignIn: int | None = None
    unlockTime: int | None = None
    unsuccessfulSignInAttempts: int | None = None
    external: bool | None = None
    type: str | None = None
    readOnly: bool | None = None


class AdministratorsOut(Out):
    administrators: list[AdministratorOut]


class RoleOut(Out):
    ID: int
    name: str
    description: str | None = None
    immutable: bool
    canOnlyManipulateUsersWithEqualOrLesserRights: bool
    allComputers: bool
    allPolicies: bool
    allowUserInterface: bool
    allowWebService: bool
    computerIDs: list[int]
    computerGroupIDs: list[int]
    policyIDs: list[int]
    rights: Rights
    userRights: str
    otherRights: dict[str, str]


class RolesOut(Out):
    roles: list[RoleOut]


class ApiKeyOut(Out):
    ID: int
    keyName: str
    description: str | None = None
    locale: str | None = None
    reportdLocale: str | None = None
    roleID: int | None = None
    timeZone: str | None = None
    active: bool
    created: int | None = None
    lastSignIn: int | None = None
    expiryDate: int | None = None
    serviceAccount: bool | None = None
    secretKey: str | None = None


class ApiKeysOut(Out):
    apiKeys: list[ApiKeyOut]


class ReportTemplateOut(Out):
    ID: int
    name: str
    description: str | None = None
    timeFilterSupported: bool
    computerFilterSupported: bool
    tagFilterSupported: bool
    supportedFormats: list[str]


class ReportTemplatesOut(Out):
    reportTemplates: list[ReportTemplateOut]


class ComputerOut(Out):
    ID: int
    hostName: str
    displayName: str | None = None
    description: str | None = None
    platform: str | None = None
    groupID: int | None = None
    policyID: int | None = None
    lastAgentCommunication: int | None = None


class ComputersOut(Out):
    computers: list[ComputerOut]


class ComputerGroupOut(Out):
    ID: int
    name: str
    description: str | None = None
    parentGroupID: int | None = None


class ComputerGroupsOut(Out):
    computerGroups: list[ComputerGroupOut]


class PolicyOut(Out):
    ID: int
    name: str
    description: str | None = None
    parentID: int | None = None


class PoliciesOut(Out):
    policies: list[PolicyOut]


class IngestOut(Out):
    events: int
    alerts: int
    systemEvents: int


class DeliveryOut(Out):
    ID: int
    #: Absent when the caller may not view the recipient (contactRights, can_view_users).
    recipientName: str | None = None
    recipientAddress: str | None = None
    state: str
    attempts: int
    contactID: int | None = None
    administratorID: int | None = None
    lastError: str | None = None
    sentTime: int | None = None
    possibleDuplicate: bool | None = None


class ReportRunOut(Out):
    ID: int
    reportTemplateID: int
    reportType: str
    total: int
    sent: int
    failed: int
    created: int | None = None
    finished: int | None = None
    periodStart: int | None = None
    periodEnd: int | None = None
    deliveries: list[DeliveryOut]


class SdkRouter(APIRouter):
    """A router whose answers leave out null fields, as the console's do."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs.setdefault("response_model_exclude_none", True)
        super().add_api_route(path, endpoint, **kwargs)


#: An object ID in a path (digits in the URL; ``service.fields``' range).
PathID = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An object ID in a body: a strict JSON integer (``true`` is not 1) in the tables' range.
BodyID = ID
