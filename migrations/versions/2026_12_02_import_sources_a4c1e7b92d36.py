"""import sources for custody, memberships and referrals

Revision ID: a4c1e7b92d36
Revises: 3df9b8bbf57c
Create Date: 2026-12-02 02:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = 'a4c1e7b92d36'
down_revision: str | None = '3df9b8bbf57c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('custody_periods', 'cohort_memberships', 'referrals')


def upgrade() -> None:
    # Bulk loads key custody spells, memberships and referrals on (source, source_ref) as
    # offences are, so a re-sent file updates rather than duplicates. Records made through
    # the API (all existing ones) are source 'api' with no reference. A unique index rather
    # than a constraint: SQLite adds it without rebuilding the table (a rebuild would drop
    # and re-create tables that decisions refer to).
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32),
                                          nullable=False, server_default='api'))
            batch_op.add_column(sa.Column('source_ref',
                                          sqlmodel.sql.sqltypes.AutoString(length=64),
                                          nullable=True))
            batch_op.create_index(f'ix_{table}_source_source_ref', ['source', 'source_ref'],
                                  unique=True)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_source_source_ref')
            batch_op.drop_column('source_ref')
            batch_op.drop_column('source')
