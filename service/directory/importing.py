"""Loading a dataset into an account, and writing one out.

An import is all or nothing: every record is checked (fields, references, trees without
cycles) before the first row is written, and the caller's transaction is rolled back on any
error. Errors name the record and field, e.g. ``computers[3].groupID``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.directory.audit import AUDIT_CODES
from service.directory.contacts import add_contact
from service.directory.dataset import (
    AlertIn,
    ComputerIn,
    ContactIn,
    Dataset,
    RoleIn,
    SecurityEventIn,
    SmartFolderIn,
    SystemEventIn,
    UserIn,
)
from service.directory.rights import RoleRights
from service.directory.secretbox import SecretBox
from service.directory.users import add_user
from service.errors import ImportFormatError, InvalidInput
from storage.models import (
    Alert,
    Computer,
    ComputerGroup,
    ComputerTag,
    Contact,
    Membership,
    Policy,
    Role,
    RoleComputer,
    RoleComputerGroup,
    RolePolicy,
    SecurityEvent,
    SmartFolder,
    SystemEvent,
    User,
)
from storage.records import role_record
from storage.smart_folders import add_folder, folder_named

#: Rows per INSERT statement for the big tables.
BULK_CHUNK = 5_000
#: The tables an import writes to, whose planner statistics it leaves stale.
IMPORTED_TABLES = tuple(
    model.__tablename__
    for model in (
        ComputerGroup, Policy, Computer, ComputerTag, Role, RoleComputer, RoleComputerGroup,
        RolePolicy, SecurityEvent, SystemEvent, Alert, Contact, User, Membership, SmartFolder,
    )
)  # fmt: skip


@dataclass(frozen=True)
class ImportSummary:
    roles: int
    computer_groups: int
    policies: int
    computers: int
    events: int
    system_events: int
    alerts: int
    contacts: int
    users: int = 0
    smart_folders: int = 0


def parse_dataset(raw: bytes | str) -> Dataset:
    """The dataset in ``raw`` JSON; a clear error naming the record and field otherwise."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ImportFormatError("file", f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ImportFormatError("file", "the top level must be a JSON object")
    try:
        return Dataset.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = _location(first["loc"]) or "file"
        raise ImportFormatError(where, first["msg"]) from None


def _location(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _check_unique_ids(kind: str, records: list[Any]) -> dict[int, int]:
    """File ID -> position; duplicated IDs are an error."""
    positions: dict[int, int] = {}
    for i, record in enumerate(records):
        if record.id in positions:
            raise ImportFormatError(f"{kind}[{i}].ID", f"ID {record.id} is used twice")
        positions[record.id] = i
    return positions


def _check_forest(
    kind: str, field: str, parents: Mapping[int, int | None], at: dict[int, int]
) -> None:
    """Every parent exists in the file and no chain of parents loops."""
    for node, parent in parents.items():
        if parent is not None and parent not in parents:
            raise ImportFormatError(f"{kind}[{at[node]}].{field}", f"no record with ID {parent}")
    for start in parents:
        seen = {start}
        current = parents[start]
        while current is not None:
            if current in seen:
                raise ImportFormatError(
                    f"{kind}[{at[start]}].{field}", f"cycle through ID {current}"
                )
            seen.add(current)
            current = parents[current]


def _check_ref(where: str, value: int | None, known: Mapping[int, Any], what: str) -> None:
    if value is not None and value not in known:
        raise ImportFormatError(where, f"no {what} with ID {value} in this file")


def validate_references(dataset: Dataset) -> None:  # noqa: C901 - one flat check per reference
    """Every ``...ID`` points at a record of the file, and the trees are trees."""
    groups = _check_unique_ids("computerGroups", dataset.computer_groups)
    policies = _check_unique_ids("policies", dataset.policies)
    computers = _check_unique_ids("computers", dataset.computers)
    roles = _check_unique_ids("roles", dataset.roles)
    _check_forest(
        "computerGroups",
        "parentGroupID",
        {g.id: g.parent_group_id for g in dataset.computer_groups},
        groups,
    )
    _check_forest("policies", "parentID", {p.id: p.parent_id for p in dataset.policies}, policies)
    for i, computer in enumerate(dataset.computers):
        _check_ref(f"computers[{i}].groupID", computer.group_id, groups, "computer group")
        _check_ref(f"computers[{i}].policyID", computer.policy_id, policies, "policy")
    for i, role in enumerate(dataset.roles):
        for j, gid in enumerate(role.computer_group_ids):
            _check_ref(f"roles[{i}].computerGroupIDs[{j}]", gid, groups, "computer group")
        for j, cid in enumerate(role.computer_ids):
            _check_ref(f"roles[{i}].computerIDs[{j}]", cid, computers, "computer")
        for j, pid in enumerate(role.policy_ids):
            _check_ref(f"roles[{i}].policyIDs[{j}]", pid, policies, "policy")
        try:
            role.role_rights()
        except ValueError as error:
            raise ImportFormatError(f"roles[{i}]", str(error)) from None
    linked: list[tuple[str, list[int | None]]] = [
        ("events", [e.computer_id for e in dataset.events]),
        ("systemEvents", [e.computer_id for e in dataset.system_events]),
        ("alerts", [a.computer_id for a in dataset.alerts]),
    ]
    for kind, computer_refs in linked:
        for i, ref in enumerate(computer_refs):
            _check_ref(f"{kind}[{i}].computerID", ref, computers, "computer")
    for i, event in enumerate(dataset.system_events):
        if event.event_code in AUDIT_CODES:
            raise ImportFormatError(
                f"systemEvents[{i}].eventID",
                f"{event.event_code}: 8000 to 8999 are reportd's audit trail, written only by it",
            )
    for i, contact in enumerate(dataset.contacts):
        _check_ref(f"contacts[{i}].roleID", contact.role_id, roles, "role")
    for i, user in enumerate(dataset.users):
        _check_ref(f"users[{i}].roleID", user.role_id, roles, "role")
    names: set[str] = set()
    for i, folder in enumerate(dataset.smart_folders):
        where = f"smartFolders[{i}]"
        if folder.name in names:
            raise ImportFormatError(f"{where}.name", f"the name {folder.name!r} is used twice")
        names.add(folder.name)
        group, policy = folder.criteria.computer_group_id, folder.criteria.policy_id
        _check_ref(f"{where}.criteria.computerGroupID", group, groups, "computer group")
        _check_ref(f"{where}.criteria.policyID", policy, policies, "policy")


def import_dataset(
    session: Session, *, account_id: int, dataset: Dataset, box: SecretBox
) -> ImportSummary:
    """Write ``dataset`` into the account. The caller commits, or rolls back on error."""
    validate_references(dataset)
    group_ids = _insert_tree(
        session,
        account_id,
        ComputerGroup,
        "parent_group_id",
        [
            (g.id, g.parent_group_id, {"name": g.name, "description": g.description})
            for g in dataset.computer_groups
        ],
    )
    policy_ids = _insert_tree(
        session,
        account_id,
        Policy,
        "parent_id",
        [
            (p.id, p.parent_id, {"name": p.name, "description": p.description})
            for p in dataset.policies
        ],
    )
    computer_ids = _insert_computers(session, account_id, dataset.computers, group_ids, policy_ids)
    role_ids = {
        role.id: _import_role(session, account_id, i, role, group_ids, computer_ids, policy_ids)
        for i, role in enumerate(dataset.roles)
    }
    _bulk(session, SecurityEvent, (_event_row(account_id, e, computer_ids) for e in dataset.events))
    _bulk(
        session,
        SystemEvent,
        (_system_row(account_id, e, computer_ids) for e in dataset.system_events),
    )
    _bulk(session, Alert, (_alert_row(account_id, a, computer_ids) for a in dataset.alerts))
    for i, contact in enumerate(dataset.contacts):
        _import_contact(session, account_id, i, contact, role_ids, box)
    for i, user in enumerate(dataset.users):
        _import_user(session, account_id, i, user, role_ids, box)
    for i, folder in enumerate(dataset.smart_folders):
        _import_smart_folder(session, account_id, i, folder, group_ids, policy_ids)
    return ImportSummary(
        roles=len(dataset.roles),
        computer_groups=len(dataset.computer_groups),
        policies=len(dataset.policies),
        computers=len(dataset.computers),
        events=len(dataset.events),
        system_events=len(dataset.system_events),
        alerts=len(dataset.alerts),
        contacts=len(dataset.contacts),
        users=len(dataset.users),
        smart_folders=len(dataset.smart_folders),
    )


def _insert_tree(
    session: Session,
    account_id: int,
    model: type[ComputerGroup] | type[Policy],
    parent_field: str,
    nodes: list[tuple[int, int | None, dict[str, Any]]],
) -> dict[int, int]:
    """Insert parents before children; returns file ID -> database id."""
    ids: dict[int, int] = {}
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if n[1] is None or n[1] in ids]
        for file_id, parent, values in ready:
            row = model(
                account_id=account_id,
                **values,
                **{parent_field: ids.get(parent) if parent else None},
            )
            session.add(row)
            session.flush()
            ids[file_id] = row.id
        pending = [n for n in pending if n[0] not in ids]
    return ids


def _insert_computers(
    session: Session,
    account_id: int,
    computers: list[ComputerIn],
    group_ids: dict[int, int],
    policy_ids: dict[int, int],
) -> dict[int, int]:
    ids: dict[int, int] = {}
    for computer in computers:
        row = Computer(
            account_id=account_id,
            host_name=computer.host_name,
            display_name=computer.display_name,
            description=computer.description,
            platform=computer.platform,
            group_id=group_ids.get(computer.group_id) if computer.group_id is not None else None,
            policy_id=policy_ids.get(computer.policy_id)
            if computer.policy_id is not None
            else None,
            agent_status=computer.agent_status,
            last_agent_communication=computer.last_agent_communication,
            modules=[m.value for m in computer.modules],
        )
        session.add(row)
        session.flush()
        ids[computer.id] = row.id
        for tag in sorted(set(computer.tags)):
            session.add(ComputerTag(computer_id=row.id, tag=tag, account_id=account_id))
    session.flush()
    return ids


def _import_role(
    session: Session,
    account_id: int,
    index: int,
    record: RoleIn,
    group_ids: dict[int, int],
    computer_ids: dict[int, int],
    policy_ids: dict[int, int],
) -> int:
    """A new role, or the account's role of that name if the record only names it or agrees."""
    existing = session.scalars(
        select(Role).where(Role.account_id == account_id, Role.name == record.name)
    ).first()
    rights = record.role_rights()
    if existing is not None:
        if record.model_fields_set <= {"id", "name"} or _same_rights(existing, rights, record):
            return existing.id
        raise ImportFormatError(
            f"roles[{index}].name",
            f"a role named {record.name!r} already exists here with other rights",
        )
    if record.immutable:
        raise ImportFormatError(
            f"roles[{index}].immutable", "only the preconfigured roles are immutable"
        )
    role = Role(
        account_id=account_id,
        name=record.name,
        description=record.description,
        immutable=record.immutable,
        **rights.as_columns(),
    )
    session.add(role)
    session.flush()
    session.add_all(
        RoleComputerGroup(role_id=role.id, group_id=group_ids[g])
        for g in set(record.computer_group_ids)
    )
    session.add_all(
        RoleComputer(role_id=role.id, computer_id=computer_ids[c]) for c in set(record.computer_ids)
    )
    session.add_all(
        RolePolicy(role_id=role.id, policy_id=policy_ids[p]) for p in set(record.policy_ids)
    )
    session.flush()
    return role.id


def _same_rights(existing: Role, rights: RoleRights, record: RoleIn) -> bool:
    current = role_record(existing)
    wanted = rights.as_columns()
    no_selection = not (record.computer_group_ids or record.computer_ids or record.policy_ids)
    return (
        current.rights == wanted
        and no_selection
        and not (current.computer_group_ids or current.computer_ids or current.policy_ids)
    )


def _import_contact(
    session: Session,
    account_id: int,
    index: int,
    record: ContactIn,
    role_ids: dict[int, int],
    box: SecretBox,
) -> None:
    values = record.model_dump(by_alias=False, exclude={"id"})
    values["role_id"] = None if record.role_id is None else role_ids[record.role_id]
    if values["report_pdf_password"] is None:
        values.pop("report_pdf_password")
    try:
        add_contact(session, account_id=account_id, box=box, **values)
    except InvalidInput as error:
        raise ImportFormatError(f"contacts[{index}]", str(error)) from None


def _import_user(
    session: Session,
    account_id: int,
    index: int,
    record: UserIn,
    role_ids: dict[int, int],
    box: SecretBox,
) -> None:
    """The user joins the account: a new identity, or the existing one with this address."""
    values = record.model_dump(by_alias=False, exclude={"id"})
    values["role_id"] = None if record.role_id is None else role_ids[record.role_id]
    for optional in ("report_pdf_password", "username"):
        if values[optional] is None:
            values.pop(optional)
    try:
        add_user(session, account_id=account_id, box=box, now=datetime.now(UTC), **values)
    except InvalidInput as error:
        raise ImportFormatError(f"users[{index}]", str(error)) from None


def _import_smart_folder(
    session: Session,
    account_id: int,
    index: int,
    record: SmartFolderIn,
    group_ids: dict[int, int],
    policy_ids: dict[int, int],
) -> None:
    """A new folder, its criteria's group and policy mapped to the account's new IDs."""
    if folder_named(session, account_id, record.name) is not None:
        raise ImportFormatError(
            f"smartFolders[{index}].name",
            f"a smart folder named {record.name!r} already exists here",
        )
    criteria = record.criteria
    mapped = criteria.model_copy(
        update={
            "computer_group_id": None
            if criteria.computer_group_id is None
            else group_ids[criteria.computer_group_id],
            "policy_id": None if criteria.policy_id is None else policy_ids[criteria.policy_id],
        }
    )
    add_folder(
        session, account_id, name=record.name, description=record.description, criteria=mapped
    )


def _event_row(account_id: int, e: SecurityEventIn, computers: dict[int, int]) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "computer_id": computers[e.computer_id],
        "module": e.module.value,
        "time": e.time,
        "severity": e.severity,
        "name": e.name,
        "action": e.action,
        "details": e.details,
    }


def _system_row(account_id: int, e: SystemEventIn, computers: dict[int, int]) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "computer_id": computers[e.computer_id] if e.computer_id is not None else None,
        "time": e.time,
        "event_code": e.event_code,
        "level": e.level,
        "name": e.name,
        "description": e.description,
        "actor": e.actor,
        "origin": e.origin,
    }


def _alert_row(account_id: int, a: AlertIn, computers: dict[int, int]) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "computer_id": computers[a.computer_id] if a.computer_id is not None else None,
        "raised": a.raised,
        "severity": a.severity,
        "name": a.name,
        "description": a.description,
        "dismissed": a.dismissed,
    }


def _bulk(session: Session, model: type[Any], rows: Iterable[dict[str, Any]]) -> None:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= BULK_CHUNK:
            session.execute(insert(model), chunk)
            chunk = []
    if chunk:
        session.execute(insert(model), chunk)
