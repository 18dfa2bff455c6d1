"""custody versions

Revision ID: 3f7a2c9d1e40
Revises: 8b1f0c7e2a64
Create Date: 2026-12-01 23:55:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3f7a2c9d1e40'
down_revision: str | None = '8b1f0c7e2a64'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A spell is recorded at its start and changed later (the release date, the sentence):
    # updates carry If-Match like other records. Existing spells start at version 1.
    with op.batch_alter_table('custody_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.func.now()))


def downgrade() -> None:
    with op.batch_alter_table('custody_periods', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
