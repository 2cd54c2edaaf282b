"""system events and alerts about a computer are deleted with it

Until now the foreign keys were ON DELETE SET NULL: deleting a computer turned its alerts and
system events into rows "not related to computers", visible to every role allowed those,
including roles that could not see the computer. Now they go with the computer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ('alerts', 'system_events')


def _foreign_key(table: str, ondelete: str) -> None:
    name = f'fk_{table}_computer_id_computers'
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.create_foreign_key(name, 'computers', ['computer_id'], ['id'], ondelete=ondelete)


def upgrade() -> None:
    for table in _TABLES:
        _foreign_key(table, 'CASCADE')


def downgrade() -> None:
    for table in _TABLES:
        _foreign_key(table, 'SET NULL')
