"""broken scheduled tasks

A task whose firing failed (its stored schedule or report cannot be computed, or anything
unexpected) is marked broken: ``broken_reason`` says why, ``broken_since`` when. The
scheduler skips it until it is edited or run now (``service.scheduling.scheduler``); the
other tasks of the pass fire as if it were not there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scheduled_tasks') as batch:
        batch.add_column(sa.Column('broken_reason', sa.Text(), nullable=True))
        batch.add_column(
            sa.Column('broken_since', storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('scheduled_tasks') as batch:
        batch.drop_column('broken_since')
        batch.drop_column('broken_reason')
