"""current scores

Revision ID: b7d3e9f1a2c4
Revises: e5a1b0c7d2f3
Create Date: 2026-12-06 22:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = 'b7d3e9f1a2c4'
down_revision: str | None = 'e5a1b0c7d2f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each person's score for today, re-scored by every write that changes it
    # (service/current_scores.py); empty until `iomscore rescore` or the first writes.
    op.create_table('current_scores',
    sa.Column('recency', sa.Float(), nullable=False),
    sa.Column('frequency', sa.Float(), nullable=False),
    sa.Column('gravity', sa.Float(), nullable=False),
    sa.Column('victims', sa.Float(), nullable=False),
    sa.Column('rfg', sa.Float(), nullable=False),
    sa.Column('rfg_acquisitive', sa.Float(), nullable=False),
    sa.Column('rfg_domestic_abuse', sa.Float(), nullable=False),
    sa.Column('threat', sa.Float(), nullable=False),
    sa.Column('harm', sa.Float(), nullable=False),
    sa.Column('risk', sa.Float(), nullable=False),
    sa.Column('escalating', sa.Boolean(), nullable=False),
    sa.Column('threat_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('offences_to_date', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('config_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('catalogue_version', sqlmodel.sql.sqltypes.AutoString(length=64),
              nullable=False),
    sa.Column('model_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_current_scores_person_id_persons'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_current_scores'))
    )
    op.create_index('ix_current_scores_as_of_risk', 'current_scores', ['as_of', 'risk'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_current_scores_as_of_risk', table_name='current_scores')
    op.drop_table('current_scores')
