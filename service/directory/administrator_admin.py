"""Administrators changed by a principal: the User Rights gates and the "equal or lesser" rule.

The API and the console both call these functions. Seed 003's User Rights decide:
``can_view_users`` lists and describes, ``can_create_new_users`` creates,
``can_edit_user_properties`` modifies (and sets passwords), ``can_delete_users`` removes.
Whatever the preset, no caller gives a user a role with more rights than its own, touches a
user whose role is above its own (changing their address or password would let the caller
sign in as them), or changes its own role. A signed-in user may always change their own
password and contact information.

One identity, several accounts: a user's own fields (name, address, numbers, language,
passwords, second factor) are the same in every account they belong to, so one account's
caller changes them only while the user belongs to no other account; the membership's
fields (role, active, read-only, notifications, description) are this account's alone.
Deleting removes the user from the caller's account (the identity goes when no account is
left).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory import audit
from service.directory.authz import (
    RoleChoice,
    can_administrators,
    require_lesser_or_equal,
    roles_within,
    within,
)
from service.directory.principal import Principal
from service.directory.role_specs import spec_of
from service.directory.secretbox import SecretBox
from service.directory.task_recipients import USERS, forget_recipient
from service.directory.user_tokens import IssuedToken, issue_token
from service.directory.users import (
    IDENTITY_NAMES,
    OWN_CONTACT_FIELDS,
    Member,
    add_user,
    edit_user,
    get_member,
    list_members,
    remove_user,
)
from service.errors import Forbidden, InvalidInput
from storage.models import Role
from storage.records import load_role


@dataclass(frozen=True)
class Created:
    """A new administrator, and the set-password token to deliver after the commit."""

    member: Member
    #: None when not needed (the identity existed, or a password was given).
    token: IssuedToken | None


def _role_within(session: Session, caller: Principal, role_id: int | None, what: str) -> None:
    """The role exists here and has no right beyond the caller's (None: no role, nothing)."""
    if role_id is None:
        return
    role = load_role(session, caller.account_id, role_id)
    if role is None:
        raise InvalidInput(f"roleID: no role with ID {role_id} in this account")
    require_lesser_or_equal(session, caller, spec_of(role), what)


def is_self(caller: Principal, user_id: int) -> bool:
    return caller.user_id is not None and caller.user_id == user_id


def _changed(target: Member, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that would change something: an SDK client sends back every field it read."""
    changed = {}
    for key, value in values.items():
        if key in ("password", "report_pdf_password"):
            changed[key] = value
        elif key == "email_address":
            if str(value).strip().lower() != target.email_address.lower():
                changed[key] = value
        elif value != getattr(target, key):
            changed[key] = value
    return changed


def _may_change(
    session: Session, caller: Principal, target: Member, values: Mapping[str, Any]
) -> None:
    """Forbidden unless the caller may make these changes to ``target``."""
    values = _changed(target, values)
    if is_self(caller, target.id):
        if "role_id" in values and values["role_id"] != target.role_id:
            raise Forbidden("an administrator cannot change their own role")
        beyond_own = set(values) - OWN_CONTACT_FIELDS
        if not beyond_own:
            return  # their own password and contact information: always allowed
        if "active" in beyond_own or "read_only" in beyond_own:
            raise Forbidden("an administrator cannot switch themselves off or to read-only")
    can_administrators(caller, "can_edit_user_properties", "changing administrators")
    _role_within(session, caller, target.role_id, "the administrator's current role")
    if "role_id" in values:
        _role_within(session, caller, values["role_id"], "the administrator's new role")
    _identity_is_ours(caller, target, values)


def _identity_is_ours(caller: Principal, target: Member, values: Mapping[str, Any]) -> None:
    """A user's own fields change through one account only while they belong to no other."""
    own = sorted(IDENTITY_NAMES[k] for k in values if k in IDENTITY_NAMES)
    if own and target.other_accounts and not is_self(caller, target.id):
        raise Forbidden(
            f"{', '.join(own)}: the administrator also belongs to other accounts; their "
            "identity is their own (they change it themselves, or an operator with reportd)"
        )


def may_manage(session: Session, caller: Principal, target: Member, right: str) -> bool:
    """Whether the caller holds ``right`` (a User Rights flag) over ``target`` (for buttons)."""
    if is_self(caller, target.id) or not getattr(caller.rights, right):
        return False
    if target.role_id is None:
        return True
    role = load_role(session, caller.account_id, target.role_id)
    return role is not None and within(session, caller, spec_of(role))


def assignable_roles(session: Session, caller: Principal) -> list[RoleChoice]:
    """The roles the caller may give an administrator: within the caller's own rights."""
    can_administrators(caller, "can_view_users", "viewing administrators")
    return roles_within(session, caller)


def role_names(session: Session, caller: Principal) -> list[RoleChoice]:
    """Every role of the account by name, to show administrators' roles in a list."""
    can_administrators(caller, "can_view_users", "viewing administrators")
    roles = session.execute(
        select(Role.id, Role.name).where(Role.account_id == caller.account_id).order_by(Role.name)
    )
    return [RoleChoice(id=role_id, name=name) for role_id, name in roles]


def require(caller: Principal, right: str) -> None:
    """Forbidden unless the caller's User Rights hold ``right`` (``can_create_new_users``...)."""
    can_administrators(caller, right, right.removeprefix("can_").replace("_", " "))


def _secret_notes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Marks a new password in the trail without its value."""
    notes: dict[str, Any] = {}
    if values.get("password") is not None:
        notes["password"] = "(new)"
    if values.get("report_pdf_password") is not None:
        notes["reportPDFPassword"] = "(new)"
    return notes


def list_for(session: Session, caller: Principal) -> list[Member]:
    can_administrators(caller, "can_view_users", "viewing administrators")
    return list_members(session, account_id=caller.account_id)


def get_for(session: Session, caller: Principal, user_id: int) -> Member:
    if not is_self(caller, user_id):
        can_administrators(caller, "can_view_users", "viewing administrators")
    return get_member(session, account_id=caller.account_id, user_id=user_id)


def create_for(
    session: Session,
    caller: Principal,
    values: Mapping[str, Any],
    *,
    box: SecretBox,
    now: datetime,
) -> Created:
    """Add an administrator to the caller's account (a new identity, or one from elsewhere)."""
    can_administrators(caller, "can_create_new_users", "creating administrators")
    if "role_id" not in values:
        raise InvalidInput("roleID: required (the administrator's role in this account)")
    _role_within(session, caller, values["role_id"], "the administrator's role")
    added = add_user(session, account_id=caller.account_id, box=box, now=now, **values)
    member = added.member
    token = None
    if added.new_identity and not member.password_set:
        token = issue_token(session, user_id=member.id, now=now)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_created,
        description=audit.describe_values(
            f"administrator {member.email_address} (ID {member.id})"
            + ("" if added.new_identity else ", an existing user"),
            {**member.audit_values(), **_secret_notes(values)},
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    return Created(member=member, token=token)


def modify_for(
    session: Session,
    caller: Principal,
    user_id: int,
    values: Mapping[str, Any],
    *,
    box: SecretBox,
    now: datetime,
) -> Member:
    before = get_member(session, account_id=caller.account_id, user_id=user_id)
    _may_change(session, caller, before, values)
    after = edit_user(
        session, account_id=caller.account_id, user_id=user_id, box=box, now=now, **values
    )
    subject = f"administrator {after.email_address} (ID {after.id})"
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_updated,
        description=audit.describe_changes(
            subject, before.audit_values(), {**after.audit_values(), **_secret_notes(values)}
        ),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    if "password" in values:
        audit.record_for_user(
            session,
            user_id=after.id,
            code=audit.AuditCode.user_password_changed,
            description=f"{subject}: set by {caller.actor}",
            actor=caller.actor,
            origin=caller.origin,
            now=now,
        )
    return after


def delete_for(session: Session, caller: Principal, user_id: int, *, now: datetime) -> None:
    target = get_member(session, account_id=caller.account_id, user_id=user_id)
    if is_self(caller, user_id):
        raise Forbidden("an administrator cannot remove themselves")
    can_administrators(caller, "can_delete_users", "removing administrators")
    _role_within(session, caller, target.role_id, "the administrator's role")
    gone = remove_user(session, account_id=caller.account_id, user_id=user_id)
    audit.record(
        session,
        account_id=caller.account_id,
        code=audit.AuditCode.user_removed,
        description=f"administrator {target.email_address} (ID {target.id})"
        + (" (the user is deleted: no account left)" if gone else ""),
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
    forget_recipient(
        session,
        account_id=caller.account_id,
        field=USERS,
        recipient_id=target.id,
        who=f"{target.email_address} (ID {target.id})",
        actor=caller.actor,
        origin=caller.origin,
        now=now,
    )
