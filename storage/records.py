"""Plain records of configuration rows (roles, contacts) read by the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, inspect, literal, select, union_all
from sqlalchemy.orm import Session

from storage.models import Contact, Role, RoleComputer, RoleComputerGroup, RolePolicy

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


#: The role's columns that are rights, with the attribute names ``RoleRecord.rights`` uses.
_RIGHTS = [
    (attr.key, attr.columns[0])
    for attr in inspect(Role).column_attrs
    if attr.key not in ROLE_IDENTITY_COLUMNS
]


def role_record(role: Role) -> RoleRecord:
    return RoleRecord(
        id=role.id,
        account_id=role.account_id,
        name=role.name,
        description=role.description,
        immutable=role.immutable,
        rights={key: getattr(role, key) for key, _ in _RIGHTS},
        computer_group_ids=frozenset(link.group_id for link in role.computer_groups),
        computer_ids=frozenset(link.computer_id for link in role.computers),
        policy_ids=frozenset(link.policy_id for link in role.policies),
    )


_roles = cast(Table, Role.__table__)
_ROLE = select(_roles).where(
    _roles.c.account_id == bindparam("account_id"), _roles.c.id == bindparam("role_id")
)
_SELECTIONS = union_all(
    *(
        select(literal(kind), column).where(table.c.role_id == bindparam("role_id"))
        for kind, table, column in (
            ("group", RoleComputerGroup.__table__, RoleComputerGroup.__table__.c.group_id),
            ("computer", RoleComputer.__table__, RoleComputer.__table__.c.computer_id),
            ("policy", RolePolicy.__table__, RolePolicy.__table__.c.policy_id),
        )
    )
)


def _selected(table: Any, column: Any) -> Any:
    """The ids a role selects in ``table``, as one PostgreSQL array (NULL for none)."""
    return select(func.array_agg(column)).where(table.c.role_id == _roles.c.id).scalar_subquery()


#: The role's row and its selections in one statement, for PostgreSQL.
_ROLE_AND_SELECTIONS = select(
    _roles,
    *(
        _selected(table, column).label(f"selected_{kind}_ids")
        for kind, table, column in (
            ("group", RoleComputerGroup.__table__, RoleComputerGroup.__table__.c.group_id),
            ("computer", RoleComputer.__table__, RoleComputer.__table__.c.computer_id),
            ("policy", RolePolicy.__table__, RolePolicy.__table__.c.policy_id),
        )
    ),
).where(_roles.c.account_id == bindparam("account_id"), _roles.c.id == bindparam("role_id"))


def load_role(session: Session, account_id: int, role_id: int | None) -> RoleRecord | None:
    """The role ``role_id`` of this account, or None if it does not exist here.

    Read for every delivery (a right revoked after fan-out counts), so in statements built
    once: on PostgreSQL one, the role's row with its selections as arrays; elsewhere two,
    the role's row, then its selected groups, computers and policies together.
    """
    if role_id is None:
        return None
    params = {"account_id": account_id, "role_id": role_id}
    selected: dict[str, set[int]] = {"group": set(), "computer": set(), "policy": set()}
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_ROLE_AND_SELECTIONS, params).first()
        if row is None:
            return None
        for kind in selected:
            selected[kind].update(getattr(row, f"selected_{kind}_ids") or ())
    else:
        row = session.execute(_ROLE, params).first()
        if row is None:
            return None
        for kind, selected_id in session.execute(_SELECTIONS, params):
            selected[kind].add(selected_id)
    values = row._mapping
    return RoleRecord(
        id=values[_roles.c.id],
        account_id=values[_roles.c.account_id],
        name=values[_roles.c.name],
        description=values[_roles.c.description],
        immutable=values[_roles.c.immutable],
        rights={key: values[column] for key, column in _RIGHTS},
        computer_group_ids=frozenset(selected["group"]),
        computer_ids=frozenset(selected["computer"]),
        policy_ids=frozenset(selected["policy"]),
    )


def load_contact(session: Session, account_id: int, contact_id: int) -> Contact | None:
    return session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.id == contact_id)
    ).one_or_none()
