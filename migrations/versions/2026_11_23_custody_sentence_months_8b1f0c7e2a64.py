"""custody sentence months

Revision ID: 8b1f0c7e2a64
Revises: 5c2e8a91d4b7
Create Date: 2026-11-23 14:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '8b1f0c7e2a64'
down_revision: str | None = '5c2e8a91d4b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Exit reviews need the sentence, not the time served so far (seed 003: "returning to
    # prison for a duration of longer than 2 years"). Null where not known.
    with op.batch_alter_table('custody_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentence_months', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('custody_periods', schema=None) as batch_op:
        batch_op.drop_column('sentence_months')
