"""ids are never handed out again on SQLite (AUTOINCREMENT)

Without AUTOINCREMENT, SQLite gives a new row the highest ID in use plus one: delete contact
13, add a contact, and it is contact 13 again, so a task that named 13 mails the new person,
and a role's ID is reused the same way. Every table with an ``id`` is rebuilt with
AUTOINCREMENT (SQLite alters a table by copying it: data, indexes and foreign keys are kept),
and its counter starts above the highest ID in use. PostgreSQL's sequences never reuse an
ID: nothing to do there.

The rebuild runs with foreign keys off (``storage.migrate.foreign_keys_off``): with them on,
dropping the old copy of a table would delete, through ON DELETE CASCADE, every row that
refers to it. The migration refuses to run otherwise.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose primary key is an integer ``id``, parents first.
_TABLES = (
    'accounts',
    'users',
    'computer_groups',
    'console_sessions',
    'policies',
    'report_runs',
    'roles',
    'scheduled_tasks',
    'user_recovery_codes',
    'user_tokens',
    'api_keys',
    'computers',
    'contacts',
    'memberships',
    'task_occurrences',
    'alerts',
    'deliveries',
    'security_events',
    'system_events',
    'delivery_transitions',
)


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    if bind.exec_driver_sql('PRAGMA foreign_keys').scalar():
        raise RuntimeError(
            'migration 0016 rebuilds tables: run it with foreign keys off'
            ' (reportd db upgrade does), or dropping a table deletes the rows referring to it'
        )
    for table in _TABLES:
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass
    if autoincrement:
        # Counters start above the highest ID in use (a copy's INSERT sets them already;
        # this states it for every table, the empty ones included).
        for table in _TABLES:
            bind.execute(
                sa.text('DELETE FROM sqlite_sequence WHERE name = :name'), {'name': table}
            )
            bind.execute(
                sa.text(
                    f'INSERT INTO sqlite_sequence (name, seq)'
                    f' SELECT :name, coalesce(max(id), 0) FROM "{table}"'
                ),
                {'name': table},
            )
    violations = bind.exec_driver_sql('PRAGMA foreign_key_check').all()
    if violations:
        raise RuntimeError(f'migration 0016 left rows referring to nothing: {violations[:10]}')


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
