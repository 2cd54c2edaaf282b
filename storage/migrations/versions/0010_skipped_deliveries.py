"""skipped deliveries

A run may leave out recipients whose report holds nothing of its period (``skipIfEmpty``):
their deliveries end ``skipped`` (with the reason), and the run counts them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_runs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('skipped', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('report_runs', schema=None) as batch_op:
        batch_op.drop_column('skipped')
