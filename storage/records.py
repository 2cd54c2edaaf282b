"""Plain records of configuration rows (roles, contacts) read by the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from storage.models import Contact, Role

#: Role columns that are rights (everything but identity and bookkeeping).
ROLE_IDENTITY_COLUMNS = frozenset(
    {"id", "account_id", "name", "description", "urn", "immutable", "created"}
)


@dataclass(frozen=True)
class RoleRecord:
    """A role as stored: identity, the rights columns, and its selections."""

    id: int
    account_id: int
    name: str
    description: str
    immutable: bool
    rights: dict[str, Any]
    computer_group_ids: frozenset[int]
    computer_ids: frozenset[int]
    policy_ids: frozenset[int]


def role_record(role: Role) -> RoleRecord:
    columns = {attr.key: getattr(role, attr.key) for attr in inspect(Role).column_attrs}
    return RoleRecord(
        id=role.id,
        account_id=role.account_id,
        name=role.name,
        description=role.description,
        immutable=role.immutable,
        rights={k: v for k, v in columns.items() if k not in ROLE_IDENTITY_COLUMNS},
        computer_group_ids=frozenset(link.group_id for link in role.computer_groups),
        computer_ids=frozenset(link.computer_id for link in role.computers),
        policy_ids=frozenset(link.policy_id for link in role.policies),
    )


def load_role(session: Session, account_id: int, role_id: int | None) -> RoleRecord | None:
    """The role ``role_id`` of this account, or None if it does not exist here."""
    if role_id is None:
        return None
    role = session.scalars(
        select(Role).where(Role.account_id == account_id, Role.id == role_id)
    ).one_or_none()
    return None if role is None else role_record(role)


def load_contact(session: Session, account_id: int, contact_id: int) -> Contact | None:
    return session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.id == contact_id)
    ).one_or_none()
