"""The SQL scope equals an independent reference model, for random trees, roles and data.

Each example builds a fresh account beside the earlier ones, so every example also checks
that nothing of another account leaks in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from service.directory.accounts import create_account, create_role
from service.directory.clearance import scope_for
from service.directory.rights import RoleRights
from storage.models import (
    Alert,
    Computer,
    ComputerGroup,
    Policy,
    Role,
    RoleComputer,
    RoleComputerGroup,
    RolePolicy,
    SecurityEvent,
    SystemEvent,
)
from storage.records import load_role
from storage.scoped import (
    Scope,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
    viewable_policies,
)

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class World:
    group_parents: list[int | None]  # index -> parent index
    policy_parents: list[int | None]
    computers: list[tuple[int | None, int | None]]  # (group index, policy index)
    events: list[tuple[int, int]]  # (computer index, hour offset)
    loose: list[tuple[int | None, int]]  # alerts/system events: (computer index or None, hour)
    rights: dict[str, bool]
    selected_groups: set[int]
    selected_computers: set[int]
    selected_policies: set[int]
    window: tuple[int, int]


def _tree(size: int) -> st.SearchStrategy[list[int | None]]:
    """Parents that always point to an earlier node, so the result is a forest."""
    return st.tuples(
        *[st.none() | st.integers(0, i - 1) if i else st.none() for i in range(size)]
    ).map(list)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    groups = draw(st.integers(0, 10).flatmap(_tree))
    policies = draw(st.integers(0, 6).flatmap(_tree))
    maybe_group = st.none() | st.integers(0, len(groups) - 1) if groups else st.none()
    maybe_policy = st.none() | st.integers(0, len(policies) - 1) if policies else st.none()
    computers = draw(st.lists(st.tuples(maybe_group, maybe_policy), max_size=14))
    hours = st.integers(0, 240)
    events = (
        draw(st.lists(st.tuples(st.integers(0, len(computers) - 1), hours), max_size=30))
        if computers
        else []
    )
    maybe_computer = st.none() | st.integers(0, len(computers) - 1) if computers else st.none()
    loose = draw(st.lists(st.tuples(maybe_computer, hours), max_size=12))
    names = [
        "all_computers",
        "can_view_computers",
        "can_view_other_computers",
        "can_view_not_related_to_computers",
        "all_policies",
        "can_view_policies",
        "can_view_other_policies",
    ]
    rights = {name: draw(st.booleans()) for name in names}
    start = draw(hours)
    return World(
        group_parents=groups,
        policy_parents=policies,
        computers=computers,
        events=events,
        loose=loose,
        rights=rights,
        selected_groups=draw(st.sets(st.integers(0, max(len(groups) - 1, 0)))) if groups else set(),
        selected_computers=draw(st.sets(st.integers(0, len(computers) - 1)))
        if computers
        else set(),
        selected_policies=draw(st.sets(st.integers(0, len(policies) - 1))) if policies else set(),
        window=(start, start + draw(st.integers(0, 240))),
    )


def _descends(index: int | None, parents: list[int | None], selected: set[int]) -> bool:
    """Reference: walk up the parent chain until a selected node or the top."""
    while index is not None:
        if index in selected:
            return True
        index = parents[index]
    return False


def expected(world: World) -> dict[str, set]:
    r = world.rights
    if not r["can_view_computers"]:
        computers: set[int] = set()
    elif r["all_computers"] or r["can_view_other_computers"]:
        computers = set(range(len(world.computers)))
    else:
        computers = {
            i
            for i, (group, _) in enumerate(world.computers)
            if i in world.selected_computers
            or _descends(group, world.group_parents, world.selected_groups)
        }
    lo, hi = world.window
    events = {i for i, (c, h) in enumerate(world.events) if c in computers and lo <= h < hi}
    loose = {
        i
        for i, (c, h) in enumerate(world.loose)
        if lo <= h < hi
        and ((c is None and r["can_view_not_related_to_computers"]) or c in computers)
    }
    if not r["can_view_policies"]:
        policies: set[int] = set()
    elif r["all_policies"] or r["can_view_other_policies"]:
        policies = set(range(len(world.policy_parents)))
    else:
        policies = {
            i
            for i in range(len(world.policy_parents))
            if _descends(i, world.policy_parents, world.selected_policies)
        }
    return {"computers": computers, "events": events, "loose": loose, "policies": policies}


def build(session: Session, world: World) -> tuple[int, int, dict[str, dict[int, int]]]:
    """Write the world into a new account; returns (account id, role id, db id -> index maps)."""
    account = create_account(session, name=f"acct-{uuid.uuid4()}")
    group_ids: list[int] = []
    for i, parent in enumerate(world.group_parents):
        group = ComputerGroup(
            account_id=account.id,
            name=f"g{i}",
            parent_group_id=None if parent is None else group_ids[parent],
        )
        session.add(group)
        session.flush()
        group_ids.append(group.id)
    policy_ids: list[int] = []
    for i, parent in enumerate(world.policy_parents):
        policy = Policy(
            account_id=account.id,
            name=f"p{i}",
            parent_id=None if parent is None else policy_ids[parent],
        )
        session.add(policy)
        session.flush()
        policy_ids.append(policy.id)
    computer_ids: list[int] = []
    for i, (group, policy) in enumerate(world.computers):
        computer = Computer(
            account_id=account.id,
            host_name=f"host-{i}",
            group_id=None if group is None else group_ids[group],
            policy_id=None if policy is None else policy_ids[policy],
        )
        session.add(computer)
        session.flush()
        computer_ids.append(computer.id)
    maps: dict[str, dict[int, int]] = {
        "computers": {cid: i for i, cid in enumerate(computer_ids)},
        "policies": {pid: i for i, pid in enumerate(policy_ids)},
        "events": {},
        "alerts": {},
        "system": {},
    }
    for i, (c, hour) in enumerate(world.events):
        event = SecurityEvent(
            account_id=account.id,
            computer_id=computer_ids[c],
            module="firewall",
            time=EPOCH + timedelta(hours=hour),
        )
        session.add(event)
        session.flush()
        maps["events"][event.id] = i
    for i, (c, hour) in enumerate(world.loose):
        computer_id = None if c is None else computer_ids[c]
        at = EPOCH + timedelta(hours=hour)
        alert = Alert(account_id=account.id, computer_id=computer_id, raised=at)
        system = SystemEvent(account_id=account.id, computer_id=computer_id, time=at)
        session.add_all([alert, system])
        session.flush()
        maps["alerts"][alert.id] = i
        maps["system"][system.id] = i

    rights = RoleRights(**world.rights)
    role = create_role(session, account_id=account.id, name="random", rights=rights)
    session.add_all(
        [RoleComputerGroup(role_id=role.id, group_id=group_ids[g]) for g in world.selected_groups]
    )
    session.add_all(
        [
            RoleComputer(role_id=role.id, computer_id=computer_ids[c])
            for c in world.selected_computers
        ]
    )
    session.add_all(
        [RolePolicy(role_id=role.id, policy_id=policy_ids[p]) for p in world.selected_policies]
    )
    session.flush()
    session.expire(role)
    return account.id, role.id, maps


def actual(
    session: Session, scope: Scope, world: World, maps: dict[str, dict[int, int]]
) -> dict[str, set]:
    lo, hi = world.window
    start, end = EPOCH + timedelta(hours=lo), EPOCH + timedelta(hours=hi)
    alerts = {maps["alerts"][a.id] for a in permitted_alerts(session, scope, start, end)}
    system = {maps["system"][e.id] for e in permitted_system_events(session, scope, start, end)}
    assert alerts == system
    return {
        "computers": {maps["computers"][c.id] for c in permitted_computers(session, scope)},
        "events": {maps["events"][e.id] for e in permitted_events(session, scope, start, end)},
        "loose": alerts,
        "policies": {maps["policies"][p.id] for p in viewable_policies(session, scope)},
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_sql_scope_equals_the_reference_model(session: Session, world: World) -> None:
    account_id, role_id, maps = build(session, world)
    scope = scope_for(load_role(session, account_id, role_id), account_id)
    assert actual(session, scope, world, maps) == expected(world)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_a_deleted_role_sees_nothing(session: Session, world: World) -> None:
    account_id, role_id, maps = build(session, world)
    session.delete(session.get(Role, role_id))
    session.flush()
    scope = scope_for(load_role(session, account_id, role_id), account_id)
    assert scope.is_empty
    assert all(not rows for rows in actual(session, scope, world, maps).values())


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds())
def test_a_role_of_another_account_sees_nothing(session: Session, world: World) -> None:
    account_id, role_id, maps = build(session, world)
    other = create_account(session, name=f"other-{uuid.uuid4()}")
    # Given the role, looked up from the other account, it does not exist there
    assert load_role(session, other.id, role_id) is None
    # and even handed over directly, it does not grant anything in the other account
    role = load_role(session, account_id, role_id)
    assert scope_for(role, other.id).is_empty


def test_a_restricted_role_with_an_empty_selection_sees_no_computer(session: Session) -> None:
    world = World(
        group_parents=[None, 0],
        policy_parents=[None],
        computers=[(0, 0), (1, None), (None, None)],
        events=[(0, 1), (1, 2), (2, 3)],
        loose=[(None, 1), (0, 1)],
        rights={
            "all_computers": False,
            "can_view_computers": True,
            "can_view_other_computers": False,
            "can_view_not_related_to_computers": False,
            "all_policies": False,
            "can_view_policies": True,
            "can_view_other_policies": False,
        },
        selected_groups=set(),
        selected_computers=set(),
        selected_policies=set(),
        window=(0, 100),
    )
    account_id, role_id, maps = build(session, world)
    scope = scope_for(load_role(session, account_id, role_id), account_id)
    assert actual(session, scope, world, maps) == {
        "computers": set(),
        "events": set(),
        "loose": set(),
        "policies": set(),
    }
