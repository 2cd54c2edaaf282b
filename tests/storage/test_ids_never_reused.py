"""IDs are never handed out again: a deleted contact's or role's ID stays its own, on SQLite
(AUTOINCREMENT, migration 0016, which rebuilds a populated database keeping its rows) as on
PostgreSQL (sequences)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.contacts import add_contact, delete_contact
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import current_revision, upgrade
from storage.models import (
    Alert,
    Computer,
    Contact,
    Role,
    SecurityEvent,
    SystemEvent,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BOX = SecretBox("k")
COUNTED = (Contact, Role, Computer, SecurityEvent, SystemEvent, Alert)


def _a_contact(session: Session, account_id: int, role_id: int, name: str) -> int:
    return add_contact(
        session,
        account_id=account_id,
        box=BOX,
        name=name,
        email_address=f"{name}@example.com",
        role_id=role_id,
    ).id


def _delete_the_newest_and_add_one(session: Session, account_id: int) -> tuple[int, int]:
    newest = session.scalar(select(func.max(Contact.id)).where(Contact.account_id == account_id))
    assert newest is not None
    role_id = session.scalar(select(Contact.role_id).where(Contact.id == newest))
    assert role_id is not None
    delete_contact(session, account_id=account_id, contact_id=newest)
    return newest, _a_contact(session, account_id, role_id, "newcomer")


def test_a_deleted_contacts_id_is_not_handed_out_again(engine: Engine) -> None:
    # Given an account with contacts, on each backend, committed (as the API would)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        account_id = create_account(session, name="Never reused").id
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account_id, dataset=data, box=BOX)

    # When the contact with the highest ID is deleted and another one added
    with transaction(sessions) as session:
        deleted, added = _delete_the_newest_and_add_one(session, account_id)

    # Then the new contact has an ID of its own
    assert added > deleted


def test_migration_0016_rebuilds_a_populated_sqlite_database_keeping_its_rows(
    tmp_path: Path,
) -> None:
    # Given a database at 0015 (before AUTOINCREMENT) with the sample account in it
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0015")
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        account_id = create_account(session, name="Before").id
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account_id, dataset=data, box=BOX)
    with sessions() as session:
        before = {m.__tablename__: session.scalar(select(func.count(m.id))) for m in COUNTED}
        indexes_before = _indexes(session)

    # When it is upgraded
    upgrade(engine)

    # Then every row, index and foreign key is still there, the tables use AUTOINCREMENT ...
    assert current_revision(engine) == "0016"
    with sessions() as session:
        after = {m.__tablename__: session.scalar(select(func.count(m.id))) for m in COUNTED}
        assert after == before and all(before.values())
        assert _indexes(session) == indexes_before
        assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        contacts_sql = session.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'contacts'")
        )
        assert "AUTOINCREMENT" in contacts_sql
        assert "REFERENCES roles" in contacts_sql and "ON DELETE" in contacts_sql
    # ... foreign keys are enforced again (a contact deleted with its account's rows) ...
    with sessions() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    # ... and a deleted contact's ID is not handed out again
    with transaction(sessions) as session:
        deleted, added = _delete_the_newest_and_add_one(session, account_id)
    assert added > deleted
    engine.dispose()


def _indexes(session: Session) -> set[tuple[str, str]]:
    rows = session.execute(
        text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    )
    return {(table, name) for table, name in rows}
