"""corrections and erasure

Revision ID: 5ba4c23bb839
Revises: 3f7a2c9d1e40
Create Date: 2026-12-02 00:57:21.144100
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '5ba4c23bb839'
down_revision: str | None = '3f7a2c9d1e40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # What an import needs to recognise an erased record, and nothing more (a salted hash).
    op.create_table('erased_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('person', 'offence', name='erasedkind', native_enum=False, length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Enum('recorded_in_error', 'retention_review', 'court_order', 'other', name='deletionreason', native_enum=False, length=32), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erased_records')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_erased_records_key_hash'))
    )
    salt = op.create_table('erasure_salt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_salt'))
    )
    # Each database makes its own salt, once: the hashes mean nothing anywhere else.
    op.bulk_insert(salt, [{'id': 1, 'salt': secrets.token_hex(32)}])
    # An erased person's decisions stay (the meeting decided), without the person.
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.INTEGER(), nullable=True)
    # Offences and referrals are corrected after they are recorded: versioned, If-Match.
    with op.batch_alter_table('offences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.func.now()))
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawal_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.func.now()))


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
        batch_op.drop_column('withdrawal_reason')
    with op.batch_alter_table('offences', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
    # The old schema cannot hold a decision without its person.
    op.execute('DELETE FROM decisions WHERE person_id IS NULL')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.INTEGER(), nullable=False)
    op.drop_table('erasure_salt')
    op.drop_table('erased_records')
