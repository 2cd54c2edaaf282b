"""No scoped query returns a row of another account, even when handed another account's ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.export import export_dataset
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.models import Alert, Computer, ComputerGroup, Policy, SecurityEvent, SystemEvent
from storage.scoped import (
    Scope,
    count_scope,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
    viewable_policies,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEEK = (NOW - timedelta(days=8), NOW + timedelta(days=1))


def _two_accounts(session: Session) -> tuple[int, int]:
    ids = []
    for name in ("Alpha", "Beta"):
        account = create_account(session, name=name)
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
        ids.append(account.id)
    return ids[0], ids[1]


def _ids(session: Session, model, account_id: int) -> set[int]:
    return set(session.scalars(select(model.id).where(model.account_id == account_id)))


def test_an_everything_scope_returns_only_its_own_accounts_rows(session: Session) -> None:
    alpha, beta = _two_accounts(session)
    scope = Scope(
        account_id=alpha, all_computers=True, not_related_to_computers=True, all_policies=True
    )
    assert {c.id for c in permitted_computers(session, scope)} == _ids(session, Computer, alpha)
    assert {e.id for e in permitted_events(session, scope, *WEEK)} == _ids(
        session, SecurityEvent, alpha
    )
    assert {a.id for a in permitted_alerts(session, scope, *WEEK)} == _ids(session, Alert, alpha)
    assert {e.id for e in permitted_system_events(session, scope, *WEEK)} == _ids(
        session, SystemEvent, alpha
    )
    assert {p.id for p in viewable_policies(session, scope)} == _ids(session, Policy, alpha)
    assert _ids(session, Computer, beta).isdisjoint(
        c.id for c in permitted_computers(session, scope)
    )


def test_another_accounts_group_computer_and_policy_ids_select_nothing(session: Session) -> None:
    alpha, beta = _two_accounts(session)
    scope = Scope(
        account_id=alpha,
        group_ids=frozenset(_ids(session, ComputerGroup, beta)),
        computer_ids=frozenset(_ids(session, Computer, beta)),
        policy_ids=frozenset(_ids(session, Policy, beta)),
    )
    assert permitted_computers(session, scope) == []
    assert permitted_events(session, scope, *WEEK) == []
    assert permitted_alerts(session, scope, *WEEK) == []
    assert viewable_policies(session, scope) == []
    assert count_scope(session, scope, *WEEK).computers == 0


def test_the_empty_scope_returns_nothing_at_all(session: Session) -> None:
    _two_accounts(session)
    scope = Scope.empty()
    assert permitted_computers(session, scope) == []
    assert permitted_events(session, scope, *WEEK) == []
    assert permitted_system_events(session, scope, *WEEK) == []
    assert viewable_policies(session, scope) == []


def test_export_holds_only_the_accounts_own_objects(session: Session) -> None:
    alpha, _ = _two_accounts(session)
    exported = export_dataset(session, account_id=alpha)
    assert {c.id for c in exported.computers} == _ids(session, Computer, alpha)
    assert len(exported.events) == len(_ids(session, SecurityEvent, alpha))
