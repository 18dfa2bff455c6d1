"""area history

Revision ID: 3df9b8bbf57c
Revises: 5ba4c23bb839
Create Date: 2026-12-02 01:08:10.624870
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = '3df9b8bbf57c'
down_revision: str | None = '5ba4c23bb839'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A move has a date: the areas a person lived in before it, so a list as of an earlier
    # day uses the area of that day. People who never moved have no rows (nothing to backfill).
    op.create_table('person_area_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_on', sa.Date(), nullable=True),
    sa.Column('until_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area'], ['areas.code'], name=op.f('fk_person_area_history_area_areas')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_person_area_history_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_area_history'))
    )
    with op.batch_alter_table('person_area_history', schema=None) as batch_op:
        batch_op.create_index('ix_person_area_history_person_id_until_on', ['person_id', 'until_on'], unique=False)
        batch_op.create_index('ix_person_area_history_until_on', ['until_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('person_area_history', schema=None) as batch_op:
        batch_op.drop_index('ix_person_area_history_until_on')
        batch_op.drop_index('ix_person_area_history_person_id_until_on')

    op.drop_table('person_area_history')