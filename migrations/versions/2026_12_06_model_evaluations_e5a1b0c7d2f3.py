"""model evaluations

Revision ID: e5a1b0c7d2f3
Revises: 5e55104c0a11
Create Date: 2026-12-06 20:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = 'e5a1b0c7d2f3'
down_revision: str | None = '5e55104c0a11'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # POST /model/evaluations: a force's labelled cohort scored by every model and the
    # fallback; only the aggregate figures are kept, never the cohort.
    op.create_table('model_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('cohort_rows', sa.Integer(), nullable=False),
    sa.Column('matched_rows', sa.Integer(), nullable=False),
    sa.Column('unmatched_pnc_ids', sa.Integer(), nullable=False),
    sa.Column('positives', sa.Integer(), nullable=False),
    sa.Column('first_assessed_on', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('last_assessed_on', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('current_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_evaluations'))
    )


def downgrade() -> None:
    op.drop_table('model_evaluations')
