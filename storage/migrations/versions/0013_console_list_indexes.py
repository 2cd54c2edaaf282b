"""console list indexes

The console's lists read a page at a time through indexes: a run's deliveries in ID order,
all of them (``(run_id, id)``) or one state's (``(run_id, state, id)``, which replaces and
covers ``(run_id, state)``), so a deep page of a large run is read from the index alone; on
PostgreSQL the runs list's recipient filter (a part of a name or address, any case) through a
trigram index (``pg_trgm``, a trusted extension since PostgreSQL 13: a database owner may
create it). Where the extension cannot be created the index is a plain one on the same
expressions and the filter reads the table instead; the migration says so and goes on.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_run_state')
        batch_op.create_index('ix_deliveries_run_state_id', ['run_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_run_id', ['run_id', 'id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        using = 'USING gin (lower(recipient_address) gin_trgm_ops, lower(recipient_name) gin_trgm_ops)'
    except sa.exc.DBAPIError as error:
        log.warning(
            "pg_trgm cannot be created (%s): the runs list's recipient filter reads the"
            " deliveries table instead of a trigram index", str(error.orig).strip()
        )
        using = '(lower(recipient_address), lower(recipient_name))'
    bind.execute(sa.text(f'CREATE INDEX ix_deliveries_recipient_trgm ON deliveries {using}'))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_deliveries_recipient_trgm')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_run_state_id')
        batch_op.drop_index('ix_deliveries_run_id')
        batch_op.create_index('ix_deliveries_run_state', ['run_id', 'state'], unique=False)
