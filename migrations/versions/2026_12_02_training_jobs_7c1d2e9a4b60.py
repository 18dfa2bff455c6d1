"""training jobs

Revision ID: 7c1d2e9a4b60
Revises: a4c1e7b92d36
Create Date: 2026-12-02 02:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = '7c1d2e9a4b60'
down_revision: str | None = 'a4c1e7b92d36'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # POST /model/train runs in the background: a row per job, polled by its id.
    op.create_table('training_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='runstatus', native_enum=False, length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('candidate_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('gate_passed', sa.Boolean(), nullable=True),
    sa.Column('promoted', sa.Boolean(), nullable=True),
    sa.Column('gate_reasons', sa.JSON(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_jobs'))
    )


def downgrade() -> None:
    op.drop_table('training_jobs')
