"""indexes for shortlist windows

Revision ID: 5c2e8a91d4b7
Revises: 96b5178df122
Create Date: 2026-11-23 13:45:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '5c2e8a91d4b7'
down_revision: str | None = '96b5178df122'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Covering indexes: a shortlist's look-back window and an area's people are read from
    # the indexes alone (docs/benchmarks.md, "Shortlists").
    with op.batch_alter_table('offences', schema=None) as batch_op:
        batch_op.create_index('ix_offences_offence_type_offence_date',
                              ['offence_type', 'offence_date', 'person_id', 'domestic_abuse'],
                              unique=False)
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index('ix_persons_home_area')
        batch_op.create_index('ix_persons_home_area_id', ['home_area', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index('ix_persons_home_area_id')
        batch_op.create_index('ix_persons_home_area', ['home_area'], unique=False)
    with op.batch_alter_table('offences', schema=None) as batch_op:
        batch_op.drop_index('ix_offences_offence_type_offence_date')
