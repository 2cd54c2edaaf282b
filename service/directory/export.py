"""Writing an account out in the dataset format of ``reportd export``.

The same format ``reportd import`` reads (``service.directory.dataset``); report passwords are never
written: they are write-only everywhere. Users are written without any sign-in secret (no
password, hash, second factor or token).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.audit import AUDIT_CODES
from service.directory.dataset import (
    AdministratorRightsIn,
    AdministratorRoleRightsIn,
    AlertIn,
    ComputerGroupIn,
    ComputerIn,
    ComputerRightsIn,
    ContactIn,
    Dataset,
    PolicyIn,
    PolicyRightsIn,
    RoleIn,
    SecurityEventIn,
    SmartFolderIn,
    SystemEventIn,
    UserIn,
)
from service.directory.users import list_members
from storage.models import (
    Alert,
    Computer,
    ComputerGroup,
    ComputerTag,
    Contact,
    Policy,
    Role,
    SecurityEvent,
    SystemEvent,
)
from storage.records import RoleRecord, role_record
from storage.smart_folders import list_folders


def export_dataset(session: Session, *, account_id: int) -> Dataset:
    """Everything of the account in the import format; report passwords are left out."""

    def rows(model: Any, *order: Any) -> list[Any]:
        return list(
            session.scalars(select(model).where(model.account_id == account_id).order_by(*order))
        )

    tags: dict[int, list[str]] = {}
    for tag in rows(ComputerTag, ComputerTag.computer_id, ComputerTag.tag):
        tags.setdefault(tag.computer_id, []).append(tag.tag)
    roles = [role_record(r) for r in rows(Role, Role.id)]
    return Dataset(
        computer_groups=[
            ComputerGroupIn(
                id=g.id, name=g.name, description=g.description, parent_group_id=g.parent_group_id
            )
            for g in rows(ComputerGroup, ComputerGroup.id)
        ],
        policies=[
            PolicyIn(id=p.id, name=p.name, description=p.description, parent_id=p.parent_id)
            for p in rows(Policy, Policy.id)
        ],
        computers=[
            ComputerIn.model_validate(
                {
                    "ID": c.id,
                    "hostName": c.host_name,
                    "displayName": c.display_name,
                    "description": c.description,
                    "platform": c.platform,
                    "groupID": c.group_id,
                    "policyID": c.policy_id,
                    "agentStatus": c.agent_status,
                    "lastAgentCommunication": c.last_agent_communication,
                    "tags": tags.get(c.id, []),
                    "modules": list(c.modules or []),
                }
            )
            for c in rows(Computer, Computer.id)
        ],
        roles=[_role_out(r) for r in roles],
        events=[
            SecurityEventIn(
                id=e.id,
                computer_id=e.computer_id,
                module=e.module,
                time=e.time,
                severity=e.severity,
                name=e.name,
                action=e.action,
                details=e.details,
            )
            for e in rows(SecurityEvent, SecurityEvent.id)
        ],
        system_events=[
            SystemEventIn(
                id=e.id,
                computer_id=e.computer_id,
                time=e.time,
                event_code=e.event_code,
                level=e.level,
                name=e.name,
                description=e.description,
                actor=e.actor,
                origin=e.origin,
            )
            for e in rows(SystemEvent, SystemEvent.id)
            if e.event_code not in AUDIT_CODES  # the trail stays with its account
        ],
        alerts=[
            AlertIn(
                id=a.id,
                computer_id=a.computer_id,
                raised=a.raised,
                severity=a.severity,
                name=a.name,
                description=a.description,
                dismissed=a.dismissed,
            )
            for a in rows(Alert, Alert.id)
        ],
        contacts=[
            ContactIn(
                id=c.id,
                name=c.name,
                description=c.description,
                email_address=c.email_address,
                phone_number=c.phone_number,
                mobile_number=c.mobile_number,
                pager_number=c.pager_number,
                locale=c.locale,
                time_zone=c.time_zone,
                role_id=c.role_id,
                report_pdf_password_enabled=c.report_pdf_password_enabled,
            )
            for c in rows(Contact, Contact.id)
        ],
        users=[
            UserIn(
                id=m.id,
                username=m.username,
                name=m.name,
                email_address=m.email_address,
                phone_number=m.phone_number,
                mobile_number=m.mobile_number,
                pager_number=m.pager_number,
                locale=m.locale,
                time_zone=m.time_zone,
                time_format="12" if m.time_format == "12" else "24",
                report_pdf_password_enabled=m.report_pdf_password_enabled,
                role_id=m.role_id,
                description=m.description,
                active=m.active,
                read_only=m.read_only,
                receive_notifications=m.receive_notifications,
            )
            for m in list_members(session, account_id=account_id)
        ],
        smart_folders=[
            SmartFolderIn(id=f.id, name=f.name, description=f.description, criteria=f.criteria)
            for f in list_folders(session, account_id)
        ],
    )


def _role_out(role: RoleRecord) -> RoleIn:
    r = role.rights
    return RoleIn.model_validate(
        {
            "ID": role.id,
            "name": role.name,
            "description": role.description,
            "immutable": role.immutable,
            "allowUserInterface": r["allow_user_interface"],
            "allowWebService": r["allow_web_service"],
            "allComputers": r["all_computers"],
            "computerIDs": sorted(role.computer_ids),
            "computerGroupIDs": sorted(role.computer_group_ids),
            "allPolicies": r["all_policies"],
            "policyIDs": sorted(role.policy_ids),
            "userRights": r["user_rights"],
            "canOnlyManipulateUsersWithEqualOrLesserRights": r[
                "can_only_manipulate_users_with_equal_or_lesser_rights"
            ],
            "otherRights": r["other_rights"],
            "rights": {
                "platformRights": {
                    "computerRights": {k: r[k] for k in ComputerRightsIn.model_fields},
                    "policyRights": {k: r[k] for k in PolicyRightsIn.model_fields},
                    "administratorRights": {k: r[k] for k in AdministratorRightsIn.model_fields},
                    "administratorRoleRights": {
                        k: r[k] for k in AdministratorRoleRightsIn.model_fields
                    },
                }
            },
        }
    )
