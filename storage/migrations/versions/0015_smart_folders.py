"""smart folders

Saved computer queries of an account: a name (unique in the account), a description and the
criteria as JSON (``storage.criteria``). IDs are never reused: AUTOINCREMENT on SQLite, so a
report or task naming a deleted folder matches nothing rather than a newer folder.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('smart_folders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('created', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_smart_folders_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_folders')),
    sa.UniqueConstraint('account_id', 'name', name=op.f('uq_smart_folders_account_id')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('smart_folders')
