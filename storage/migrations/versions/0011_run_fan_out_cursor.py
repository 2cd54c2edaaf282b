"""run fan-out cursor

A run is fanned out in slices (``service.delivery.fanout``): ``fanout_cursor`` is the last delivery id
the fan-out has queued, ``fanout_at`` when it last queued a slice while some were left (None
once every delivery is queued). The reconciler leaves deliveries past the cursor to the
fan-out, and resumes a fan-out that stopped moving.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_runs') as batch:
        batch.add_column(sa.Column('fanout_cursor', sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column('fanout_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('report_runs') as batch:
        batch.drop_column('fanout_at')
        batch.drop_column('fanout_cursor')
