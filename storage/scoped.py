"""Queries that return only what a scope allows, each one SQL statement.

A :class:`Scope` is what a clearance resolved to (``service.directory.clearance`` builds it).
The trees (groups and their sub-groups, policies and their children) are walked by recursive
CTEs in the database, never by Python loops, so a scope holds at 100k computers and millions of
events. Every statement filters on the scope's account; an empty scope matches nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from storage.criteria import SmartFolderCriteria
from storage.fetch import fetch_rows
from storage.models import (
    Alert,
    Computer,
    ComputerGroup,
    ComputerTag,
    Policy,
    SecurityEvent,
    SmartFolder,
    SystemEvent,
)
from storage.rows import AlertRow, ComputerRow, EventRow, PolicyRow, SystemEventRow

#: Separator of group names in a computer's group path.
GROUP_PATH_SEPARATOR = " / "


@dataclass(frozen=True)
class Scope:
    """What one clearance may view in one account.

    ``all_computers`` is set when the role covers every computer or may view non-selected
    ones; otherwise ``group_ids`` (with their sub-groups) and ``computer_ids`` are the
    computers. ``account_id`` None is the empty scope: nothing at all.
    """

    account_id: int | None
    all_computers: bool = False
    group_ids: frozenset[int] = frozenset()
    computer_ids: frozenset[int] = frozenset()
    not_related_to_computers: bool = False
    all_policies: bool = False
    policy_ids: frozenset[int] = frozenset()

    @classmethod
    def empty(cls) -> Scope:
        return cls(account_id=None)

    @property
    def is_empty(self) -> bool:
        return self.account_id is None


class ComputerFilterType(StrEnum):
    """The console's computer filter types (``ComputerFilter.type``)."""

    all_computers = "all-computers"
    computer = "computer"
    computers_in_group = "computers-in-group"
    computers_in_group_or_subgroup = "computers-in-group-or-subgroup"
    computers_using_policy = "computers-using-policy"
    computers_using_policy_or_subpolicy = "computers-using-policy-or-subpolicy"
    computers_in_smart_folder = "computers-in-smart-folder"


#: The ``ReportFilter`` field each computer filter type narrows by.
FILTER_ID: dict[ComputerFilterType, str] = {
    ComputerFilterType.computer: "computer_id",
    ComputerFilterType.computers_in_group: "computer_group_id",
    ComputerFilterType.computers_in_group_or_subgroup: "computer_group_id",
    ComputerFilterType.computers_using_policy: "policy_id",
    ComputerFilterType.computers_using_policy_or_subpolicy: "policy_id",
    ComputerFilterType.computers_in_smart_folder: "smart_folder_id",
}


class TagFilterType(StrEnum):
    """The console's tag filter types (``TagFilter.type``)."""

    all = "all"
    untagged = "untagged"
    specific_tags = "specific-tags"


@dataclass(frozen=True)
class ReportFilter:
    """A report's own narrowing, applied on top of the scope: it can never widen it."""

    computer_filter: ComputerFilterType = ComputerFilterType.all_computers
    computer_id: int | None = None
    computer_group_id: int | None = None
    policy_id: int | None = None
    smart_folder_id: int | None = None
    #: The folder's criteria, read from the account's folder (``storage.smart_folders.resolve``);
    #: None, as for a folder of another account or one deleted since: nothing matches.
    smart_folder: SmartFolderCriteria | None = None
    tag_filter: TagFilterType = TagFilterType.all
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        needed = FILTER_ID.get(self.computer_filter)
        if needed is not None and getattr(self, needed) is None:
            raise ValueError(f"computer filter {self.computer_filter.value!r} needs {needed}")
        if self.tag_filter is TagFilterType.specific_tags and not self.tags:
            raise ValueError("tag filter 'specific-tags' needs at least one tag")

    @property
    def narrows_computers(self) -> bool:
        return (
            self.computer_filter is not ComputerFilterType.all_computers
            or self.tag_filter is not TagFilterType.all
        )


ALL = ReportFilter()


def _group_subtree(account_id: int, roots: Select[int] | list[int], name: str) -> CTE:
    """The groups in ``roots`` and all their descendants, within one account."""
    seed = select(ComputerGroup.id).where(ComputerGroup.account_id == account_id)
    seed = seed.where(ComputerGroup.id.in_(roots))
    tree = seed.cte(name=name, recursive=True)
    child = aliased(ComputerGroup)
    return tree.union(
        select(child.id).where(child.account_id == account_id, child.parent_group_id == tree.c.id)
    )


def _policy_subtree(account_id: int, roots: list[int], name: str) -> CTE:
    """The policies in ``roots`` and all their descendants, within one account."""
    seed = select(Policy.id).where(Policy.account_id == account_id, Policy.id.in_(roots))
    tree = seed.cte(name=name, recursive=True)
    child = aliased(Policy)
    return tree.union(
        select(child.id).where(child.account_id == account_id, child.parent_id == tree.c.id)
    )


def _scope_condition(scope: Scope) -> ColumnElement[bool]:
    """Which computers (by ``Computer`` columns) the scope allows.

    The selected groups and the single computers are a UNION, not an OR: PostgreSQL
    estimates ``group_id IN (subtree) OR id IN (...)`` at half of all computers and then
    reads every event of the window; the UNION is estimated from the subtree, so events
    are fetched per computer from the (account, computer, time) index.
    """
    assert scope.account_id is not None
    if scope.all_computers:
        return true()
    selected = aliased(Computer)
    branches: list[Select[int]] = []
    if scope.group_ids:
        groups = _group_subtree(scope.account_id, sorted(scope.group_ids), "scope_groups")
        branches.append(
            select(selected.id).where(
                selected.account_id == scope.account_id,
                selected.group_id.in_(select(groups.c.id)),
            )
        )
    if scope.computer_ids:
        branches.append(
            select(selected.id).where(
                selected.account_id == scope.account_id,
                selected.id.in_(sorted(scope.computer_ids)),
            )
        )
    if not branches:
        return false()
    return Computer.id.in_(branches[0] if len(branches) == 1 else union_all(*branches))


def _filter_condition(account_id: int, report_filter: ReportFilter) -> ColumnElement[bool]:
    """Which computers (by ``Computer`` columns) the report's own filter selects."""
    kind = report_filter.computer_filter
    conditions: list[ColumnElement[bool]] = []
    if kind is ComputerFilterType.computer:
        conditions.append(Computer.id == report_filter.computer_id)
    elif kind is ComputerFilterType.computers_in_group:
        conditions.append(Computer.group_id == report_filter.computer_group_id)
    elif kind is ComputerFilterType.computers_in_group_or_subgroup:
        roots = [report_filter.computer_group_id] if report_filter.computer_group_id else []
        groups = _group_subtree(account_id, roots, "filter_groups")
        conditions.append(Computer.group_id.in_(select(groups.c.id)))
    elif kind is ComputerFilterType.computers_using_policy:
        conditions.append(Computer.policy_id == report_filter.policy_id)
    elif kind is ComputerFilterType.computers_using_policy_or_subpolicy:
        roots = [report_filter.policy_id] if report_filter.policy_id else []
        policies = _policy_subtree(account_id, roots, "filter_policies")
        conditions.append(Computer.policy_id.in_(select(policies.c.id)))
    elif kind is ComputerFilterType.computers_in_smart_folder:
        criteria = report_filter.smart_folder
        conditions.append(
            false() if criteria is None else _criteria_condition(account_id, criteria)
        )

    tagged = select(ComputerTag.computer_id).where(ComputerTag.account_id == account_id)
    if report_filter.tag_filter is TagFilterType.untagged:
        conditions.append(Computer.id.not_in(tagged))
    elif report_filter.tag_filter is TagFilterType.specific_tags:
        wanted = tagged.where(ComputerTag.tag.in_(sorted(report_filter.tags)))
        conditions.append(Computer.id.in_(wanted))
    return and_(true(), *conditions)


def _criteria_condition(account_id: int, criteria: SmartFolderCriteria) -> ColumnElement[bool]:
    """Which computers (by ``Computer`` columns) a smart folder's criteria select."""
    conditions: list[ColumnElement[bool]] = []
    if criteria.platform is not None:
        wanted = criteria.platform.lower()
        conditions.append(func.lower(Computer.platform).contains(wanted, autoescape=True))
    if criteria.agent_statuses:
        conditions.append(
            Computer.agent_status.in_(sorted(s.value for s in criteria.agent_statuses))
        )
    for index, tag in enumerate(sorted(set(criteria.tags))):
        carrying = aliased(ComputerTag, name=f"folder_tag_{index}")
        conditions.append(
            Computer.id.in_(
                select(carrying.computer_id).where(
                    carrying.account_id == account_id, carrying.tag == tag
                )
            )
        )
    if criteria.computer_group_id is not None:
        if criteria.include_subgroups:
            groups = _group_subtree(account_id, [criteria.computer_group_id], "folder_groups")
            conditions.append(Computer.group_id.in_(select(groups.c.id)))
        else:
            conditions.append(Computer.group_id == criteria.computer_group_id)
    if criteria.policy_id is not None:
        if criteria.include_subpolicies:
            policies = _policy_subtree(account_id, [criteria.policy_id], "folder_policies")
            conditions.append(Computer.policy_id.in_(select(policies.c.id)))
        else:
            conditions.append(Computer.policy_id == criteria.policy_id)
    return and_(true(), *conditions)


def visible_computer_ids(scope: Scope, report_filter: ReportFilter = ALL) -> Select[int]:
    """A SELECT of the ids of the computers the scope and filter allow (a subquery)."""
    if scope.is_empty:
        return select(Computer.id).where(false())
    assert scope.account_id is not None
    return select(Computer.id).where(
        Computer.account_id == scope.account_id,
        _scope_condition(scope),
        _filter_condition(scope.account_id, report_filter),
    )


#: Deepest group tree a path walk follows: a guard against a cycle in imported data.
MAX_GROUP_DEPTH = 64


def _group_paths(account_id: int, group_ids: Select[int | None]) -> CTE:
    """The paths ("A / B / C") of ``group_ids``, walked up to the top.

    Only the groups asked for: a contact of one branch must not pay for all 5,000 paths.
    A finished path has ``above`` NULL; one whose ancestors leave the account never does.
    """
    start = aliased(ComputerGroup)
    seed = select(
        start.id.label("id"),
        start.parent_group_id.label("above"),
        cast(start.name, Text).label("path"),
        literal(1).label("depth"),
    ).where(start.account_id == account_id, start.id.in_(group_ids))
    walk = seed.cte(name="group_paths", recursive=True)
    parent = aliased(ComputerGroup)
    return walk.union_all(
        select(
            walk.c.id,
            parent.parent_group_id,
            cast(parent.name, Text) + literal(GROUP_PATH_SEPARATOR) + walk.c.path,
            walk.c.depth + 1,
        ).where(
            parent.account_id == account_id,
            parent.id == walk.c.above,
            walk.c.depth < MAX_GROUP_DEPTH,
        )
    )


def permitted_computers(
    session: Session, scope: Scope, report_filter: ReportFilter = ALL
) -> list[ComputerRow]:
    """The computers the scope allows, with group path, policy name and tags.

    Read as columns, not ORM entities: the rows are copied into ComputerRow anyway.
    """
    if scope.is_empty:
        return []
    assert scope.account_id is not None
    visible = visible_computer_ids(scope, report_filter)
    shown = aliased(Computer)
    paths = _group_paths(scope.account_id, select(shown.group_id).where(shown.id.in_(visible)))
    statement = (
        select(
            Computer.id,
            Computer.host_name,
            Computer.display_name,
            Computer.platform,
            paths.c.path,
            Policy.name,
            Computer.agent_status,
            Computer.last_agent_communication,
            # As text, decoded below: the driver's own JSON loading cost twice as much.
            cast(Computer.modules, Text),
        )
        .outerjoin(paths, and_(paths.c.id == Computer.group_id, paths.c.above.is_(None)))
        .outerjoin(Policy, Policy.id == Computer.policy_id)
        .where(Computer.id.in_(visible))
        .order_by(Computer.display_name, Computer.host_name, Computer.id)
    )
    rows = session.execute(statement).all()
    tags = _tags_of(session, scope.account_id, visible)
    return [
        ComputerRow(
            id=id_,
            host_name=host,
            display_name=display or host,
            platform=platform,
            group_path=path or "",
            policy_name=policy,
            agent_status=status,
            last_communication=last,
            tags=tuple(sorted(tags.get(id_, ()))),
            modules=_modules(modules),
        )
        for id_, host, display, platform, path, policy, status, last, modules in rows
    ]


@lru_cache(maxsize=1024)
def _modules(text: str | None) -> tuple[str, ...]:
    """A computer's modules from their JSON text; computers share a few sets, so kept."""
    return tuple(json.loads(text)) if text else ()


def _tags_of(session: Session, account_id: int, visible: Select[int]) -> dict[int, list[str]]:
    statement = select(ComputerTag.computer_id, ComputerTag.tag).where(
        ComputerTag.account_id == account_id, ComputerTag.computer_id.in_(visible)
    )
    tags: dict[int, list[str]] = defaultdict(list)
    for computer_id, tag in session.execute(statement):
        tags[computer_id].append(tag)
    return tags


def permitted_events(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    modules: frozenset[str] | None = None,
    report_filter: ReportFilter = ALL,
    limit: int | None = None,
) -> list[EventRow]:
    """Security events in ``[start, end)`` of the allowed computers, newest first."""
    if scope.is_empty:
        return []
    statement = events_statement(
        scope, start, end, modules=modules, report_filter=report_filter, limit=limit
    )
    # Read through the driver into EventRows: at ten thousand events the per-row work in
    # Python (ORM entities, SQLAlchemy's result rows, a dataclass) was most of the time.
    return fetch_rows(session, statement, EventRow._make)


def events_statement(
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    modules: frozenset[str] | None = None,
    report_filter: ReportFilter = ALL,
    limit: int | None = None,
) -> Select[int, datetime, str, str, int, str, str, str, str]:
    """The SELECT behind :func:`permitted_events`, its columns in EventRow's order."""
    statement = (
        select(
            SecurityEvent.id,
            SecurityEvent.time,
            SecurityEvent.module,
            SecurityEvent.severity,
            SecurityEvent.computer_id,
            func.coalesce(func.nullif(Computer.display_name, ""), Computer.host_name),
            SecurityEvent.name,
            SecurityEvent.action,
            SecurityEvent.details,
        )
        .join(Computer, Computer.id == SecurityEvent.computer_id)
        .where(
            SecurityEvent.account_id == scope.account_id,
            SecurityEvent.time >= start,
            SecurityEvent.time < end,
            SecurityEvent.computer_id.in_(visible_computer_ids(scope, report_filter)),
        )
        .order_by(SecurityEvent.time.desc(), SecurityEvent.id.desc())
    )
    if modules is not None:
        statement = statement.where(SecurityEvent.module.in_(sorted(modules)))
    if limit is not None:
        statement = statement.limit(limit)
    return statement


def _about_allowed(
    column: InstrumentedAttribute[int | None], scope: Scope, report_filter: ReportFilter
) -> ColumnElement[bool]:
    """A row about an allowed computer, or about no computer when the role may see those.

    Rows about no computer show only when no report filter narrows the computers.
    """
    related = column.in_(visible_computer_ids(scope, report_filter))
    if scope.not_related_to_computers and not report_filter.narrows_computers:
        return or_(related, column.is_(None))
    return related


def permitted_alerts(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    report_filter: ReportFilter = ALL,
) -> list[AlertRow]:
    """Alerts raised in ``[start, end)`` about allowed computers, or about none if allowed."""
    if scope.is_empty:
        return []
    statement = (
        select(Alert, Computer.display_name, Computer.host_name)
        .outerjoin(Computer, Computer.id == Alert.computer_id)
        .where(
            Alert.account_id == scope.account_id,
            Alert.raised >= start,
            Alert.raised < end,
            _about_allowed(Alert.computer_id, scope, report_filter),
        )
        .order_by(Alert.raised.desc(), Alert.id.desc())
    )
    return [
        AlertRow(
            id=alert.id,
            raised=alert.raised,
            severity=alert.severity,
            name=alert.name,
            description=alert.description,
            computer_id=alert.computer_id,
            computer_name=(display_name or host_name) if alert.computer_id else None,
            dismissed=alert.dismissed,
        )
        for alert, display_name, host_name in session.execute(statement)
    ]


def permitted_system_events(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    report_filter: ReportFilter = ALL,
) -> list[SystemEventRow]:
    """System events in ``[start, end)`` about allowed computers, or about none if allowed."""
    if scope.is_empty:
        return []
    statement = (
        select(SystemEvent, Computer.display_name, Computer.host_name)
        .outerjoin(Computer, Computer.id == SystemEvent.computer_id)
        .where(
            SystemEvent.account_id == scope.account_id,
            SystemEvent.time >= start,
            SystemEvent.time < end,
            _about_allowed(SystemEvent.computer_id, scope, report_filter),
        )
        .order_by(SystemEvent.time.desc(), SystemEvent.id.desc())
    )
    return [
        SystemEventRow(
            id=event.id,
            time=event.time,
            event_code=event.event_code,
            level=event.level,
            name=event.name,
            description=event.description,
            computer_id=event.computer_id,
            computer_name=(display_name or host_name) if event.computer_id else None,
            actor=event.actor,
        )
        for event, display_name, host_name in session.execute(statement)
    ]


def viewable_policy_ids(scope: Scope) -> Select[int]:
    """A SELECT of the ids of the policies the scope allows (selected ones and children)."""
    if scope.is_empty:
        return select(Policy.id).where(false())
    assert scope.account_id is not None
    statement = select(Policy.id).where(Policy.account_id == scope.account_id)
    if scope.all_policies:
        return statement
    tree = _policy_subtree(scope.account_id, sorted(scope.policy_ids), "scope_policies")
    return statement.where(Policy.id.in_(select(tree.c.id)))


def viewable_policies(session: Session, scope: Scope) -> list[PolicyRow]:
    """The policies the scope allows, with their parents' names."""
    if scope.is_empty:
        return []
    parent = aliased(Policy)
    statement = (
        select(Policy.id, Policy.name, parent.name)
        .outerjoin(parent, parent.id == Policy.parent_id)
        .where(Policy.id.in_(viewable_policy_ids(scope)))
        .order_by(Policy.name, Policy.id)
    )
    return [
        PolicyRow(id=policy_id, name=name, parent_name=parent_name)
        for policy_id, name, parent_name in session.execute(statement)
    ]


@dataclass(frozen=True)
class ScopeCounts:
    computers: int
    events: int
    alerts: int
    system_events: int
    policies: int


def count_scope(session: Session, scope: Scope, start: datetime, end: datetime) -> ScopeCounts:
    """How many rows of each kind the scope allows, in one round trip per kind."""
    if scope.is_empty:
        return ScopeCounts(0, 0, 0, 0, 0)
    visible = visible_computer_ids(scope)

    def scalar(statement: Select[int]) -> int:
        return int(session.execute(statement).scalar_one())

    return ScopeCounts(
        computers=scalar(select(func.count()).select_from(visible.subquery())),
        events=scalar(
            select(func.count(SecurityEvent.id)).where(
                SecurityEvent.account_id == scope.account_id,
                SecurityEvent.time >= start,
                SecurityEvent.time < end,
                SecurityEvent.computer_id.in_(visible),
            )
        ),
        alerts=scalar(
            select(func.count(Alert.id)).where(
                Alert.account_id == scope.account_id,
                Alert.raised >= start,
                Alert.raised < end,
                _about_allowed(Alert.computer_id, scope, ALL),
            )
        ),
        system_events=scalar(
            select(func.count(SystemEvent.id)).where(
                SystemEvent.account_id == scope.account_id,
                SystemEvent.time >= start,
                SystemEvent.time < end,
                _about_allowed(SystemEvent.computer_id, scope, ALL),
            )
        ),
        policies=scalar(select(func.count()).select_from(viewable_policy_ids(scope).subquery())),
    )


@dataclass(frozen=True)
class WindowCounts:
    """How many security events, alerts and system events a scope and filter allow in a
    window: a report's figures for another period (the one before it)."""

    events: int
    alerts: int
    system_events: int


def count_window(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    modules: frozenset[str] | None = None,
    report_filter: ReportFilter = ALL,
) -> WindowCounts:
    """The counts of ``[start, end)`` as the report's own statements would find the rows,
    in one statement."""
    if scope.is_empty:
        return WindowCounts(0, 0, 0)
    visible = visible_computer_ids(scope, report_filter)

    def about_allowed(column: InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
        # _about_allowed, on the one ``visible`` (its CTEs may appear once in a statement)
        related = column.in_(visible)
        if scope.not_related_to_computers and not report_filter.narrows_computers:
            return or_(related, column.is_(None))
        return related

    events = select(func.count(SecurityEvent.id)).where(
        SecurityEvent.account_id == scope.account_id,
        SecurityEvent.time >= start,
        SecurityEvent.time < end,
        SecurityEvent.computer_id.in_(visible),
    )
    if modules is not None:
        events = events.where(SecurityEvent.module.in_(sorted(modules)))
    alerts = select(func.count(Alert.id)).where(
        Alert.account_id == scope.account_id,
        Alert.raised >= start,
        Alert.raised < end,
        about_allowed(Alert.computer_id),
    )
    system_events = select(func.count(SystemEvent.id)).where(
        SystemEvent.account_id == scope.account_id,
        SystemEvent.time >= start,
        SystemEvent.time < end,
        about_allowed(SystemEvent.computer_id),
    )
    row = session.execute(
        select(events.scalar_subquery(), alerts.scalar_subquery(), system_events.scalar_subquery())
    ).one()
    return WindowCounts(events=int(row[0]), alerts=int(row[1]), system_events=int(row[2]))


def filter_subject(session: Session, scope: Scope, report_filter: ReportFilter) -> str | None:
    """The name of what the report's computer filter selects by (a computer, a group's
    path, a policy) when the scope may know it, for the report's title; None when it may
    not (or the filter names nothing). Known: a computer the scope sees; a group or policy
    the scope's computers under the filter are in (their rows show its name anyway), any
    group to a scope of every computer, a policy the scope may view; a smart folder of the
    account, to any clearance in it (a saved query of the account, named by whoever asked for
    the report, not a thing of the clearance: what it holds is still only the scope's)."""
    kind = report_filter.computer_filter
    if scope.is_empty or kind is ComputerFilterType.all_computers:
        return None
    assert scope.account_id is not None
    account_id = scope.account_id
    selected = visible_computer_ids(scope, report_filter).exists()
    statement: Select[str]
    if kind is ComputerFilterType.computer:
        statement = select(
            func.coalesce(func.nullif(Computer.display_name, ""), Computer.host_name)
        ).where(
            Computer.account_id == account_id,
            Computer.id == report_filter.computer_id,
            Computer.id.in_(visible_computer_ids(scope)),
        )
    elif kind in (
        ComputerFilterType.computers_in_group,
        ComputerFilterType.computers_in_group_or_subgroup,
    ):
        group_id = report_filter.computer_group_id
        paths = _group_paths(account_id, select(literal(group_id)))
        statement = select(paths.c.path).where(
            paths.c.id == group_id,
            paths.c.above.is_(None),
            true() if scope.all_computers else selected,
        )
    elif kind is ComputerFilterType.computers_in_smart_folder:
        statement = select(SmartFolder.name).where(
            SmartFolder.account_id == account_id, SmartFolder.id == report_filter.smart_folder_id
        )
    else:
        statement = select(Policy.name).where(
            Policy.account_id == account_id,
            Policy.id == report_filter.policy_id,
            or_(Policy.id.in_(viewable_policy_ids(scope)), selected),
        )
    return session.execute(statement.limit(1)).scalar_one_or_none()
