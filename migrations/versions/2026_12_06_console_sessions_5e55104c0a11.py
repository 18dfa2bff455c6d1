"""console sessions, sign-in attempts, throttle counts, the audit's actor

Revision ID: 5e55104c0a11
Revises: d4efa5a2744d
Create Date: 2026-12-06 20:05:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = '5e55104c0a11'
down_revision: str | None = 'd4efa5a2744d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server-side console sessions: the cookie holds a random token, the row holds who.
    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'offender_manager', 'analyst', 'integration', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash'))
    )
    op.create_index(op.f('ix_console_sessions_key_id'), 'console_sessions', ['key_id'], unique=False)
    # An OpenID Connect sign-in under way (state, nonce, PKCE verifier), deleted when used.
    op.create_table('sign_in_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('code_verifier', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('next_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_sign_in_attempts_state_hash'))
    )
    # Failed sign-ins and 401s per client and time window, shared by every worker.
    op.create_table('throttle_counts',
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', 'window_start', name=op.f('pk_throttle_counts'))
    )
    # The person behind a console action signed in through the identity provider.
    # Plain ALTERs, not a batch: recreating the table on SQLite would drop its
    # append-only triggers.
    op.add_column('audit_events', sa.Column('actor_subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
    op.add_column('audit_events', sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_index(op.f('ix_audit_events_actor_subject'), 'audit_events', ['actor_subject'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_events_actor_subject'), table_name='audit_events')
    op.drop_column('audit_events', 'actor_name')
    op.drop_column('audit_events', 'actor_subject')
    op.drop_table('throttle_counts')
    op.drop_table('sign_in_attempts')
    op.drop_index(op.f('ix_console_sessions_key_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
