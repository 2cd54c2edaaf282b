"""Plain records of roles: what a delivery reads per contact is what the ORM object says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.models import Computer, Role, RoleComputer
from storage.records import load_role, role_record

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _account(session: Session, name: str) -> int:
    account = create_account(session, name=name)
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    return account.id


def test_load_role_reads_each_role_as_its_orm_object_says_selections_included(
    session: Session,
) -> None:
    account_id = _account(session, "Records")
    roles = session.scalars(select(Role).where(Role.account_id == account_id)).all()
    restricted = next(role for role in roles if role.computer_groups)
    computer_id = session.scalars(
        select(Computer.id).where(Computer.account_id == account_id)
    ).first()
    assert computer_id is not None
    session.add(RoleComputer(role_id=restricted.id, computer_id=computer_id))
    session.flush()
    session.expire_all()

    for role in session.scalars(select(Role).where(Role.account_id == account_id)):
        assert load_role(session, account_id, role.id) == role_record(role)
    record = load_role(session, account_id, restricted.id)
    assert record is not None and record.computer_ids == {computer_id}
    assert record.computer_group_ids and record.policy_ids


def test_load_role_finds_no_role_of_another_account_and_none_for_no_id(session: Session) -> None:
    mine, other = _account(session, "Mine"), _account(session, "Other")
    theirs = session.scalars(select(Role.id).where(Role.account_id == other)).first()
    assert load_role(session, mine, theirs) is None
    assert load_role(session, mine, None) is None
    assert load_role(session, mine, 10**9) is None


def test_load_role_is_one_statement_on_postgresql(session: Session) -> None:
    """Read for every delivery: on PostgreSQL the row and its selections come in one round
    trip (arrays), elsewhere in two."""
    account_id = _account(session, "Statements")
    role_id = session.scalars(select(Role.id).where(Role.account_id == account_id)).first()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert load_role(session, account_id, role_id) is not None
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == (1 if engine.dialect.name == "postgresql" else 2)
