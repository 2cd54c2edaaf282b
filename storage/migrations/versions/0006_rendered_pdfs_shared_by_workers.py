"""rendered pdfs shared by workers

A run's printed PDFs, so that a worker process reads what another one printed instead of
printing it again; deleted when the run finishes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 02:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rendered_pdfs',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('pdf_key', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('created', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_rendered_pdfs_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['report_runs.id'], name=op.f('fk_rendered_pdfs_run_id_report_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'pdf_key', name=op.f('pk_rendered_pdfs'))
    )


def downgrade() -> None:
    op.drop_table('rendered_pdfs')
