"""Computers, computer groups and policies as the caller's clearance shows them; bulk ingestion.

Reads go through the scoped queries (``storage.scoped``): what the caller's role may not view
does not exist for it (404). Ingestion writes events, alerts and system events in one
transaction, and only about computers inside the caller's own selection (its Computer Rights
selection, not what it may merely view); rows about no computer need a role over all
computers. It needs ``canEditComputerProperties``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import false, select, true
from sqlalchemy.orm import Session, aliased

from service.api.authz import Caller, can_ingest
from service.directory import audit
from service.directory.audit import AUDIT_CODES
from service.directory.dataset import AlertIn, SecurityEventIn, SystemEventIn
from service.errors import InvalidInput, NotFound
from service.fields import MAX_ID
from storage.models import (
    Alert,
    Computer,
    ComputerGroup,
    ComputerTag,
    Policy,
    SecurityEvent,
    SystemEvent,
)
from storage.scoped import Scope, viewable_policy_ids, visible_computer_ids

#: Most rows one ingestion request may carry.
MAX_INGEST_ROWS = 10_000


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _computer_api(computer: Computer, tags: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ID": computer.id,
        "hostName": computer.host_name,
        "displayName": computer.display_name,
        "description": computer.description,
        "platform": computer.platform,
        "groupID": computer.group_id,
        "policyID": computer.policy_id,
        "lastAgentCommunication": _millis(computer.last_agent_communication),
        "agentStatus": computer.agent_status,
        "tags": sorted(tags),
        "modules": list(computer.modules or []),
    }
    return {k: v for k, v in data.items() if v is not None}


def list_computers(session: Session, caller: Caller) -> list[dict[str, Any]]:
    scope = caller.scope
    visible = visible_computer_ids(scope)
    computers = session.scalars(
        select(Computer).where(Computer.id.in_(visible)).order_by(Computer.id)
    ).all()
    tags: dict[int, list[str]] = defaultdict(list)
    statement = select(ComputerTag.computer_id, ComputerTag.tag).where(
        ComputerTag.account_id == caller.account_id, ComputerTag.computer_id.in_(visible)
    )
    for computer_id, tag in session.execute(statement):
        tags[computer_id].append(tag)
    return [_computer_api(c, tags[c.id]) for c in computers]


def get_computer(session: Session, caller: Caller, computer_id: int) -> dict[str, Any]:
    visible = visible_computer_ids(caller.scope).where(Computer.id == computer_id)
    computer = session.scalars(select(Computer).where(Computer.id.in_(visible))).one_or_none()
    if computer is None:
        raise NotFound(f"no computer with ID {computer_id}")
    tags = session.scalars(
        select(ComputerTag.tag).where(
            ComputerTag.account_id == caller.account_id, ComputerTag.computer_id == computer_id
        )
    ).all()
    return _computer_api(computer, list(tags))


def _visible_group_ids(scope: Scope) -> Any:
    """A SELECT of the groups the scope shows: all, or the selected subtrees and the groups
    of the visible computers."""
    if scope.is_empty:
        return select(ComputerGroup.id).where(false())
    base = select(ComputerGroup.id).where(ComputerGroup.account_id == scope.account_id)
    if scope.all_computers:
        return base.where(true())
    seed = base.where(ComputerGroup.id.in_(sorted(scope.group_ids)))
    tree = seed.cte(name="visible_groups", recursive=True)
    child = aliased(ComputerGroup)
    tree = tree.union(
        select(child.id).where(
            child.account_id == scope.account_id, child.parent_group_id == tree.c.id
        )
    )
    holding = select(Computer.group_id).where(Computer.id.in_(visible_computer_ids(scope)))
    return base.where(ComputerGroup.id.in_(select(tree.c.id)) | ComputerGroup.id.in_(holding))


def _group_api(group: ComputerGroup) -> dict[str, Any]:
    data = {
        "ID": group.id,
        "name": group.name,
        "description": group.description,
        "parentGroupID": group.parent_group_id,
        "type": "folder",
    }
    return {k: v for k, v in data.items() if v is not None}


def list_groups(session: Session, caller: Caller) -> list[dict[str, Any]]:
    groups = session.scalars(
        select(ComputerGroup)
        .where(ComputerGroup.id.in_(_visible_group_ids(caller.scope)))
        .order_by(ComputerGroup.id)
    )
    return [_group_api(g) for g in groups]


def get_group(session: Session, caller: Caller, group_id: int) -> dict[str, Any]:
    group = session.scalars(
        select(ComputerGroup).where(
            ComputerGroup.id == group_id, ComputerGroup.id.in_(_visible_group_ids(caller.scope))
        )
    ).one_or_none()
    if group is None:
        raise NotFound(f"no computer group with ID {group_id}")
    return _group_api(group)


def _policy_api(policy: Policy) -> dict[str, Any]:
    data = {
        "ID": policy.id,
        "name": policy.name,
        "description": policy.description,
        "parentID": policy.parent_id,
    }
    return {k: v for k, v in data.items() if v is not None}


def list_policies(session: Session, caller: Caller) -> list[dict[str, Any]]:
    policies = session.scalars(
        select(Policy).where(Policy.id.in_(viewable_policy_ids(caller.scope))).order_by(Policy.id)
    )
    return [_policy_api(p) for p in policies]


def get_policy(session: Session, caller: Caller, policy_id: int) -> dict[str, Any]:
    policy = session.scalars(
        select(Policy).where(
            Policy.id == policy_id, Policy.id.in_(viewable_policy_ids(caller.scope))
        )
    ).one_or_none()
    if policy is None:
        raise NotFound(f"no policy with ID {policy_id}")
    return _policy_api(policy)


# --- ingestion ------------------------------------------------------------------------------


class IngestBody(BaseModel):
    """Rows to add, in the dataset format's names; ``computerID`` is a real computer ID and
    any ``ID`` given is ignored (reportd assigns them)."""

    model_config = ConfigDict(extra="forbid")

    events: list[SecurityEventIn] = Field(default_factory=list)
    alerts: list[AlertIn] = Field(default_factory=list)
    systemEvents: list[SystemEventIn] = Field(default_factory=list)


def _check_computers(session: Session, caller: Caller, body: IngestBody) -> None:
    rights = caller.rights
    selection = caller.spec.selection
    own = Scope(
        account_id=caller.account_id,
        all_computers=rights.all_computers,
        group_ids=selection.computer_group_ids,
        computer_ids=selection.computer_ids,
    )
    rows: list[Any] = [*body.events, *body.alerts, *body.systemEvents]
    wanted = {row.computer_id for row in rows if row.computer_id is not None}
    too_big = sorted(i for i in wanted if not 0 < i <= MAX_ID)
    if too_big:
        raise NotFound(f"computerID: no computer with ID {too_big[0]}")
    if wanted:
        found = set(
            session.scalars(visible_computer_ids(own).where(Computer.id.in_(sorted(wanted))))
        )
        missing = sorted(wanted - found)
        if missing:
            raise NotFound(f"computerID: no computer with ID {missing[0]}")
    if any(row.computer_id is None for row in rows) and not (
        rights.all_computers and rights.can_view_not_related_to_computers
    ):
        raise InvalidInput(
            "computerID: rows about no computer need a role over all computers that may view "
            "events not related to computers"
        )


def ingest(session: Session, caller: Caller, body: IngestBody) -> dict[str, int]:
    can_ingest(caller)
    total = len(body.events) + len(body.alerts) + len(body.systemEvents)
    if total > MAX_INGEST_ROWS:
        raise InvalidInput(f"at most {MAX_INGEST_ROWS} rows per request, not {total}")
    _check_computers(session, caller, body)
    if any(s.event_code in AUDIT_CODES for s in body.systemEvents):
        raise InvalidInput("systemEvents.eventID: 8000 to 8999 are reportd's audit trail")
    account_id = caller.account_id
    session.add_all(
        SecurityEvent(
            account_id=account_id,
            computer_id=e.computer_id,
            module=e.module.value,
            time=e.time,
            severity=e.severity,
            name=e.name,
            action=e.action,
            details=e.details,
        )
        for e in body.events
    )
    session.add_all(
        Alert(
            account_id=account_id,
            computer_id=a.computer_id,
            raised=a.raised,
            severity=a.severity,
            name=a.name,
            description=a.description,
            dismissed=a.dismissed,
        )
        for a in body.alerts
    )
    session.add_all(
        SystemEvent(
            account_id=account_id,
            computer_id=s.computer_id,
            time=s.time,
            event_code=s.event_code,
            level=s.level,
            name=s.name,
            description=s.description,
            actor=s.actor,
            origin=s.origin,
        )
        for s in body.systemEvents
    )
    session.flush()
    counts = {
        "events": len(body.events),
        "alerts": len(body.alerts),
        "systemEvents": len(body.systemEvents),
    }
    audit.record(
        session,
        account_id=account_id,
        code=audit.AuditCode.data_ingested,
        description=audit.describe_values("ingested", counts),
        actor=caller.actor,
        origin=caller.origin,
    )
    return counts
