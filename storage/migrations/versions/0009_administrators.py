"""administrators: users with passwords, second factors and a role per account

The users table gets what the SDK's Administrator has where reportd has the thing (username,
numbers, time format, password hash, sign-in counters, TOTP, report password); memberships
get what one account says about a user (active, read-only, notifications, description);
one-time tokens and recovery codes are new tables that keep only hashes.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-03 19:00:00
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0009'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Columns added to existing tables: (table, column, default for the rows already there).
#: Plain ADD COLUMN on both backends: on SQLite a batch (copy and move) of ``users`` would
#: drop the old table, and with foreign keys on that deletes every membership (CASCADE) and
#: forgets every delivery's user (SET NULL). SQLite needs a constant default for a NOT NULL
#: column it adds, so there the default stays; PostgreSQL drops it once the rows have theirs.
_EPOCH = sa.text("'1970-01-01 00:00:00'")


def _columns() -> list[tuple[str, sa.Column[Any], Any]]:
    """New Column objects each time: a Column belongs to the one table it was added to."""
    return [
    ('users', sa.Column('username', sa.String(length=320), nullable=False), sa.text("''")),
    ('users', sa.Column('phone_number', sa.String(length=64), nullable=False), sa.text("''")),
    ('users', sa.Column('mobile_number', sa.String(length=64), nullable=False), sa.text("''")),
    ('users', sa.Column('pager_number', sa.String(length=64), nullable=False), sa.text("''")),
    ('users', sa.Column('time_format', sa.String(length=2), nullable=False), sa.text("'24'")),
    ('users', sa.Column('password_hash', sa.String(length=255), nullable=True), None),
    ('users', sa.Column('last_password_change', storage.types.UTCDateTime(timezone=True), nullable=True), None),
    ('users', sa.Column('last_sign_in', storage.types.UTCDateTime(timezone=True), nullable=True), None),
    ('users', sa.Column('unsuccessful_sign_in_attempts', sa.Integer(), nullable=False), sa.text("0")),
    ('users', sa.Column('unlock_time', storage.types.UTCDateTime(timezone=True), nullable=True), None),
    ('users', sa.Column('mfa_type', sa.String(length=16), nullable=False), sa.text("'none'")),
    ('users', sa.Column('totp_secret_encrypted', sa.LargeBinary(), nullable=True), None),
    ('users', sa.Column('totp_last_step', sa.Integer(), nullable=True), None),
    ('users', sa.Column('report_pdf_password_enabled', sa.Boolean(), nullable=False), sa.false()),
    ('users', sa.Column('report_pdf_password_encrypted', sa.LargeBinary(), nullable=True), None),
    ('users', sa.Column('created', storage.types.UTCDateTime(timezone=True), nullable=False), _EPOCH),
    ('memberships', sa.Column('description', sa.Text(), nullable=False), sa.text("''")),
    ('memberships', sa.Column('active', sa.Boolean(), nullable=False), sa.true()),
    ('memberships', sa.Column('read_only', sa.Boolean(), nullable=False), sa.false()),
    ('memberships', sa.Column('receive_notifications', sa.Boolean(), nullable=False), sa.false()),
    ('memberships', sa.Column('created', storage.types.UTCDateTime(timezone=True), nullable=False), _EPOCH),
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    columns = _columns()
    for table, column, default in columns:
        if default is not None:
            column.server_default = sa.schema.DefaultClause(default)
        op.add_column(table, column)
    op.execute("UPDATE users SET username = email_address, created = CURRENT_TIMESTAMP")
    op.execute("UPDATE memberships SET created = CURRENT_TIMESTAMP")
    if not sqlite:
        for table, column, default in columns:
            if default is not None:
                op.alter_column(table, column.name, server_default=None)
    op.create_index('ix_users_username', 'users', ['username'], unique=True)
    op.create_index('ix_memberships_user', 'memberships', ['user_id'], unique=False)

    op.create_table('user_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_tokens_token_hash'))
    )
    op.create_index(op.f('ix_user_tokens_user_id'), 'user_tokens', ['user_id'], unique=False)

    op.create_table('user_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_user_recovery_codes_code_hash'))
    )
    op.create_index(op.f('ix_user_recovery_codes_user_id'), 'user_recovery_codes', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('user_recovery_codes')
    op.drop_table('user_tokens')
    op.drop_index('ix_memberships_user', table_name='memberships')
    op.drop_index('ix_users_username', table_name='users')
    # DROP COLUMN in place (SQLite 3.35 and later): no copy of users, whose rows others refer to.
    for table, column, _ in reversed(_columns()):
        op.drop_column(table, column.name)
