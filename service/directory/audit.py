"""The audit trail: every change made through the API or the CLI becomes a system event.

The events are ordinary ``SystemEvent`` rows about no computer (or about the computer that
was changed), so the System Event report shows them to every clearance allowed to view
events not related to computers. Codes are reportd's own range, 8000 to 8999:

=====  ==========================  ==============================================
code   name                        description says
=====  ==========================  ==============================================
8100   Contact Created             name, email, clearance and other fields set
8101   Contact Updated             the fields that changed, old -> new
8102   Contact Deleted             which contact
8200   Role Created                name and every rights field set
8201   Role Updated                the fields that changed
8202   Role Deleted                which role
8300   API Key Created             name and role (never the secret)
8301   API Key Updated             the fields that changed
8302   API Key Deleted             which key
8303   API Key Secret Replaced     which key (never the secret)
8400   Scheduled Task Created      name and settings
8401   Scheduled Task Updated      the fields that changed
8402   Scheduled Task Deleted      which task
8403   Scheduled Task Run Now      which task
8404   Scheduled Task Broken       which task, why (``scheduler``)
8405   Scheduled Task Recipients   which task lost which deleted contact or removed
       Removed                     administrator; whether it was disabled for want
                                   of recipients (``task_recipients``)
8500   Report Requested            type, recipients, run ID
8600   Data Ingested               how many events, alerts and system events
8700   Computer Created            host name and the other fields set
8701   Computer Updated            the fields that changed, old -> new
8702   Computer Deleted            which computer
8710   Computer Group Created      name, description, parent
8711   Computer Group Updated      the fields that changed
8712   Computer Group Deleted      which group
8720   Policy Created              name, description, parent
8721   Policy Updated              the fields that changed
8722   Policy Deleted              which policy
8730   Smart Folder Created        name, description and criteria
8731   Smart Folder Updated        the fields that changed
8732   Smart Folder Deleted        which folder
8800   User Created                the user's fields and role (never a password)
8801   User Updated                the fields that changed, old -> new
8802   User Removed                which user (from this account, or everywhere)
8803   User Signed In              who (in every account the user belongs to)
8804   User Sign-In Failed         who and why (wrong password, second factor)
8805   User Locked Out             who and until when
8806   User Password Changed       who, and how (set-password token, own, operator)
8807   User Second Factor Changed  TOTP switched on or off, recovery codes renewed
=====  ==========================  ==============================================

Passwords and secrets never reach a description: fields named like one are shown as
``(changed)``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Membership, SystemEvent

#: The system event codes only the audit trail writes: never ingested, imported or exported.
AUDIT_CODES = range(8000, 9000)

#: Longest description kept; a change list longer than this is cut with an ellipsis.
MAX_DESCRIPTION = 4000
#: Field names ending like these never have their values written to the trail.
SECRET_ENDINGS = ("password", "secret", "secretkey", "secret_key", "token", "hash")


class AuditCode(IntEnum):
    contact_created = 8100
    contact_updated = 8101
    contact_deleted = 8102
    role_created = 8200
    role_updated = 8201
    role_deleted = 8202
    api_key_created = 8300
    api_key_updated = 8301
    api_key_deleted = 8302
    api_key_secret_replaced = 8303
    task_created = 8400
    task_updated = 8401
    task_deleted = 8402
    task_run_now = 8403
    task_broken = 8404
    task_recipient_removed = 8405
    report_requested = 8500
    delivery_retried = 8501
    report_previewed = 8502
    data_ingested = 8600
    computer_created = 8700
    computer_updated = 8701
    computer_deleted = 8702
    computer_group_created = 8710
    computer_group_updated = 8711
    computer_group_deleted = 8712
    policy_created = 8720
    policy_updated = 8721
    policy_deleted = 8722
    smart_folder_created = 8730
    smart_folder_updated = 8731
    smart_folder_deleted = 8732
    user_created = 8800
    user_updated = 8801
    user_removed = 8802
    user_signed_in = 8803
    user_sign_in_failed = 8804
    user_locked_out = 8805
    user_password_changed = 8806
    user_second_factor_changed = 8807


#: The event name of each code, as the System Event report prints it.
EVENT_NAMES: dict[AuditCode, str] = {
    AuditCode.contact_created: "Contact Created",
    AuditCode.contact_updated: "Contact Updated",
    AuditCode.contact_deleted: "Contact Deleted",
    AuditCode.role_created: "Role Created",
    AuditCode.role_updated: "Role Updated",
    AuditCode.role_deleted: "Role Deleted",
    AuditCode.api_key_created: "API Key Created",
    AuditCode.api_key_updated: "API Key Updated",
    AuditCode.api_key_deleted: "API Key Deleted",
    AuditCode.api_key_secret_replaced: "API Key Secret Replaced",
    AuditCode.task_created: "Scheduled Task Created",
    AuditCode.task_updated: "Scheduled Task Updated",
    AuditCode.task_deleted: "Scheduled Task Deleted",
    AuditCode.task_run_now: "Scheduled Task Run Now",
    AuditCode.task_broken: "Scheduled Task Broken",
    AuditCode.task_recipient_removed: "Scheduled Task Recipients Removed",
    AuditCode.report_requested: "Report Requested",
    AuditCode.delivery_retried: "Report Delivery Retried",
    AuditCode.report_previewed: "Report Previewed",
    AuditCode.data_ingested: "Data Ingested",
    AuditCode.computer_created: "Computer Created",
    AuditCode.computer_updated: "Computer Updated",
    AuditCode.computer_deleted: "Computer Deleted",
    AuditCode.computer_group_created: "Computer Group Created",
    AuditCode.computer_group_updated: "Computer Group Updated",
    AuditCode.computer_group_deleted: "Computer Group Deleted",
    AuditCode.policy_created: "Policy Created",
    AuditCode.policy_updated: "Policy Updated",
    AuditCode.policy_deleted: "Policy Deleted",
    AuditCode.smart_folder_created: "Smart Folder Created",
    AuditCode.smart_folder_updated: "Smart Folder Updated",
    AuditCode.smart_folder_deleted: "Smart Folder Deleted",
    AuditCode.user_created: "User Created",
    AuditCode.user_updated: "User Updated",
    AuditCode.user_removed: "User Removed",
    AuditCode.user_signed_in: "User Signed In",
    AuditCode.user_sign_in_failed: "User Sign-In Failed",
    AuditCode.user_locked_out: "User Locked Out",
    AuditCode.user_password_changed: "User Password Changed",
    AuditCode.user_second_factor_changed: "User Second Factor Changed",
}


def record(
    session: Session,
    *,
    account_id: int,
    code: AuditCode,
    description: str,
    actor: str,
    origin: str = "",
    computer_id: int | None = None,
    now: datetime | None = None,
    level: str = "info",
) -> None:
    """Add the audit event to the caller's transaction: it commits or rolls back with the change."""
    text = description if len(description) <= MAX_DESCRIPTION else description[:MAX_DESCRIPTION]
    session.add(
        SystemEvent(
            account_id=account_id,
            computer_id=computer_id,
            time=now or datetime.now(UTC),
            event_code=int(code),
            level=level,
            name=EVENT_NAMES[code],
            description=text,
            actor=actor[:255],
            origin=origin[:255],
        )
    )
    session.flush()


def record_for_user(
    session: Session,
    *,
    user_id: int,
    code: AuditCode,
    description: str,
    actor: str,
    origin: str = "",
    now: datetime | None = None,
) -> None:
    """An event about a user's identity (signed in, locked out, password changed): in every
    account the user belongs to, since each account's administrators answer for its users."""
    statement = select(Membership.account_id).where(Membership.user_id == user_id)
    for account_id in sorted(set(session.scalars(statement))):
        record(
            session,
            account_id=account_id,
            code=code,
            description=description,
            actor=actor,
            origin=origin,
            now=now,
        )


def _is_secret(name: str) -> bool:
    return name.lower().endswith(SECRET_ENDINGS)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return str(value)


def describe_values(subject: str, values: Mapping[str, Any]) -> str:
    """``subject: field=value, ...`` with secrets hidden, for a created object."""
    parts = [
        f"{name}=(set)" if _is_secret(name) else f"{name}={_show(value)}"
        for name, value in sorted(values.items())
    ]
    return f"{subject}: {', '.join(parts)}" if parts else subject


def describe_changes(subject: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``subject: field old -> new, ...`` for the fields that differ, secrets hidden."""
    parts = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if _is_secret(name):
            parts.append(f"{name} (changed)")
        else:
            parts.append(f"{name} {_show(old)} -> {_show(new)}")
    return f"{subject}: {', '.join(parts)}" if parts else f"{subject}: no change"


def cli_actor() -> str:
    """How the trail names a change made with the ``reportd`` command."""
    return f"cli:{os.environ.get('USER', 'admin')}"


def cli_origin() -> str:
    """Where a CLI change came from: this machine."""
    return socket.gethostname()


def record_cli(session: Session, *, account_id: int, code: AuditCode, description: str) -> None:
    """Record a change made with the ``reportd`` command."""
    record(
        session,
        account_id=account_id,
        code=code,
        description=description,
        actor=cli_actor(),
        origin=cli_origin(),
    )
