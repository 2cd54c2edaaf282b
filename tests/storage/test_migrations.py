"""The migrated schema is the models' schema, and deleting a computer leaks none of its rows."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.models import Alert, Base, Computer, SystemEvent
from storage.scoped import Scope, permitted_alerts, permitted_system_events

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEEK = (NOW - timedelta(days=8), NOW + timedelta(days=1))


def test_the_migrations_build_exactly_the_schema_of_the_models(engine: Engine) -> None:
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite's expression indexes cannot be reflected; the trigram index is PostgreSQL's
        # alone anyway (``ddl_if``), and compared there.
        warnings.filterwarnings(
            "ignore", message=".*expression-based index 'ix_deliveries_recipient_trgm'.*"
        )
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []


def test_alerts_and_system_events_about_a_deleted_computer_go_with_it(session: Session) -> None:
    account = create_account(session, name="Deletes")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
    about = select(Alert.computer_id).where(
        Alert.account_id == account.id, Alert.computer_id.is_not(None)
    )
    computer_id = session.scalars(about).first()
    assert computer_id is not None
    # A role that sees no computers but may see events not related to computers.
    others_only = Scope(account_id=account.id, not_related_to_computers=True)
    unrelated_before = (
        {a.id for a in permitted_alerts(session, others_only, *WEEK)},
        {e.id for e in permitted_system_events(session, others_only, *WEEK)},
    )

    session.execute(delete(Computer).where(Computer.id == computer_id))
    session.expire_all()

    for model in (Alert, SystemEvent):
        left = select(model.id).where(model.computer_id == computer_id)
        assert session.scalars(left).all() == []
    assert (
        {a.id for a in permitted_alerts(session, others_only, *WEEK)},
        {e.id for e in permitted_system_events(session, others_only, *WEEK)},
    ) == unrelated_before
